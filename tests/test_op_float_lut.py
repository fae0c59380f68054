"""ELU, EXP, LOG, GELU (int8 lookup tables built in float32) against their reference kernels:
TFLM's ELU; LiteRT's BUILTIN_REF for EXP, LOG and GELU (TFLM has no int8 kernel for them)."""
import zlib

import numpy as np
import pytest

from codegen.frontend import read_tflite
from codegen.ops.float_lut import libm_f32, float_lut_table, float_table
from tests.harness import assert_bit_exact
from tests.lut_helpers import (ALL_INT8, assert_same_table, every_int8_value, random_quant,
                               tflm_table, unary_model)

OPS = [("ELU", None), ("EXP", None), ("LOG", None), ("GELU", {"approximate": False}),
       ("GELU", {"approximate": True})]


def litert_table(opcode, in_q, out_q, options=None) -> np.ndarray:
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    it = Interpreter(model_content=unary_model(opcode, (1, 256), in_q, out_q, options),
                     experimental_op_resolver_type=OpResolverType.BUILTIN_REF)
    it.allocate_tensors()
    it.set_tensor(it.get_input_details()[0]["index"], ALL_INT8.reshape(1, 256))
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"]).reshape(-1)


def our_table(opcode, in_q, out_q, options=None) -> np.ndarray:
    g = read_tflite(unary_model(opcode, (1, 256), in_q, out_q, options))
    op = g.ops[0]
    return float_lut_table(op, g, g.tensors[op.inputs[0]], g.tensors[op.outputs[0]])[0]


@pytest.mark.parametrize("opcode,options", OPS, ids=[f"{o}-{p}" for o, p in OPS])
def test_tables_match_the_reference_over_all_inputs(opcode, options):
    """All 256 inputs of 60 random quantizations (zero points at both ends first), scales
    over three and a half decades: overflowing EXP, LOG of negatives (NaN), tiny outputs."""
    rng = np.random.default_rng(zlib.crc32(f"{opcode} {options}".encode()))
    ref = tflm_table if opcode == "ELU" else litert_table
    for k in range(60):
        in_q, out_q = random_quant(rng, -3.0, 0.5), random_quant(rng, -3.5, 0.5)
        if k < 4:
            in_q = (in_q[0], [-128, 127, 0, -1][k])
            out_q = (out_q[0], [127, -128, -1, 0][k])
        assert_same_table(our_table(opcode, in_q, out_q, options),
                          ref(opcode, in_q, out_q, options), f"{opcode} in {in_q} out {out_q}")


def test_elu_is_exp_minus_one_not_expm1():
    """Near zero TFLM's expf(x) - 1 loses the bits expm1f keeps: the table must follow."""
    in_q, out_q = (3e-6, 10), (2e-6, -3)
    want = tflm_table("ELU", in_q, out_q)
    assert_same_table(our_table("ELU", in_q, out_q), want, "ELU")
    expm1f = libm_f32("expm1f")
    other = float_table(lambda x: expm1f(x) if x < 0 else x, *in_q, *out_q)
    assert not np.array_equal(other, want), "the case must tell the two apart"


CASES = [
    # opcode, options, shape, input (scale, zp), output (scale, zp)
    ("ELU", None, (1, 8, 8, 3), (0.05, 10), (0.04, 30)),
    ("EXP", None, (2, 33), (0.02, -5), (0.011, -128)),
    ("LOG", None, (1, 4, 4, 16), (0.1, -128), (0.03, 60)),
    ("GELU", {"approximate": False}, (3, 17), (0.04, 0), (0.025, -40)),
    ("GELU", {"approximate": True}, (1, 5, 7, 2), (0.08, 20), (0.05, -70)),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_end_to_end(case, tmp_path):
    opcode, options, shape, in_q, out_q = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    runs = [[every_int8_value(shape)], [rng.integers(-128, 128, shape).astype(np.int8)]]
    result = assert_bit_exact(unary_model(opcode, shape, in_q, out_q, options), tmp_path,
                              inputs=runs)
    (layer,) = result.gen.program.layers
    assert layer.call.kernel == "tg_lookup_s8_s8"
    if opcode == "ELU":
        assert layer.call.oracle == "tflm"
    else:   # judged layer by layer, this layer by LiteRT
        assert layer.call.oracle == "litert" and f"({opcode})" in result.reference
