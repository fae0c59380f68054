"""Memory regions of boards: the fit check per region, --arena-region and the placement hooks
(TG_ARENA_SECTION, TG_WEIGHTS_SECTION), and the generated README's lines for STM32CubeMX
Makefile/CMake projects and FreeRTOS.

Tests that need the Arm toolchain, QEMU, make or cmake skip with a message saying which Debian
package to install when it is missing (setup.sh installs them all).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from codegen.toolchain import cortexm
from codegen.cli import main as cli_main
from codegen.errors import DoesNotFitError, TinygenError
from codegen.generate import generate
from codegen import targets as targets_mod
from codegen.targets import default_region, load_target, memory_regions
from tests.harness import SHARED_MODELS

YOLO = SHARED_MODELS / "openmv_yolo_lc_192.tflite"
HELLO = SHARED_MODELS / "tflm_hello_world_int8.tflite"
_ARM_MISSING = cortexm.missing_packages(need_qemu=False)
_QEMU_MISSING = cortexm.missing_packages(need_qemu=True)


def _why(packages: list[str]) -> str:
    return (f"needs {', '.join(packages)}: sudo apt-get install {' '.join(packages)} "
            "(or run setup.sh as root)")


needs_arm = pytest.mark.skipif(bool(_ARM_MISSING), reason=_why(_ARM_MISSING))
needs_qemu = pytest.mark.skipif(bool(_QEMU_MISSING), reason=_why(_QEMU_MISSING))
needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None, reason=_why(["cmake"]))
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason=_why(["make"]))
needs_yolo = pytest.mark.skipif(not YOLO.is_file(), reason=f"shared model {YOLO} not found")
needs_hello = pytest.mark.skipif(not HELLO.is_file(), reason=f"shared model {HELLO} not found")


@pytest.fixture(autouse=True)
def _no_cmsis_nn_from_environment(monkeypatch):
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)


def run(cmd: list[str], cwd: Path | None = None) -> str:
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(map(str, cmd))}\n{r.stdout}\n{r.stderr}"
    return r.stdout + r.stderr


def _regions(board: str) -> dict[str, tuple[str, int, int, bool]]:
    return {r["name"]: (r["kind"], r["origin"], r["size"], r["default"])
            for r in memory_regions(load_target(board))}


# ---------------------------------------------------------------- board files
def test_boards_list_the_regions_of_the_vendor_linker_script():
    k = 1024
    assert _regions("nucleo-l4r5zi") == {            # STM32L4R5ZITX_FLASH.ld (CubeMX 2024-26)
        "FLASH": ("flash", 0x08000000, 2048 * k, True), "RAM": ("ram", 0x20000000, 192 * k, False),
        "RAM2": ("ram", 0x10000000, 64 * k, False), "RAM3": ("ram", 0x20040000, 384 * k, True)}
    assert _regions("stm32h743") == {                # STM32H743ZITX_FLASH.ld
        "FLASH": ("flash", 0x08000000, 2048 * k, True),
        "DTCMRAM": ("ram", 0x20000000, 128 * k, False),
        "RAM_D1": ("ram", 0x24000000, 512 * k, True),
        "RAM_D2": ("ram", 0x30000000, 288 * k, False), "RAM_D3": ("ram", 0x38000000, 64 * k, False),
        "ITCMRAM": ("ram", 0x00000000, 64 * k, False)}
    assert _regions("nucleo-f446re") == {"FLASH": ("flash", 0x08000000, 512 * k, True),
                                         "RAM": ("ram", 0x20000000, 128 * k, True)}
    f746 = _regions("stm32f746g-disco")
    assert f746["RAM"] == ("ram", 0x20000000, 320 * k, True)
    assert f746["SDRAM"][:2] == ("ram", 0xC0000000) and f746["QSPI"][:2] == ("flash", 0x90000000)
    for board, psram in (("mps2-an385", 0x21000000), ("mps2-an386", 0x21000000),
                         ("mps2-an500", 0x60000000)):
        assert _regions(board)["PSRAM"] == ("ram", psram, 16 << 20, False)
        assert default_region(load_target(board), "ram")["name"] == "RAM"
    t = load_target("nucleo-l4r5zi")
    assert (t["heap_bytes"], t["min_stack_bytes"]) == (0x200, 0x400)
    assert (t["flash_bytes"], t["ram_bytes"]) == (2 << 20, 640 << 10)      # totals, kept
    assert memory_regions(load_target("cortex-m4")) == []


def test_board_file_region_errors(tmp_path, monkeypatch):
    shutil.copy(targets_mod.TARGETS_DIR / "cortex-m4.toml", tmp_path / "cortex-m4.toml")
    monkeypatch.setattr(targets_mod, "TARGETS_DIR", tmp_path)
    head = 'core = "cortex-m4"\nflash_bytes = 1024\nram_bytes = 1024\n'
    reg = '[[memory]]\nname = "{n}"\nkind = "{k}"\norigin = 0\nsize = 1024\n{extra}\n'
    cases = {
        "two_defaults": (reg.format(n="A", k="ram", extra="default = true") +
                         reg.format(n="B", k="ram", extra="default = true"),
                         "exactly one ram region must be `default = true`"),
        "bad_kind": (reg.format(n="A", k="rom", extra=""), "`kind` must be one of flash, ram"),
        "bad_name": (reg.format(n="A-B", k="ram", extra="default = true"),
                     "linker script identifier"),
        "twice": (reg.format(n="A", k="ram", extra="default = true") +
                  reg.format(n="a", k="ram", extra=""), "listed twice"),
    }
    for name, (body, message) in cases.items():
        (tmp_path / f"{name}.toml").write_text(head + body)
        with pytest.raises(TinygenError, match=re.escape(message)):
            load_target(name)
    # a board file without [[memory]]: one FLASH and one RAM region from its totals
    (tmp_path / "plain.toml").write_text(head + "ram_origin = 0x20000000\n")
    assert _regions("plain") == {"FLASH": ("flash", 0, 1024, True),
                                 "RAM": ("ram", 0x20000000, 1024, True)}


# ---------------------------------------------------------------- the fit check by region
@needs_yolo
def test_yolo_on_l4r5_fits_ram3_not_sram1(tmp_path, capsys):
    """openmv_yolo_lc_192 on NUCLEO-L4R5ZI: the CubeMX linker script puts .bss (so the arena)
    in RAM3 (384 KB), where it fits; placed in the 192 KB SRAM1 region (RAM) it does not, and
    the error says by how much and where it would fit.  (Planned operator by operator:
    the in-place layers take its arena below 192 KB.)"""
    gen = generate(YOLO, None, target="nucleo-l4r5zi", in_place=False)
    mem = gen.memory
    regions = {r["name"]: r for r in mem["board"]["regions"]}
    assert mem["board"]["arena_region"] == "RAM3"
    ram3 = regions["RAM3"]
    arena, io, stack = mem["ram"]["arena"], mem["ram"]["io_buffers"], mem["ram"]["stack"]
    assert arena > 192 * 1024
    assert ram3["used"] == arena + mem["ram"]["static"] + io + max(stack, 0x400) + 0x200
    assert 0 <= ram3["free"] == 384 * 1024 - ram3["used"]
    assert regions["RAM"]["used"] == regions["RAM2"]["used"] == 0
    assert regions["FLASH"]["used"] == mem["flash"]["total"]

    out = tmp_path / "out"
    assert cli_main([str(YOLO), "--board", "nucleo-l4r5zi", "--arena-region", "ram",
                     "--no-in-place", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert not out.exists()
    m = re.search(r"RAM: the model needs ([\d,]+) bytes \(measured: arena ([\d,]+)\) in region "
                  r"RAM \(0x20000000, the arena, --arena-region RAM\), which has 196,608: "
                  r"([\d,]+) bytes too many", err)
    assert m, err
    need, arena_b, over = (int(g.replace(",", "")) for g in m.groups())
    assert need == arena_b == arena and over == arena - 196608
    assert "fits in RAM3" in err and "--arena-region RAM3" in err
    assert "--target cortex-m4" in err
    # RAM3, named explicitly: the same as the default (and its own NOLOAD section)
    gen3 = generate(YOLO, None, target="nucleo-l4r5zi", arena_region="RAM3", in_place=False)
    assert gen3.memory["placement"]["arena_section"] == ".noinit.ram3"
    r3 = {r["name"]: r for r in gen3.memory["board"]["regions"]}["RAM3"]
    assert r3["used"] == ram3["used"] and r3["arena"]


@needs_yolo
def test_arena_moved_out_of_a_full_default_region(tmp_path):
    """On the F746 disco the default RAM region (320 KB) cannot hold the YOLO's arena and
    buffers; with --arena-region SDRAM the arena goes to the board's external SDRAM and the
    rest fits the default region.  (Planned operator by operator: the in-place layers
    make it fit.)"""
    assert generate(YOLO, None, target="stm32f746g-disco", measure=False).memory
    with pytest.raises(DoesNotFitError) as err:
        generate(YOLO, None, target="stm32f746g-disco", measure=False, in_place=False)
    msg = str(err.value)
    assert "in region RAM (0x20000000, .data/.bss/stack in the vendor's linker script)" in msg
    assert "--arena-region SDRAM" in msg and "--target cortex-m7" in msg
    gen = generate(YOLO, tmp_path / "out", target="stm32f746g-disco", measure=False,
                   arena_region="sdram", in_place=False)
    regions = {r["name"]: r for r in gen.memory["board"]["regions"]}
    assert regions["SDRAM"]["used"] == gen.memory["ram"]["arena"] and regions["SDRAM"]["arena"]
    assert not any(p["what"] == "arena" for p in regions["RAM"]["parts"])
    assert 0 <= regions["RAM"]["free"] < regions["RAM"]["size"]
    readme = (tmp_path / "out" / "README.md").read_text()
    assert ">SDRAM" in readme and "*(.noinit.sdram .noinit.sdram.*)" in readme
    assert '#define TG_ARENA_SECTION __attribute__((section(".noinit.sdram")))' in \
        (tmp_path / "out" / "openmv_yolo_lc_192.c").read_text()
    manifest = json.loads((tmp_path / "out" / "tinygen.json").read_text())
    assert manifest["memory"]["board"]["arena_region"] == "SDRAM"


@needs_hello
def test_arena_region_errors(tmp_path):
    with pytest.raises(TinygenError, match=r"nucleo-l4r5zi has no memory region of that name; "
                                           r"its RAM regions are RAM, RAM2, RAM3"):
        generate(HELLO, None, target="nucleo-l4r5zi", arena_region="SRAM9", measure=False)
    with pytest.raises(TinygenError, match=r"FLASH is a flash region of nucleo-l4r5zi"):
        generate(HELLO, None, target="nucleo-l4r5zi", arena_region="FLASH", measure=False)
    with pytest.raises(TinygenError, match=r"for microcontrollers"):
        generate(HELLO, None, target="host", arena_region="RAM2", measure=False)
    with pytest.raises(TinygenError, match=r"linker script identifier"):
        generate(HELLO, None, target="cortex-m4", arena_region="RAM 2", measure=False)
    # a core has no region list: any name, no fit check, the section and the README lines
    gen = generate(HELLO, tmp_path / "m4", target="cortex-m4", arena_region="SRAM2",
                   measure=False)
    assert gen.memory["board"] is None
    assert gen.memory["placement"] == dict(arena_region="SRAM2", arena_section=".noinit.sram2")
    assert ">SRAM2" in (tmp_path / "m4" / "README.md").read_text()


# ---------------------------------------------------------------- the hooks, on the emulator
PSRAM_MAIN = """\
#include <stdint.h>
#include <string.h>
#include "{name}.h"
#include "{name}_selftest.h"

int main(void)
{{
    /* the arena needs no zeroing: garbage where it lives must not change the outputs */
    memset((void *)0x21000000u, 0xA5, {NAME}_ARENA_BYTES);
    return {name}_selftest() == 0 ? 0 : 1;
}}
"""


@needs_qemu
@needs_hello
def test_arena_in_psram_runs_bit_exact_on_qemu(tmp_path):
    out = tmp_path / "hello"
    assert cli_main([str(HELLO), "--board", "mps2-an386", "--arena-region", "PSRAM",
                     "--selftest", "4", "-o", str(out), "-q"]) == 0
    name = "tflm_hello_world_int8"
    manifest = json.loads((out / "tinygen.json").read_text())
    main = tmp_path / "psram_main.c"
    main.write_text(PSRAM_MAIN.format(name=name, NAME=name.upper()))
    elf, board = cortexm.build_program_elf(out, manifest["sources"], [main],
                                           load_target("mps2-an386"), tmp_path / "build",
                                           name="psram")
    syms = {parts[2]: int(parts[0], 16) for parts in
            (line.split() for line in run(["arm-none-eabi-nm", elf]).splitlines())
            if len(parts) == 3}
    assert 0x21000000 <= syms[f"{name}_arena"] < 0x21000000 + (16 << 20)
    headers = run(["arm-none-eabi-objdump", "-h", elf])
    psram = re.search(r"\.psram\s+([0-9a-f]+)\s+([0-9a-f]+).*\n\s+(.*)", headers)
    assert psram and int(psram.group(2), 16) == 0x21000000
    assert "LOAD" not in psram.group(3) and "CONTENTS" not in psram.group(3)   # NOLOAD
    assert cortexm.run_on_emulator(elf, board).returncode == 0
    # the weights hook: defined by the user, the weights struct moves to that section
    t = load_target("mps2-an386")
    obj = tmp_path / "data.o"
    run(["arm-none-eabi-gcc", *t["cpu_flags"], "-std=c99", "-O2", "-Wall", "-Wextra",
         "-Wpedantic", "-Werror", f"-I{out}", "-c", out / f"{name}_data.c", "-o", obj,
         '-DTG_WEIGHTS_SECTION=__attribute__((section(".tg_weights")))'])
    sections = run(["arm-none-eabi-objdump", "-h", obj])
    size = re.search(r"\.tg_weights\s+([0-9a-f]+)", sections)
    assert size and int(size.group(1), 16) >= manifest["memory"]["flash"]["weights"]
    assert ".rodata" not in sections


# ---------------------------------------------------------------- CubeMX projects, FreeRTOS
@needs_hello
def test_readme_covers_cubemx_makefile_cmake_and_freertos(tmp_path):
    out = tmp_path / "kws"
    gen = generate(HELLO, out, target="nucleo-l4r5zi", name="kws")
    readme = (out / "README.md").read_text()
    for line in ("C_SOURCES += $(wildcard Core/kws/*.c)", "C_INCLUDES += -ICore/kws",
                 "add_subdirectory(Core/kws)", "target_link_libraries(${CMAKE_PROJECT_NAME} kws)",
                 "## STM32CubeIDE", "## FreeRTOS", "osThreadFlagsWait(", "xTaskCreate(",
                 "kws_invoke(", "uxTaskGetStackHighWaterMark", "(NOLOAD)", "TG_WEIGHTS_SECTION",
                 "RAM3 (default .data/.bss/stack) | 0x20040000 | 393216 |"):
        assert line in readme, line
    stack = gen.memory["ram"]["stack"]
    m = re.search(r"needs (\d+) bytes for the inference.*?at least\s+\*\*(\d+) bytes\*\* "
                  r"\((\d+) words\)", readme, re.S)
    assert m and int(m.group(1)) == stack
    task = int(m.group(2))
    assert task >= stack + 512 and task % 64 == 0 and int(m.group(3)) * 4 == task
    assert f'xTaskCreate(model_task, "kws", {task // 4},' in readme


CUBEMX_CMAKE = """\
cmake_minimum_required(VERSION 3.22)
set(CMAKE_C_STANDARD 11)
if(NOT CMAKE_BUILD_TYPE)
    set(CMAKE_BUILD_TYPE "Debug")
endif()
set(CMAKE_PROJECT_NAME app)
project(${CMAKE_PROJECT_NAME})
enable_language(C ASM)
add_executable(${CMAKE_PROJECT_NAME})
add_library(stm32cubemx INTERFACE)
target_sources(${CMAKE_PROJECT_NAME} PRIVATE Core/Src/main.c)
target_link_libraries(${CMAKE_PROJECT_NAME} stm32cubemx)
"""

APP_MAIN = """\
#include "kws.h"
static int8_t in[KWS_SERVING_DEFAULT_DENSE_INPUT_ELEMENTS];
static int8_t out[KWS_STATEFULPARTITIONEDCALL_ELEMENTS];
int main(void) { return kws_invoke(in, out); }
"""


def _readme_block(readme: str, lang: str, marker: str) -> str:
    for block in re.findall(rf"```{lang}\n(.*?)```", readme, re.S):
        if marker in block:
            return block
    raise AssertionError(f"no ```{lang} block with {marker!r} in README.md")


@needs_arm
@needs_cmake
@needs_hello
def test_cubemx_cmake_project_adds_the_folder(tmp_path):
    """A CubeMX-like CMake project takes the folder with the README's two lines: the library
    builds with the parent's Arm toolchain and links into the parent's program."""
    proj = tmp_path / "proj"
    (proj / "Core" / "Src").mkdir(parents=True)
    generate(HELLO, proj / "Core" / "kws", target="nucleo-l4r5zi", name="kws", measure=False)
    readme = (proj / "Core" / "kws" / "README.md").read_text()
    lines = _readme_block(readme, "cmake", "add_subdirectory")
    (proj / "CMakeLists.txt").write_text(CUBEMX_CMAKE + lines)
    (proj / "Core" / "Src" / "main.c").write_text(APP_MAIN)
    build = tmp_path / "build"
    log = run(["cmake", "-S", proj, "-B", build,
               f"-DCMAKE_TOOLCHAIN_FILE={proj / 'Core' / 'kws' / 'cmake' / 'arm-none-eabi.cmake'}"])
    log += run(["cmake", "--build", build, "-j2"])
    assert "warning" not in log.lower(), log
    lib = build / "Core" / "kws" / "libkws.a"
    assert lib.is_file() and (build / "app").is_file()
    assert not (build / "Core" / "kws" / "kws_example.elf").exists()   # example off as a subproject
    assert "v7E-M" in run(["arm-none-eabi-readelf", "-A", build / "app"])
    assert "kws_invoke" in run(["arm-none-eabi-nm", build / "app"])


CUBEMX_MAKEFILE = """\
TARGET = app
BUILD_DIR = build
C_SOURCES =  \\
Core/Src/main.c
C_INCLUDES =  \\
-ICore/Inc

{lines}
CC = arm-none-eabi-gcc
MCU = {mcu}
CFLAGS += $(MCU) $(C_INCLUDES) -Og -Wall -fdata-sections -ffunction-sections
LDFLAGS = $(MCU) --specs=nano.specs --specs=nosys.specs -Wl,--gc-sections
all: $(BUILD_DIR)/$(TARGET).elf
OBJECTS = $(addprefix $(BUILD_DIR)/,$(notdir $(C_SOURCES:.c=.o)))
vpath %.c $(sort $(dir $(C_SOURCES)))
$(BUILD_DIR)/%.o: %.c Makefile | $(BUILD_DIR)
\t$(CC) -c $(CFLAGS) $< -o $@
$(BUILD_DIR)/$(TARGET).elf: $(OBJECTS) Makefile
\t$(CC) $(OBJECTS) $(LDFLAGS) -o $@
$(BUILD_DIR):
\tmkdir $@
"""


@needs_arm
@needs_make
@needs_hello
def test_cubemx_makefile_project_adds_the_folder(tmp_path):
    """The README's Makefile lines, placed after C_INCLUDES in a CubeMX-style Makefile, build
    the folder's sources into the program."""
    proj = tmp_path / "proj"
    (proj / "Core" / "Src").mkdir(parents=True)
    (proj / "Core" / "Inc").mkdir()
    generate(HELLO, proj / "Core" / "kws", target="nucleo-l4r5zi", name="kws", measure=False)
    readme = (proj / "Core" / "kws" / "README.md").read_text()
    lines = _readme_block(readme, "make", "C_SOURCES +=")
    t = load_target("nucleo-l4r5zi")
    (proj / "Makefile").write_text(CUBEMX_MAKEFILE.format(lines=lines,
                                                          mcu=" ".join(t["cpu_flags"])))
    (proj / "Core" / "Src" / "main.c").write_text(APP_MAIN)
    run(["make", "-C", proj, "-j2"])
    assert "kws_invoke" in run(["arm-none-eabi-nm", proj / "build" / "app.elf"])
    assert (proj / "build" / "tg_dsp_gemm.o").is_file()     # the Cortex-M4's dsp kernels
