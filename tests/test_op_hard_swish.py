"""HARD_SWISH (int8 lookup table) against TFLM over all 256 inputs and many quantizations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.ops.hard_swish import (hard_swish_params, hard_swish_table, rdbpot16, sdhm16,
                                         srdhm16)
from tests.harness import assert_bit_exact
from tests.lut_helpers import (assert_same_table, every_int8_value, random_quant, tflm_table,
                               unary_model)


def test_tables_match_tflm_over_all_inputs():
    """Scales over five decades each: both signs of the reluish exponent, output
    exponents down to -25 (where the int16 rounding shift has quirks of its own)."""
    rng = np.random.default_rng(zlib.crc32(b"hard_swish tables"))
    checked = 0
    while checked < 150:
        in_q, out_q = random_quant(rng, -3.5, 1.0), random_quant(rng, -3.5, 1.0)
        if hard_swish_params(in_q[0], out_q[0])["output_exponent"] > 0:
            continue  # TFLM refuses these (see test_rejects_large_output_multiplier)
        if checked < 4:
            in_q = (in_q[0], [-128, 127, 0, -1][checked])
        assert_same_table(hard_swish_table(*in_q, *out_q), tflm_table("HARD_SWISH", in_q, out_q),
                          f"HARD_SWISH in {in_q} out {out_q}")
        checked += 1


CASES = [
    # shape, (in scale, in zp), (out scale, out zp): MobileNetV3-like ranges
    ((1, 16, 16, 1), (0.0235, -3), (0.0151, -105)),
    ((1, 5, 7, 24), (0.1, 40), (0.07, -128)),
    ((2, 3, 11), (0.05, -128), (0.03, 127)),
    ((257,), (0.5, 0), (0.4, -90)),
]


@pytest.mark.parametrize("case", CASES, ids=[str(c) for c in CASES])
def test_hard_swish_end_to_end(case, tmp_path):
    shape, in_q, out_q = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    runs = [[every_int8_value(shape)], [rng.integers(-128, 128, shape).astype(np.int8)]]
    assert_bit_exact(unary_model("HARD_SWISH", shape, in_q, out_q), tmp_path, inputs=runs)


def test_rejects_large_output_multiplier(tmp_path):
    """in_scale / (128 * out_scale) > 1: TFLM's Prepare fails, tinygen says why."""
    with pytest.raises(UnsupportedError, match="must not exceed 1"):
        assert_bit_exact(unary_model("HARD_SWISH", (4,), (1.0, 0), (0.001, 0)), tmp_path)


def test_int16_helpers():
    assert srdhm16(-32768, -32768) == 32767
    assert srdhm16(16384, 16384) == 8192
    assert srdhm16(3, 16384) == 2            # 1.5 rounds up
    assert srdhm16(-3, 16384) == -1          # -1.5 also rounds up (gemmlowp's nudge)
    assert sdhm16(3, 16384) == 1             # 1.5 truncates toward zero
    assert sdhm16(-3, 16384) == -1
    assert rdbpot16(5, 1) == 3 and rdbpot16(-5, 1) == -3
    assert rdbpot16(100, 20) == 1            # gemmlowp's int16 mask wraps for exponents >= 16
