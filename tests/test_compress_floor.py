"""benchmarks/compress_bench.py's entropy floor: the least bytes ratio any lossless encoding
reaches on average for random per-channel palettes (pure arithmetic, checked against a
brute-force entropy on small alphabets and against closed forms)."""
import itertools
import math
import sys
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.compress_bench import entropy_floor  # noqa: E402


@pytest.mark.parametrize("alphabet,n,depth", [(5, 2, 3), (6, 3, 2), (4, 4, 4), (7, 2, 1)])
def test_floor_equals_brute_force_entropy(alphabet, n, depth):
    # every set S, then every sequence over S, each with its probability
    prob = Counter()
    sets = list(itertools.combinations(range(alphabet), n))
    for s in sets:
        for x in itertools.product(s, repeat=depth):
            prob[x] += 1 / len(sets) / n ** depth
    h = -sum(p * math.log2(p) for p in prob.values())
    assert entropy_floor(f"pal{n}", depth, alphabet) == pytest.approx(h / 8 / depth, rel=1e-9)


def test_floor_closed_forms():
    # one value: uniform over the alphabet
    assert entropy_floor("pal2", 1) == pytest.approx(math.log2(255) / 8)
    # a long channel: the set's entropy plus log2 n bits a value
    d = 4096
    want = (math.log2(math.comb(255, 4)) + d * 2) / 8 / d
    assert entropy_floor("pal4", d) == pytest.approx(want, rel=1e-6)
    assert entropy_floor("int4", 64) is None and entropy_floor("clu16", 64) is None


def test_floor_shows_which_goals_no_encoding_meets():
    # issue 14's goals: <= 0.30x for 4 values a channel, <= 0.55x for 16
    assert entropy_floor("pal4", 64) > 0.30 and entropy_floor("pal4", 16) > 0.30
    assert entropy_floor("pal4", 256) < 0.30
    assert entropy_floor("pal16", 64) > 0.55 and entropy_floor("pal16", 256) < 0.55
