"""What a generic entropy coding would save on the shared models' filters (issue 14's
optional encoding, decoded per layer into a scratch buffer; not built: this measures whether
it would pay).

For every int8 filter of CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED in each model of
../shared/models: its bytes; what `--compress auto` would store it as by its values alone
(`codegen.encoding.choose`: before the code, cycle and RAM checks of the generator); its
order-0 entropy (Shannon's bound for any code of its bytes taken one at a time); and a
canonical Huffman code of its bytes (one code per tensor, lengths at most MAX_BITS, the
stream plus what a decoder needs: counts per length and the bytes in code order).  Also the
largest filter: the scratch such a decoder would need in RAM.

    python3 benchmarks/entropy_bench.py [--json FILE] [--markdown benchmarks/ENTROPY.md]

`benchmarks/ENTROPY.md` is written by it, never by hand.
"""
from __future__ import annotations

import argparse
import heapq
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.m4_bench import SHARED  # noqa: E402
from codegen.compression import FILTER_AXIS, has_filter  # noqa: E402
from codegen.encoding import KINDS, choose  # noqa: E402
from codegen.frontend.tflite_reader import read_tflite  # noqa: E402

MAX_BITS = 15       # longest code


@dataclass(frozen=True)
class HuffmanCode:
    """A coded array: the stream and what the decoder needs."""

    counts: np.ndarray     # uint16 [MAX_BITS + 1]: codes of each length (counts[0] = 0)
    symbols: np.ndarray    # uint8 [distinct bytes]: in code order (length, then value)
    stream: np.ndarray     # uint8: the codes, most significant bit first
    n: int                 # bytes coded

    @property
    def nbytes(self) -> int:
        """What it stores: stream, symbols and counts."""
        return int(self.stream.size + self.symbols.size + 2 * self.counts.size)


def _huffman_lengths(freq: np.ndarray) -> np.ndarray:
    """Huffman's code lengths for these frequencies (0 for absent symbols; a lone symbol
    gets 1 bit).  Ties broken by symbol order: the same input, the same lengths."""
    present = [int(s) for s in np.flatnonzero(freq)]
    lengths = np.zeros(freq.size, np.int64)
    if len(present) == 1:
        lengths[present[0]] = 1
        return lengths
    # heap of (weight, order, members); merging adds a bit to every member
    heap = [(int(freq[s]), k, [s]) for k, s in enumerate(present)]
    heapq.heapify(heap)
    order = len(heap)
    while len(heap) > 1:
        w1, _, m1 = heapq.heappop(heap)
        w2, _, m2 = heapq.heappop(heap)
        for s in m1 + m2:
            lengths[s] += 1
        heapq.heappush(heap, (w1 + w2, order, m1 + m2))
        order += 1
    return lengths


def code_lengths(data: np.ndarray, max_bits: int = MAX_BITS) -> np.ndarray:
    """Code length of each byte value 0..255 (0: absent) for `data`, at most `max_bits`:
    Huffman's on the byte frequencies, the frequencies halved (rounding up, absent stay
    absent) until no code is longer."""
    freq = np.bincount(np.asarray(data).view(np.uint8).reshape(-1), minlength=256)
    freq = freq.astype(np.int64)
    while True:
        lengths = _huffman_lengths(freq)
        if lengths.max(initial=0) <= max_bits:
            return lengths
        freq = np.where(freq > 0, (freq + 1) // 2, 0)


def _canonical(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, tuple[int, int]]]:
    """counts per length, the symbols in code order, and {symbol: (code, length)}."""
    counts = np.bincount(lengths[lengths > 0], minlength=MAX_BITS + 1).astype(np.uint16)
    counts[0] = 0
    symbols = sorted((int(lengths[s]), s) for s in range(lengths.size) if lengths[s])
    codes: dict[int, tuple[int, int]] = {}
    code, prev = 0, 0
    for length, s in symbols:
        code <<= length - prev
        prev = length
        codes[s] = (code, length)
        code += 1
    return counts, np.array([s for _, s in symbols], np.uint8), codes


def encode(data: np.ndarray, max_bits: int = MAX_BITS) -> HuffmanCode:
    """`data`'s bytes coded canonically (code_lengths)."""
    raw = np.asarray(data).view(np.uint8).reshape(-1)
    counts, symbols, codes = _canonical(code_lengths(raw, max_bits))
    table_code = np.zeros(256, np.uint64)
    table_len = np.zeros(256, np.int64)
    for s, (c, n) in codes.items():
        table_code[s], table_len[s] = c, n
    lens = table_len[raw]
    total = int(lens.sum())
    bits = np.zeros(total, np.uint8)
    ends = np.cumsum(lens)
    for b in range(max_bits):          # bit b of each code, counted from its last
        has = lens > b
        pos = ends[has] - 1 - b
        bits[pos] = ((table_code[raw[has]] >> np.uint64(b)) & np.uint64(1)).astype(np.uint8)
    return HuffmanCode(counts=counts, symbols=symbols, stream=np.packbits(bits), n=int(raw.size))


def decode(code: HuffmanCode) -> np.ndarray:
    """The bytes back (uint8), as a canonical decoder reads them: per value, one bit at a
    time until the code read so far is one of its length's codes (the round trip checks
    every measured code)."""
    bits = np.unpackbits(code.stream)
    out = np.zeros(code.n, np.uint8)
    pos = 0
    for i in range(code.n):
        c = first = index = 0
        for length in range(1, MAX_BITS + 1):
            c |= int(bits[pos])
            pos += 1
            count = int(code.counts[length])
            if c - first < count:
                out[i] = code.symbols[index + c - first]
                break
            index += count
            first = (first + count) << 1
            c <<= 1
        else:
            raise ValueError("not a code of this table")
    return out


def order0_bytes(data: np.ndarray) -> float:
    """Shannon's bound, in bytes, for coding these bytes one at a time."""
    freq = np.bincount(np.asarray(data).view(np.uint8).reshape(-1), minlength=256)
    p = freq[freq > 0] / freq.sum()
    return float(-(freq[freq > 0] * np.log2(p)).sum() / 8)


def measure(path: Path) -> dict:
    graph = read_tflite(path.read_bytes())
    row = dict(model=path.stem, filters=0, int8=0, auto=0, order0=0.0, huffman=0, largest=0)
    # (each filter tensor once, however many operators read it)
    for index, op in sorted({op.inputs[1]: op for op in graph.ops
                             if has_filter(op, graph)}.items()):
        w = graph.tensors[index].data
        if w.dtype != np.int8:
            continue
        code = encode(w)
        if not np.array_equal(decode(code), w.view(np.uint8).reshape(-1)):
            raise AssertionError(f"{path.stem}: tensor {index} does not round-trip")
        axis = FILTER_AXIS[op.opcode]
        enc = choose(w, axis, KINDS) if w.ndim == (2 if op.opcode == "FULLY_CONNECTED"
                                                    else 4) else None
        row["filters"] += 1
        row["int8"] += w.size
        row["auto"] += enc.after if enc is not None else w.size
        row["order0"] += order0_bytes(w)
        row["huffman"] += min(code.nbytes, w.size)
        row["largest"] = max(row["largest"], w.size)
    return row


def table(rows: list[dict]) -> list[str]:
    lines = ["| model | filters | int8 bytes | auto's encodings (values alone) | order-0 entropy "
             "| Huffman per tensor | largest filter (scratch) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        n = max(r["int8"], 1)
        lines.append(f"| {r['model']} | {r['filters']} | {r['int8']:,} | "
                     f"{r['auto']:,} ({r['auto'] / n:.3f}x) | "
                     f"{round(r['order0']):,} ({r['order0'] / n:.3f}x) | "
                     f"{r['huffman']:,} ({r['huffman'] / n:.3f}x) | {r['largest']:,} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", metavar="FILE", help="write the rows as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="write the table as Markdown")
    args = ap.parse_args(argv)
    rows = [measure(p) for p in sorted((SHARED / "models").glob("*.tflite"))]
    rows = [r for r in rows if r["filters"]]
    print("\n".join(table(rows)))
    print(json.dumps(rows))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    if args.markdown:
        argv_text = " ".join(sys.argv[1:] if argv is None else argv)
        Path(args.markdown).write_text("\n".join([
            "# Entropy coding of the shared models' filters", "",
            f"Written by `python3 benchmarks/entropy_bench.py {argv_text}` (do not edit: "
            "rerun it). " + " ".join(__doc__.split("\n\n")[1].split()), "",
            *table(rows), ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
