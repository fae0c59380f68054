import sys
from pathlib import Path

# make `tests.harness` and the codegen package importable without installation
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402


@pytest.fixture
def code_free():
    """Compressed kernels' code as costing nothing (codegen/compression.py's code check):
    the tests of --compress auto's other rules on layers too small to repay the code."""
    from codegen.compression import code_table
    with code_table({}):
        yield
