"""The per-layer memory report (codegen/planning/report.py, the layer table, tinygen.json,
`tinygen --verbose`)."""
from __future__ import annotations

import json

import numpy as np

from codegen import cli
from codegen.planning.memory import _UnionFind, plan_memory
from codegen.planning.report import peak_step, step_memory, union_bytes
from tests.batch import Batch
from tests.test_fold_pad import pad_conv
from tests.test_planning import _call, _inplace, _random_program, _sized_graph


def test_union_bytes():
    assert union_bytes([]) == 0
    assert union_bytes([(0, 10), (10, 20)]) == 20
    assert union_bytes([(0, 10), (5, 20), (30, 31)]) == 21
    assert union_bytes([(0, 100), (10, 20), (50, 60)]) == 100


def test_step_memory_counts_shared_bytes_once():
    # t0 (input) -> A -> t1 -> in place -> t2 -> B (scratch 8) -> t3 (output)
    g = _sized_graph([100, 100, 100, 100], [0], [3])
    calls = [_call(0, "A", [0], [1]), _inplace(1, [1], [2]), _call(2, "B", [2], [3],
                                                                    scratch=[8])]
    plan = plan_memory(g, calls, _UnionFind(), alignment=4)
    steps = step_memory(plan, [c.scratch for c in calls])
    assert [s.op_by_op for s in steps] == [100, 200, 108]
    assert [s.planned for s in steps] == [100, 100, 108]
    assert [s.arena_end for s in steps] == [100, 100, 108]
    assert steps[1].in_place == plan.overlaps and not steps[0].in_place
    assert [b.key for b in steps[2].buffers] in ([("t", 2), ("s", 2, 0)],
                                                 [("s", 2, 0), ("t", 2)])
    assert peak_step(steps).step == 2


def test_step_memory_agrees_with_the_plan_on_random_programs():
    for seed in range(10):
        calls, plan = _random_program(seed)
        steps = step_memory(plan, [c.scratch for c in calls])
        assert max(s.op_by_op for s in steps) == plan.lower_bound
        assert max(s.arena_end for s in steps) <= plan.arena_bytes
        assert all(s.planned <= s.op_by_op and s.planned <= s.arena_end for s in steps)
        assert max(s.planned for s in steps) <= plan.placed_bound


def test_generate_reports_memory_per_layer(tmp_path, capsys):
    rng = np.random.default_rng(5)
    b = Batch()
    pad_conv(b, rng, pads=(1, 1, 1, 1))                                  # folded
    pad_conv(b, rng, pads=(1, 1, 1, 1), opcode="PADV2", zp=3, value=4)   # kept
    model = tmp_path / "m.tflite"
    model.write_bytes(b.build())
    out = tmp_path / "out"
    assert cli.main([str(model), "-o", str(out), "-v"]) == 0
    text = capsys.readouterr().out
    assert "peak: layer 2 (PADV2), 256 bytes live (op-by-op 256)" in text
    assert "memory per layer" in text and "DEPTHWISE_CONV_2D +PAD#0" in text
    man = json.loads((out / "tinygen.json").read_text())
    layers = {layer["index"]: layer for layer in man["layers"]}
    assert sorted(layers) == [1, 2, 3]
    assert layers[1]["folded"] == [dict(index=0, opcode="PAD", padding=dict(
        top=1, bottom=1, left=1, right=1))]
    assert layers[3]["folded"] == []
    mem = layers[2]["memory"]
    assert mem["live_bytes"] == mem["op_by_op_bytes"] == 256 and mem["arena_end"] == 256
    assert [buf["bytes"] for buf in mem["buffers"]] == [8 * 8 * 4]
    assert layers[1]["memory"]["live_bytes"] == 0
    assert cli.main([str(model), "-o", str(out), "--force"]) == 0
    assert "memory per layer" not in capsys.readouterr().out
