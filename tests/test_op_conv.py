"""CONV_2D against TFLM: random and hand-picked shapes, windows, quantizations, activations."""
import zlib

import numpy as np
import pytest

from codegen.errors import UnsupportedError
from codegen.frontend.tflite_writer import ModelWriter
from codegen.generate import generate
from codegen.ops.window import compute_out_size, compute_padding
from tests.conv_models import (ACTS, SAME, VALID, ConvCase, add_layer, build_model,
                               check_cases, multiplier_probe_model, random_case)
from tests.harness import assert_bit_exact

C = ConvCase  # CONV_2D by default


@pytest.mark.parametrize("seed", range(12))
def test_conv_random(seed, tmp_path):
    rng = np.random.default_rng(zlib.crc32(f"conv random {seed}".encode()))
    cases = [random_case(rng, "CONV_2D") for _ in range(8)]
    check_cases(cases, tmp_path, f"conv random {seed}")


EDGE_CASES = {
    "kernels": [
        C(in_h=1, in_w=1, in_d=1, out_d=1, k_h=1, k_w=1),                  # smallest
        C(in_h=7, in_w=9, in_d=8, out_d=16, k_h=1, k_w=1, padding=VALID),  # pointwise
        C(in_h=9, in_w=7, in_d=5, out_d=6, k_h=5, k_w=5),
        C(in_h=8, in_w=6, in_d=3, out_d=5, k_h=3, k_w=1, padding=VALID),   # non-square
        C(in_h=6, in_w=10, in_d=2, out_d=7, k_h=1, k_w=5),
        C(in_h=10, in_w=4, in_d=1, out_d=8, k_h=10, k_w=4, padding=VALID),  # filter = image
        C(in_h=11, in_w=11, in_d=40, out_d=40, k_h=3, k_w=3, stride=(2, 2)),
    ],
    "strides_dilations": [
        C(in_h=9, in_w=11, in_d=4, out_d=3, stride=(3, 3)),
        C(in_h=10, in_w=7, in_d=4, out_d=3, stride=(1, 3), padding=VALID),
        C(in_h=7, in_w=10, in_d=4, out_d=3, stride=(3, 2)),
        C(in_h=9, in_w=9, in_d=3, out_d=5, dilation=(2, 2)),
        C(in_h=9, in_w=9, in_d=3, out_d=5, dilation=(2, 1), padding=VALID),
        C(in_h=12, in_w=11, in_d=3, out_d=5, k_h=5, k_w=3, dilation=(2, 2), stride=(2, 3)),
        C(in_h=8, in_w=8, in_d=3, out_d=4, k_h=2, k_w=2, stride=(2, 2)),  # even kernel, SAME
    ],
    "padding_larger_than_image": [
        C(in_h=1, in_w=1, in_d=5, out_d=6, k_h=5, k_w=5),                 # 1x1 input, 5x5 SAME
        C(in_h=2, in_w=3, in_d=4, out_d=3, k_h=5, k_w=5, dilation=(2, 2)),  # 9x9 window on 2x3
        C(in_h=1, in_w=6, in_d=2, out_d=3, k_h=3, k_w=3, stride=(2, 3)),
        C(in_h=3, in_w=3, in_d=2, out_d=2, k_h=5, k_w=1, stride=(3, 1), dilation=(2, 1)),
        C(in_h=4, in_w=4, in_d=3, out_d=2, k_h=4, k_w=4),                 # odd total padding
    ],
    "batches_and_bias": [
        C(batch=3, in_h=5, in_w=4, in_d=3, out_d=4),
        C(batch=2, in_h=6, in_w=6, in_d=7, out_d=9, stride=(2, 2), bias=False),
        C(batch=2, in_h=3, in_w=5, in_d=1, out_d=1, k_h=1, k_w=3, per_channel=False, bias=False),
        C(batch=4, in_h=1, in_w=1, in_d=16, out_d=10, k_h=1, k_w=1, per_channel=False),
    ],
    "grouped": [
        C(in_h=6, in_w=6, in_d=8, out_d=4, groups=2),
        C(in_h=5, in_w=7, in_d=9, out_d=6, groups=3, k_h=1, k_w=3, stride=(1, 2)),
        C(batch=2, in_h=4, in_w=4, in_d=12, out_d=12, groups=4, per_channel=False,
          padding=VALID),
        C(in_h=5, in_w=5, in_d=6, out_d=6, groups=6, bias=False),          # depthwise-like
    ],
}


@pytest.mark.parametrize("name", list(EDGE_CASES))
def test_conv_edge_cases(name, tmp_path):
    check_cases(EDGE_CASES[name], tmp_path, f"conv edge {name}")


@pytest.mark.parametrize("per_channel", [True, False])
def test_conv_zero_points_and_activations(per_channel, tmp_path):
    """Each fused activation with zero points at the ends of the int8 range."""
    cases = [C(in_h=6, in_w=5, in_d=6, out_d=5, act=act, in_zp=in_zp, out_zp=out_zp,
               per_channel=per_channel, bias=(in_zp != out_zp))
             for act in ACTS
             for in_zp, out_zp in [(-128, -128), (127, 127), (-128, 127), (127, -128)]]
    check_cases(cases, tmp_path, f"conv zero points {per_channel}")


# --- window arithmetic, by hand -----------------------------------------------------------

@pytest.mark.parametrize("padding,size,k,s,d,out,pad", [
    (SAME, 5, 3, 1, 1, 5, 1),
    (SAME, 1, 5, 1, 1, 1, 2),     # padding larger than the image
    (SAME, 4, 4, 1, 1, 4, 1),     # odd total (3): one before, two after
    (SAME, 7, 3, 2, 1, 4, 1),
    (SAME, 6, 3, 2, 1, 3, 0),     # total 1: the zero goes after
    (SAME, 2, 5, 1, 2, 2, 4),     # dilated window of 9
    (VALID, 5, 3, 1, 1, 3, 0),
    (VALID, 10, 3, 3, 1, 3, 0),
    (VALID, 9, 3, 1, 2, 5, 0),
])
def test_window_arithmetic(padding, size, k, s, d, out, pad):
    assert compute_out_size(padding, size, k, s, d) == out
    assert compute_padding(s, d, size, k, out) == pad


# --- what is rejected, and how ------------------------------------------------------------

def _single(case: ConvCase, seed: int = 1, **edit) -> bytes:
    """A one-layer model, with the writer's tensors or options edited before building."""
    m = ModelWriter()
    add_layer(m, np.random.default_rng(seed), case, "0")
    for key, value in edit.items():
        if key == "options":
            m.ops[0].options.update(value)
        elif key == "output_shape":
            m.tensors[m.outputs[0]].shape = value
        elif key == "filter_zero_point":
            t = m.tensors[m.ops[0].inputs[1]]
            t.zero_point = [value] * len(t.zero_point)
    return m.build()


@pytest.mark.parametrize("edit,message", [
    ({"output_shape": (1, 4, 5, 4)}, "does not match the SAME window"),
    ({"filter_zero_point": 3}, "zero point 0"),
    ({"options": {"stride_w": 0}}, "stride 1x0 must be at least 1"),
    ({"options": {"fused_activation_function": 4}}, "fused activation TANH"),
])
def test_conv_rejects(edit, message, tmp_path):
    path = tmp_path / "bad.tflite"
    path.write_bytes(_single(C(), **edit))
    with pytest.raises(UnsupportedError, match=message):
        generate(path, None, target="host")


def test_conv_rejects_uneven_groups(tmp_path):
    # 4 input channels, filter depth 2 -> 2 groups, but 3 filters
    path = tmp_path / "bad.tflite"
    path.write_bytes(build_model([C(in_d=4, out_d=3, groups=2)], seed=1))
    with pytest.raises(UnsupportedError, match="cannot be split evenly over 2 groups"):
        generate(path, None, target="host")


def test_conv_per_tensor_multiplier_is_double_product(tmp_path):
    assert_bit_exact(multiplier_probe_model("CONV_2D", seed=11), tmp_path, count=1)
