"""What the CMSIS-NN package and its helper modules share: its code paths and its error."""
from __future__ import annotations

from codegen.errors import TinygenError

# CMSIS-NN's three code paths.  "c": portable C (host, Cortex-M0/M0+/M3/M23), "dsp": the DSP
# extension's SIMD instructions (Cortex-M4/M7/M33/M35P), "mve": Helium (Cortex-M55/M85).
ARCHS = ("c", "dsp", "mve")


class CmsisNNError(TinygenError):
    """CMSIS-NN is missing, not where the user said, or a release tinygen does not support."""
