#!/usr/bin/env bash
# Install everything tinygen needs on this machine:
#   - Python packages (tinygen itself, editable, with test dependencies)
#   - the Arm cross toolchain, QEMU, make, cmake, cppcheck, gcc and clang (with its sanitizer
#     runtime) from Debian's packages, when missing and permitted (root, or passwordless sudo;
#     set TINYGEN_NO_APT=1 to skip).
# PYTHON=/path/to/venv/bin/python installs the Python packages into that interpreter.
# Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
echo "setup: Python packages"
$PY -m pip install --quiet --disable-pip-version-check -e ".[test,bench]"

# apt_install PKG...: install Debian packages when permitted (root or passwordless sudo)
apt_install() {
  if [ "${TINYGEN_NO_APT:-0}" = "1" ]; then
    echo "setup: skipping system packages (TINYGEN_NO_APT=1); missing: $*"
  elif [ "$(id -u)" = "0" ]; then
    echo "setup: installing $* (apt-get)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "setup: installing $* (sudo apt-get)"
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  else
    echo "setup: cannot install $* (not root, no sudo): the tests that need them will skip or fail."
    echo "       Install them with: sudo apt-get install $*"
  fi
}

need=()
command -v gcc >/dev/null || need+=(gcc libc6-dev)
command -v arm-none-eabi-gcc >/dev/null || need+=(gcc-arm-none-eabi libnewlib-arm-none-eabi)
[ -e /usr/lib/arm-none-eabi/newlib/libc.a ] || [ -d /usr/lib/arm-none-eabi/lib ] || need+=(libnewlib-arm-none-eabi)
command -v qemu-system-arm >/dev/null || need+=(qemu-system-arm)
command -v make >/dev/null || need+=(make)
command -v cmake >/dev/null || need+=(cmake)
command -v cppcheck >/dev/null || need+=(cppcheck)
command -v clang >/dev/null || need+=(clang)
[ ${#need[@]} -eq 0 ] || apt_install "${need[@]}"

# The tests build with ASan/UBSan under gcc and clang.  Debian ships clang's sanitizer runtime
# apart from clang (libclang-rt-<major>-dev since clang 14 on bookworm): install the one that
# matches the installed clang when a sanitized program does not link.
sanitizers_link() {  # sanitizers_link CC: can CC build and link an ASan/UBSan program?
  local dir rc
  dir=$(mktemp -d)
  printf 'int main(void) { return 0; }\n' > "$dir/t.c"
  rc=0
  "$1" -fsanitize=address,undefined "$dir/t.c" -o "$dir/t" >/dev/null 2>&1 || rc=1
  rm -rf "$dir"
  return $rc
}
if command -v clang >/dev/null && ! sanitizers_link clang; then
  major=$(clang -dumpversion | cut -d. -f1)
  apt_install "libclang-rt-${major}-dev" || true
  sanitizers_link clang || echo "setup: clang still cannot link -fsanitize=address,undefined programs"
fi
if command -v gcc >/dev/null && ! sanitizers_link gcc; then
  echo "setup: gcc cannot link -fsanitize=address,undefined programs (install gcc's libasan/libubsan)"
fi
# pyenv installs console scripts behind shims that exist only after a rehash
command -v pyenv >/dev/null && pyenv rehash 2>/dev/null || true
echo "setup: done"
