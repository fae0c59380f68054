"""--compress auto against the code compressed kernels add (codegen/compression.py's code
check, the table benchmarks/code_units.py measures) and the RAM they cost together."""
from __future__ import annotations

import json
import re

import pytest

from codegen import compression
from codegen.compression import CodeCost, code_bytes, unprofitable_filters
from codegen.encoding import KINDS
from codegen.generate import generate
from codegen.toolchain import cortexm
from tests.conv_models import ConvCase
from tests.test_compress import model

TABLE = {"a": {"fa": 1000, "shared": 500},
         "b": {"fb": 300, "shared": 500},
         "c": {"fc": 2000}}


@pytest.fixture
def table():
    with compression.code_table(TABLE):
        yield


def test_code_bytes_counts_shared_functions_once(table):
    assert code_bytes([]) == 0
    assert code_bytes(["a"]) == 1500
    assert code_bytes(["a", "b", "a"]) == 1800
    assert code_bytes(["a", "unknown"]) == 1500


def test_a_unit_whose_filters_save_less_than_its_own_code_goes(table):
    # c's 2000 bytes against 1500 saved: c goes; a (1500, 2 layers) and b stay
    filters = [CodeCost(0, "a", 1000), CodeCost(1, "a", 600), CodeCost(2, "b", 400),
               CodeCost(3, "c", 1500)]
    out = unprofitable_filters(filters)
    assert set(out) == {3}
    assert "its kernel's code (c, about 2000 bytes of flash)" in out[3]
    assert "(1500 bytes)" in out[3]
    # b alone brings only fb (300: "shared" comes with a): its 400 bytes pay for it
    assert 2 not in out
    # ... not with 300 saved (no more than its code)
    assert set(unprofitable_filters([CodeCost(0, "a", 2000), CodeCost(2, "b", 300)])) == {2}


def test_all_filters_go_when_together_they_do_not_pay(table):
    # each unit's own functions are paid (a: 1000 + 100, b: 300 + 50) but not the 500
    # bytes they share: 1800 of code for 1750 saved
    filters = [CodeCost(0, "a", 1100), CodeCost(1, "b", 350), CodeCost(2, "b", 300)]
    out = unprofitable_filters(filters)
    assert set(out) == {0, 1, 2}
    assert "the compressed kernels' code (about 1800 bytes of flash)" in out[0]
    assert unprofitable_filters([CodeCost(0, "a", 1200), CodeCost(1, "b", 650)]) == {}


def test_code_of_named_filters_is_paid(table):
    # c is in the image for a filter named with --compress-layer: any saving pays
    assert unprofitable_filters([CodeCost(0, "c", 10)], paid=["c"]) == {}
    assert set(unprofitable_filters([CodeCost(0, "c", 10)])) == {0}
    # a's shared function is there for b's named filter: a pays only fa
    assert unprofitable_filters([CodeCost(0, "a", 1001)], paid=["b"]) == {}
    assert set(unprofitable_filters([CodeCost(0, "a", 1000)], paid=["b"])) == {0}


FC = [(1, 64, 10, True, "int4")]                       # 320 bytes saved
POINTWISE = [(ConvCase(in_h=10, in_w=10, in_d=64, out_d=64, k_h=1, k_w=1), "int4")] * 3


def test_auto_keeps_int8_where_the_kernel_costs_more_than_it_saves(tmp_path):
    """A lone small int4 classifier: tg_dsp_s4_gemm_s8's code is more than the 320 bytes
    its filter saves, so auto keeps it int8 (the project of --compress none) and says why;
    named, it is compressed.  Three 64x64 pointwise filters (6 KB saved) repay their
    kernel's code."""
    path = tmp_path / "fc.tflite"
    path.write_bytes(model("code-fc", FC, []))
    auto = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    none = generate(path, None, target="cortex-m4", measure=False)
    (layer,) = auto.program.layers
    assert layer.call.kernel == none.program.layers[0].call.kernel == "tg_dsp_gemm_s8"
    assert layer.selection.filter.encoding == "raw"
    assert re.search(r"filter kept int8: its kernel's code \(tg_dsp_s4_gemm_s8/row, about \d+ "
                     r"bytes of flash\) is more than compressing its layers' filters saves "
                     r"\(320 bytes\); --compress-layer 0=ENC compresses it",
                     layer.selection.filter.reason), layer.selection.filter.reason
    # the project is the int8 one: only the report (the filter's reason) differs
    assert [k for k in auto.files if auto.files[k] != none.files.get(k)] == ["tinygen.json"]
    named = generate(path, None, target="cortex-m4", measure=False, compress=KINDS,
                     layer_compress={0: ("int4",)})
    assert named.program.layers[0].call.kernel == "tg_dsp_s4_gemm_s8"
    path = tmp_path / "pw.tflite"
    path.write_bytes(model("code-pw", [], POINTWISE))
    pw = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    assert [layer.call.kernel for layer in pw.program.layers] == ["tg_dsp_cw_gemm_s8"] * 3
    assert all(layer.selection.filter.encoding == "int4" for layer in pw.program.layers)
    # tinygen.json reports the filters' bytes and the code their kernels add
    entry = json.loads(pw.files["tinygen.json"])["compression"]
    units = entry["kernel_code_units"]
    assert len(units) == 1 and units[0].startswith("tg_dsp_cw_gemm_s8/"), units
    assert entry["kernel_code_estimate"] == code_bytes(units) > 1000
    assert (entry["filter_bytes_int8"], entry["filter_bytes_stored"]) == (3 * 4096, 3 * 2048)


def test_layers_at_the_peak_taken_back_together(tmp_path):
    """kws with 16-level filters: its four pointwise layers share the arena's peak, each
    holding it (none alone lowers it).  Compressed (not in place, a decoded block) they
    would take ~9 KB more RAM to save ~5 KB of filters, less the 2.8 KB of their kernel's
    code: all four keep int8 together and say so; the arena is the int8 model's."""
    from benchmarks.compress_bench import SHARED, model_of_kind
    path = tmp_path / "kws_pal16.tflite"
    path.write_bytes(model_of_kind(SHARED / "models" / "mlperf_kws_dscnn.tflite", "pal16"))
    auto = generate(path, None, target="cortex-m4", measure=False, compress=KINDS)
    none = generate(path, None, target="cortex-m4", measure=False)
    assert auto.program.plan.arena_bytes == none.program.plan.arena_bytes
    reasons = [layer.selection.filter.reason for layer in auto.program.layers
               if layer.selection.filter is not None and "RAM" in layer.selection.filter.reason]
    assert len(reasons) == 4, reasons
    assert all(re.search(r"takes \d+ bytes less RAM than the compressed filter \(4 such "
                         r"layers saving \d+ bytes of flash together net of the kernels' "
                         r"code\)", r) for r in reasons)
    assert not any(layer.selection.filter.encoded for layer in auto.program.layers
                   if layer.selection.filter is not None)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=False)),
                    reason="needs the Arm toolchain (setup.sh installs it) to measure code")
def test_code_table_is_current():
    """codegen/compressed_code.py against a new measurement of every unit: the same
    functions, each total within 10 % (else: python3 benchmarks/code_units.py --write)."""
    from benchmarks.code_units import PROBES, measure_all
    from codegen.compressed_code import UNITS
    assert set(UNITS) == set(PROBES)
    now = measure_all()
    for unit, funcs in now.items():
        assert set(funcs) == set(UNITS[unit]), (unit, funcs, UNITS[unit])
        assert abs(sum(funcs.values()) - sum(UNITS[unit].values())) <= \
            0.1 * sum(UNITS[unit].values()), (unit, funcs, UNITS[unit])


def test_several_models_share_the_code(tmp_path):
    """`tinygen a.tflite b.tflite`: b's lone int4 pointwise layer saves 1,536 bytes, less than
    the compressed GEMM path's code, so alone it stays int8; beside a model whose filters
    bring that code into the image anyway, it is compressed."""
    from codegen.multi import generate_multi
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(model("code-pw", [], POINTWISE))
    b.write_bytes(model("multi-b", [], [(ConvCase(in_h=8, in_w=8, in_d=64, out_d=48, k_h=1,
                                                  k_w=1), "int4")]))
    alone = generate(b, None, target="cortex-m4", measure=False, compress=KINDS)
    (layer,) = alone.program.layers
    assert layer.call.kernel == "tg_dsp_gemm_s8"
    assert "(tg_dsp_cw_gemm_s8/once-int4, about" in layer.selection.filter.reason
    both = generate_multi([a, b], None, target="cortex-m4", measure=False, compress=KINDS)
    pa, pb = both.programs
    assert [compression.code_unit(layer.call) for layer in pa.layers + pb.layers] == \
        ["tg_dsp_cw_gemm_s8/once-int4"] * 4
    assert pb.layers[0].selection.filter.encoding == "int4"
    # without --compress, one build of each model, nothing compressed
    plain = generate_multi([a, b], None, target="cortex-m4", measure=False)
    assert all(layer.selection.filter is None for p in plain.programs for layer in p.layers)


@pytest.mark.skipif(bool(cortexm.missing_packages(need_qemu=True)),
                    reason="needs the Arm toolchain and QEMU (setup.sh installs them)")
def test_several_models_sharing_the_code_bit_exact_on_emulated_cortex_m4(tmp_path,
                                                                        monkeypatch):
    from codegen.multi import verify_multi
    monkeypatch.delenv("CMSIS_NN_PATH", raising=False)
    a, b = tmp_path / "a.tflite", tmp_path / "b.tflite"
    a.write_bytes(model("code-pw", [], POINTWISE))
    b.write_bytes(model("multi-b", [], [(ConvCase(in_h=8, in_w=8, in_d=64, out_d=48, k_h=1,
                                                  k_w=1), "int4")]))
    reports = verify_multi([a, b], count=2, seed=5, target="cortex-m4", compress=KINDS)
    assert len(reports) == 2 and all(r.ok for r in reports), [r.table() for r in reports]
