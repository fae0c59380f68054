"""codegen/toolchain/linksize.py: what a --gc-sections link keeps of a library, from its map."""
from __future__ import annotations

import subprocess

import pytest

from codegen.targets import load_target
from codegen.toolchain import cortexm, linksize

needs_arm = pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=False)),
                               reason="arm-none-eabi-gcc / newlib not installed")

MAP = """\
Archive member included to satisfy reference by file (symbol)

/usr/lib/libc_nano.a(lib_a-memcpy.o)
                              lib/a.o (memcpy)

Discarded input sections

 .text.unused   0x00000000      0x400 lib/a.o
 .rodata.big    0x00000000      0x100 lib/a.o

Memory Configuration

Linker script and memory map

LOAD lib/a.o
.text           0x00000000      0x200
 *(.text .text.*)
 .text.main     0x00000000        0x8 main.o
                0x00000000                main
 .text.a_very_long_function_name_that_wraps
                0x00000008       0x44 lib/a.o
                0x00000008                a_very_long_function_name_that_wraps
 *fill*         0x0000004c        0x4 
 .text          0x00000050       0x34 /usr/lib/libc_nano.a(lib_a-memcpy.o)
 .rodata.table  0x00000084       0x10 lib/a.o
.ARM.exidx      0x00000094        0x8
 .ARM.exidx     0x00000094        0x8 /usr/lib/libgcc.a(_udivmoddi4.o)
.data           0x20000000        0xc
 .data.state    0x20000000        0xc lib/a.o
.bss            0x2000000c       0x40
 .bss.arena     0x2000000c       0x3c lib/a.o
 COMMON         0x20000048        0x4 lib/b.o
/DISCARD/
 .text.gone     0x00000000       0x99 lib/a.o
.debug_info     0x00000000       0x33
 .debug_info    0x00000000       0x33 lib/a.o
"""


def test_parse_map_counts_kept_input_sections_per_file():
    sizes = linksize.parse_map(MAP)
    a = sizes["lib/a.o"]
    # the wrapped name's size is on its second line; discarded, /DISCARD/ and debug
    # sections are not counted, nor *fill*
    assert (a.code, a.rodata, a.data, a.bss) == (0x44, 0x10, 0xC, 0x3C)
    assert sizes["/usr/lib/libc_nano.a(lib_a-memcpy.o)"].code == 0x34
    assert sizes["/usr/lib/libgcc.a(_udivmoddi4.o)"].code == 8
    assert sizes["lib/b.o"].bss == 4 and sizes["main.o"].code == 8
    t = linksize.total(sizes)
    assert (t.code, t.rodata, t.data, t.bss) == (0x44 + 0x34 + 8 + 8, 0x10, 0xC, 0x40)


def test_parse_map_rejects_other_text():
    with pytest.raises(ValueError, match="not a GNU ld map"):
        linksize.parse_map("hello\n")


@needs_arm
def test_linked_sizes_drop_what_the_roots_do_not_reach(tmp_path):
    src = tmp_path / "lib.c"
    src.write_text(
        "#include <string.h>\n"
        "int used(char *d, const char *s, int n);\n"
        "int unused(int x);\n"
        "static const int table[8] = {1, 2, 3, 4, 5, 6, 7, 8};\n"
        "int used(char *d, const char *s, int n) { memcpy(d, s, (size_t)n); return table[n & 7]; }\n"
        "int unused(int x) { int i, y = 0; for (i = 0; i < x; ++i) { y += i * x ^ (y >> 3); }"
        " return y; }\n")
    target = load_target("cortex-m4")
    obj = tmp_path / "lib.o"
    subprocess.run([linksize.PREFIX + "gcc", *target["cpu_flags"], *linksize.COMPILE_FLAGS,
                    "-c", str(src), "-o", str(obj)], check=True)
    nm = subprocess.run([linksize.PREFIX + "nm", "-S", str(obj)], capture_output=True,
                        text=True, check=True).stdout
    size = {p[3]: int(p[1], 16) for p in (line.split() for line in nm.splitlines())
            if len(p) == 4}
    assert linksize.defined_globals(obj) == ["unused", "used"]
    sizes = linksize.linked_sizes([obj], target, tmp_path / "link", ["used"])
    lib = sizes[str(obj)]
    assert size["used"] <= lib.code <= size["used"] + 3 and lib.rodata == 32
    assert any("memcpy" in f and s.code > 0 for f, s in sizes.items())   # pulled in: counted
    assert not any(f.endswith("tg_linksize_main.o") for f in sizes)       # the stub is not
    both = linksize.linked_sizes([obj], target, tmp_path / "link2", ["used", "unused"])
    every = cortexm.object_sizes(obj)       # every section of the object: all are kept
    assert (both[str(obj)].code, both[str(obj)].rodata) == (every.code, every.rodata)
    assert every.code - lib.code >= size["unused"]
