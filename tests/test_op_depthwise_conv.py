"""DEPTHWISE_CONV_2D against TFLM: random and hand-picked shapes, windows, depth
multipliers, quantizations and activations."""
import zlib
from functools import partial

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from tests.conv_models import (ACTS, VALID, ConvCase, add_layer, check_cases,
                               multiplier_probe_model, random_case)
from tests.harness import assert_bit_exact

D = partial(ConvCase, "DEPTHWISE_CONV_2D")


@pytest.mark.parametrize("seed", range(12))
def test_depthwise_random(seed, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"depthwise random {seed}".encode()))
    cases = [random_case(rng, "DEPTHWISE_CONV_2D") for _ in range(8)]
    check_cases(cases, tmp_path, f"depthwise random {seed}")


EDGE_CASES = {
    "kernels": [
        D(in_h=1, in_w=1, in_d=1, out_d=1, k_h=1, k_w=1),
        D(in_h=7, in_w=9, in_d=8, out_d=8, k_h=1, k_w=1, padding=VALID),
        D(in_h=9, in_w=7, in_d=5, out_d=5, k_h=5, k_w=5),
        D(in_h=8, in_w=6, in_d=3, out_d=3, k_h=3, k_w=1, padding=VALID),
        D(in_h=6, in_w=10, in_d=2, out_d=2, k_h=1, k_w=5),
        D(in_h=10, in_w=4, in_d=4, out_d=4, k_h=10, k_w=4, padding=VALID),  # filter = image
        D(in_h=12, in_w=12, in_d=40, out_d=40, stride=(2, 2)),
    ],
    "depth_multipliers": [
        D(in_h=5, in_w=5, in_d=1, out_d=3),
        D(in_h=6, in_w=5, in_d=4, out_d=8, stride=(2, 1)),
        D(in_h=5, in_w=7, in_d=13, out_d=39, k_h=3, k_w=5, padding=VALID),
        D(in_h=4, in_w=4, in_d=2, out_d=6, per_channel=False, bias=False),
        D(batch=2, in_h=3, in_w=3, in_d=3, out_d=6, k_h=5, k_w=5, dilation=(2, 2)),
    ],
    "strides_dilations": [
        D(in_h=9, in_w=11, in_d=4, out_d=4, stride=(3, 3)),
        D(in_h=10, in_w=7, in_d=4, out_d=4, stride=(1, 3), padding=VALID),
        D(in_h=7, in_w=10, in_d=4, out_d=8, stride=(3, 2)),
        D(in_h=9, in_w=9, in_d=3, out_d=3, dilation=(2, 2)),
        D(in_h=9, in_w=9, in_d=3, out_d=3, dilation=(1, 2), padding=VALID),
        D(in_h=12, in_w=11, in_d=3, out_d=6, k_h=5, k_w=3, dilation=(2, 2), stride=(2, 3)),
        D(in_h=8, in_w=8, in_d=3, out_d=3, k_h=2, k_w=2, stride=(2, 2)),
    ],
    "padding_larger_than_image": [
        D(in_h=1, in_w=1, in_d=5, out_d=10, k_h=5, k_w=5),
        D(in_h=2, in_w=3, in_d=4, out_d=4, k_h=5, k_w=5, dilation=(2, 2)),
        D(in_h=1, in_w=6, in_d=2, out_d=2, stride=(2, 3)),
        D(in_h=3, in_w=3, in_d=2, out_d=4, k_h=5, k_w=1, stride=(3, 1), dilation=(2, 1)),
        D(in_h=4, in_w=4, in_d=3, out_d=3, k_h=4, k_w=4),
    ],
    "batches_and_bias": [
        D(batch=3, in_h=5, in_w=4, in_d=3, out_d=3),
        D(batch=2, in_h=6, in_w=6, in_d=7, out_d=14, stride=(2, 2), bias=False),
        D(batch=2, in_h=3, in_w=5, in_d=1, out_d=1, k_h=1, k_w=3, per_channel=False,
          bias=False),
        D(batch=4, in_h=1, in_w=1, in_d=16, out_d=16, k_h=1, k_w=1, per_channel=False),
    ],
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_depthwise_edge_cases(name, tmp_path):
    check_cases(EDGE_CASES[name], tmp_path, f"depthwise edge {name}")


@pytest.mark.parametrize("per_channel", [True, False])
def test_depthwise_zero_points_and_activations(per_channel, tmp_path):
    """Each fused activation with zero points at the ends of the int8 range."""
    cases = [D(in_h=6, in_w=5, in_d=6, out_d=12, act=act, in_zp=in_zp, out_zp=out_zp,
               per_channel=per_channel, bias=(in_zp != out_zp))
             for act in ACTS
             for in_zp, out_zp in [(-128, -128), (127, 127), (-128, 127), (127, -128)]]
    check_cases(cases, tmp_path, f"depthwise zero points {per_channel}")


def _single(case: ConvCase, **options) -> bytes:
    m = ModelWriter()
    add_layer(m, np.random.default_rng(1), case, "0")
    m.ops[0].options.update(options)
    return m.build()


@pytest.mark.parametrize("options,message", [
    ({"depth_multiplier": 1}, "depth_multiplier 1 with input depth 3 does not give"),
    ({"depth_multiplier": 0}, "depth_multiplier 0"),
    ({"dilation_h_factor": 0}, "dilation 0x1 must be at least 1"),
    ({"padding": 2}, "padding type 2 is not supported"),
])
def test_depthwise_rejects(options, message, tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(_single(D(in_d=3, out_d=6), **options))
    with pytest.raises(UnsupportedError, match=message):
        generate(path, None, target="host")


def test_depthwise_accepts_listed_missing_bias(tmp_path):
    """A -1 bias input (which TFLM's depthwise Prepare cannot handle) lowers as no bias."""
    m = ModelWriter()
    add_layer(m, np.random.default_rng(1), D(in_d=3, out_d=3, bias=False), "0")
    m.ops[0].inputs.append(-1)
    path = tmp_path / "m.tflite"
    path.write_bytes(m.build())
    gen = generate(path, None, target="host")
    assert gen.program.layers[0].call.params["quant"]["bias"].text == "NULL"


def test_depthwise_per_tensor_multiplier_is_double_product(tmp_path):
    assert_bit_exact(multiplier_probe_model("DEPTHWISE_CONV_2D", seed=12), tmp_path, count=1)
