"""`pip install` gives a working tool: the wheel carries templates/, targets/ and runtime_c/,
and tinygen installed from it generates and verifies a model from a folder outside the checkout.

The wheel is built from a copy of the sources (a build in the checkout would leave build/ and
*.egg-info behind, and a stale build/ can leak removed files into the wheel).  It is installed
into a fresh venv whose only view of the outer interpreter's packages (numpy, jinja2,
tflite_micro, ...) is a .pth file listing their folders: .pth files there (such as an editable
install of tinygen pointing at some checkout) are not run, so `codegen` can only come from the
wheel.  Every command runs in a temporary folder with PYTHONPATH cleared.
"""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import site
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from codegen.reference import LITERT_PIN, TFLM_PIN

ROOT = Path(__file__).resolve().parent.parent
DATA = ("templates", "targets", "runtime_c")
SOURCES = ("pyproject.toml", "README.md", "codegen", *DATA)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def _can_build_without_isolation() -> bool:
    """setuptools >= 64 with a bdist_wheel command (its own since 70.1, else the wheel package)."""
    try:
        import setuptools
    except ImportError:
        return False
    major = int(setuptools.__version__.split(".")[0])
    return major >= 64 and (importlib.util.find_spec("setuptools.command.bdist_wheel") is not None
                            or importlib.util.find_spec("wheel") is not None)


def _clean_env() -> dict:
    # a fresh user's environment: no checkout on the path, no CMSIS-NN configured (with
    # CMSIS_NN_PATH set, the generated project would call CMSIS-NN instead of tg_conv.c)
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV",
                        "CMSIS_NN_PATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(cmd, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(), capture_output=True,
                       text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{r.stdout}\n{r.stderr}"
    return r


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> bytes:
    """README's example model (conv, depthwise, pool, fully connected, softmax)."""
    path = tmp_path_factory.mktemp("model") / "kws_cnn.tflite"
    subprocess.run([sys.executable, str(ROOT / "examples" / "kws_cnn.py"), "-o", str(path)],
                   check=True, capture_output=True)
    return path.read_bytes()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"
    src.mkdir()
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=IGNORE)
        else:
            shutil.copy2(p, src / name)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", src]
    if _can_build_without_isolation():
        cmd.insert(4, "--no-build-isolation")
    _run(cmd, cwd=work, timeout=300)
    (whl,) = (work / "dist").glob("tinygen-*.whl")
    return whl


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh venv with tinygen installed from the wheel (and only from there)."""
    work = tmp_path_factory.mktemp("venv")
    env = work / "env"
    _run([sys.executable, "-m", "venv", env], cwd=work)
    py = env / "bin" / "python"
    _run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], cwd=work)
    purelib = _run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   cwd=work).stdout.strip()
    outer = [p for p in [*site.getsitepackages(), site.getusersitepackages()]
             if Path(p).is_dir()]
    # the dependencies' folders only: their .pth files are not processed, so no other tinygen
    (Path(purelib) / "outer_dependencies.pth").write_text("".join(f"{p}\n" for p in outer))
    return env


def test_wheel_carries_the_data_folders_and_every_module(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = set(z.namelist())
    for folder in DATA:
        want = _files(ROOT / folder)
        assert want, folder
        missing = sorted(f for f in want if f"codegen/_data/{folder}/{f}" not in names)
        assert not missing, f"the wheel lacks {folder}/ files: {missing[:10]}"
    py = sorted(f for f in _files(ROOT / "codegen") if f.endswith(".py")
                and f"codegen/{f}" not in names)
    assert not py, (f"the wheel lacks codegen modules {py[:10]}: add their packages to "
                    "[tool.setuptools] packages in pyproject.toml")


def test_installed_tinygen_generates_lists_targets_and_verifies(venv, model, tmp_path):
    bin_ = venv / "bin"
    r = _run([bin_ / "python", "-c", "import codegen, codegen.resources as r; print(codegen.__file__);"
              " print(r.templates_dir()); print(r.targets_dir()); print(r.boards_dir())"],
             cwd=tmp_path)
    paths = r.stdout.split()
    assert len(paths) == 4
    for p in paths:   # the code and its data come from the venv, not from the checkout
        assert Path(p).resolve().is_relative_to(venv.resolve()), p
        assert not Path(p).resolve().is_relative_to(ROOT), p

    r = _run([bin_ / "tinygen", "targets"], cwd=tmp_path)
    listed = re.findall(r"^  (\S+)", r.stdout, re.M)
    assert "cortex-m4" in listed and "nucleo-l4r5zi" in listed, r.stdout

    (tmp_path / "tiny.tflite").write_bytes(model)
    _run([bin_ / "tinygen", "tiny.tflite", "--target", "cortex-m4", "-o", "out", "-q"],
         cwd=tmp_path)
    out = tmp_path / "out"
    for f in ("tiny.h", "tiny.c", "tiny_data.c", "tg_dsp_conv.c", "tg_softmax.h", "Makefile",
              "CMakeLists.txt", "cmake/arm-none-eabi.cmake", "README.md", "tinygen.json"):
        assert (out / f).is_file(), f
    assert "-mcpu=cortex-m4" in (out / "Makefile").read_text()

    r = _run([bin_ / "tinygen", "verify", "tiny.tflite", "--count", "2"], cwd=tmp_path)
    assert "BIT-EXACT" in r.stdout, r.stdout


@pytest.mark.skipif(not (shutil.which("arm-none-eabi-gcc") and shutil.which("qemu-system-arm")),
                    reason="needs gcc-arm-none-eabi, libnewlib-arm-none-eabi, qemu-system-arm: "
                    "sudo apt-get install them (or run setup.sh as root)")
def test_installed_tinygen_verifies_on_the_emulator(venv, model, tmp_path):
    """The board support files (startup code, linker script) come from the wheel too."""
    (tmp_path / "tiny.tflite").write_bytes(model)
    r = _run([venv / "bin" / "tinygen", "verify", "tiny.tflite", "--target", "cortex-m4",
              "--count", "2"], cwd=tmp_path, timeout=300)
    assert "BIT-EXACT" in r.stdout, r.stdout


def test_verify_extra_pins_the_reference_versions_named_in_messages():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert TFLM_PIN in extras["verify"] and LITERT_PIN in extras["verify"]
    assert "tinygen[verify]" in extras["test"]


def test_missing_tflite_micro_names_the_pinned_version(model, monkeypatch):
    from codegen.errors import ToolchainError
    from codegen.frontend import read_tflite
    from codegen.reference import TflmReference

    # imports fail as if the package were not installed (even if loaded earlier in this process)
    for name in ["tflite_micro", *(k for k in sys.modules if k.startswith("tflite_micro."))]:
        monkeypatch.setitem(sys.modules, name, None)
    with pytest.raises(ToolchainError) as e:
        TflmReference(model, read_tflite(model))
    assert TFLM_PIN in str(e.value) and 'tinygen[verify]' in str(e.value)
