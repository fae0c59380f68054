"""--io-in-arena: the model's inputs and outputs planned in the arena, bit-exact."""
from __future__ import annotations

import json

import numpy as np
import pytest

from codegen.cli import main as cli_main
from codegen.frontend import read_tflite
from codegen.generate import generate
from codegen.reference_layers import reference_for
from codegen.toolchain.host import HostModel
from codegen.vectors import random_inputs
from codegen.verify import verify
from tests.harness import SHARED_MODELS
from tests.test_cortexm import needs_qemu
from tests.test_inplace_kernels import _chain_model

KWS = SHARED_MODELS / "mlperf_kws_dscnn.tflite"


def test_io_in_arena_on_the_host(tmp_path):
    model = tmp_path / "chain.tflite"
    model.write_bytes(_chain_model())
    gen = generate(model, tmp_path / "out", io_in_arena=True)
    plan = gen.program.plan
    # the inputs x, y, z and the output live in the arena; every layer now writes in place
    # (ADD over a model input, TANH into the model output)
    assert sorted(plan.io_offsets) == [("input", 0), ("input", 1), ("input", 2), ("output", 0)]
    assert len(plan.overlaps) == 7
    assert gen.memory["ram"]["io_buffers"] == 0
    man = json.loads((tmp_path / "out" / "tinygen.json").read_text())
    assert man["io_in_arena"] and man["io_pointers"] == dict(input="chain_input",
                                                             output="chain_output")
    assert [i["arena_offset"] for i in man["inputs"]] == [plan.io_offsets[("input", k)]
                                                          for k in range(3)]
    header = (tmp_path / "out" / "chain.h").read_text()
    assert "void *chain_input(unsigned index);" in header

    host = HostModel(tmp_path / "out", tmp_path / "build")
    ref = reference_for(model.read_bytes(), gen.program)
    rng = np.random.default_rng(3)
    for _ in range(3):
        xs = random_inputs(read_tflite(model.read_bytes()), rng)
        got = host.invoke(xs)              # through chain_input(i) / chain_output(i)
        want = ref.run(xs)
        assert all(np.array_equal(np.asarray(g).reshape(-1), np.asarray(w).reshape(-1))
                   for g, w in zip(got, want))
        io, host._io = host._io, None      # buffers of the caller's own still work
        try:
            assert all(np.array_equal(a, b) for a, b in zip(host.invoke(xs), got))
        finally:
            host._io = io
    # out-of-range positions give NULL
    assert host.ffi.cast("void *", host._io[0](3)) == host.ffi.NULL


@pytest.mark.skipif(not KWS.is_file(), reason=f"shared model {KWS} not found")
def test_verify_io_in_arena_on_a_shared_model():
    r = verify(KWS, count=2, io_in_arena=True)
    assert r.ok and r.arena_bytes == 16000   # the 490-byte input fits in the arena's gaps


@needs_qemu
def test_io_in_arena_on_the_emulated_cortex_m4(tmp_path):
    model = tmp_path / "chain.tflite"
    model.write_bytes(_chain_model())
    r = verify(model, count=2, target="cortex-m4", io_in_arena=True, work_dir=tmp_path / "k")
    assert r.ok
    main = next((tmp_path / "k").rglob("tinygen_verify_main.c")).read_text()
    assert "chain_input(0u)" in main and "verify_out_" not in main


def test_io_in_arena_is_for_one_model(tmp_path, capsys):
    model = tmp_path / "chain.tflite"
    model.write_bytes(_chain_model())
    assert cli_main([str(model), str(model), "-o", str(tmp_path / "o"), "--io-in-arena"]) != 0
    assert "--io-in-arena is for one model" in capsys.readouterr().err
