"""--semantic-dedup: recall and precision on a labelled paraphrase set, MinHash's recall on
the same set, embedding + index throughput, and the LSH index against brute force.

    python benchmarks/bench_semantic.py [--json FILE]

Needs the extra (pip install 'synthgen[semantic]'). The labelled set is
benchmarks/data/paraphrases.jsonl (make_paraphrases.py): 200 paraphrase pairs, 200 hard
non-paraphrases. A pair counts as flagged when the index, holding ``a``, answers ``b`` with
a match. Throughput: candidates/s of embedding (one at a time, and in reply-sized batches
of 5) plus the check and add against an index of 10,000 entries (brute force) and of 60,000
(LSH); the index side alone at 30k (brute force) and 100k (LSH). The LSH's recall is measured
against brute force on planted pairs at cosine 0.90-0.95. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

DATA = Path(__file__).resolve().parent / "data" / "paraphrases.jsonl"
THRESHOLDS = (0.95, 0.9, 0.85, 0.8, 0.75, 0.7)


def labelled(encoder: Any) -> dict[str, Any]:
    from synthgen.text.index import DedupIndex

    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    a = encoder.encode([r["a"] for r in rows])
    b = encoder.encode([r["b"] for r in rows])
    cos = (a * b).sum(axis=1)
    label = np.array([r["label"] for r in rows]) == 1
    out: dict[str, Any] = {"pairs": int(label.sum()), "non_pairs": int((~label).sum())}
    for t in THRESHOLDS:
        flagged = cos >= t
        tp = int((flagged & label).sum())
        out[f"cosine>={t}"] = {
            "recall": round(tp / label.sum(), 3),
            "precision": round(tp / max(1, flagged.sum()), 3),
            "false_positives": int((flagged & ~label).sum()),
        }
    for t in (0.8, 0.5):
        hits = []
        for r in rows:
            index = DedupIndex(threshold=t)
            index.add("a", r["a"])
            hits.append(index.check(r["b"]) is not None)
        h = np.array(hits)
        out[f"minhash_jaccard>={t}"] = {
            "recall": round(float((h & label).sum() / label.sum()), 3),
            "false_positives": int((h & ~label).sum()),
        }
    out["cosine_paraphrases_median"] = round(float(np.median(cos[label])), 3)
    out["cosine_non_paraphrases_median"] = round(float(np.median(cos[~label])), 3)
    return out


def filled(encoder: Any, size: int, threshold: float, exact_up_to: int) -> Any:
    from synthgen.text.semantic import SemanticIndex

    rng = np.random.default_rng(0)
    index = SemanticIndex(threshold, encoder, exact_up_to=exact_up_to)
    vectors = rng.standard_normal((size, encoder.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    for i, v in enumerate(vectors):
        index.add(f"x{i}", v)
    return index, vectors


def throughput(encoder: Any) -> dict[str, Any]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines()]
    texts = [f"{r['a']}\n{r['b']}" for r in rows][:200]
    out: dict[str, Any] = {}
    for batch in (1, 5, 64):
        start = time.perf_counter()
        for s in range(0, len(texts), batch):
            encoder.encode(texts[s : s + batch])
        out[f"embed_batch_{batch}_per_s"] = round(len(texts) / (time.perf_counter() - start), 1)
    for size, exact in ((10_000, 1 << 30), (60_000, 32_768)):
        index, _ = filled(encoder, size, 0.9, exact)
        start = time.perf_counter()
        for s in range(0, len(texts), 5):  # one reply of 5 candidates: one batch, 5 checks
            vectors = index.embed(texts[s : s + 5])
            for j, v in enumerate(vectors):
                if index.check(v) is None:
                    index.add(f"n{s + j}", v)
        key = f"candidates_per_s_index_{size}_{'lsh' if exact < size else 'brute'}"
        out[key] = round(len(texts) / (time.perf_counter() - start), 1)
    for size, exact in ((30_000, 1 << 30), (100_000, 32_768)):
        index, vectors = filled(encoder, size, 0.9, exact)
        queries = vectors[:500] + 0.01
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        start = time.perf_counter()
        for q in queries:
            index.check(q)
        kind = "lsh" if exact < size else "brute"
        out[f"check_ms_index_{size}_{kind}"] = round(
            1000 * (time.perf_counter() - start) / len(queries), 3
        )
    return out


def lsh_recall(encoder: Any) -> dict[str, Any]:
    """Planted pairs at cosine 0.90-0.95 in an LSH index of 50,000: found as brute force
    finds them?"""
    index, vectors = filled(encoder, 50_000, 0.9, 32_768)
    rng = np.random.default_rng(1)
    found = 0
    trials = 500
    for i in rng.choice(len(vectors), trials, replace=False):
        target = rng.uniform(0.90, 0.95)
        noise = rng.standard_normal(encoder.dim).astype(np.float32)
        noise -= (noise @ vectors[i]) * vectors[i]
        noise /= np.linalg.norm(noise)
        q = target * vectors[i] + np.sqrt(1 - target**2) * noise
        match = index.check(q.astype(np.float32))
        found += match is not None and match.key == f"x{i}"
    return {"planted_pairs": trials, "lsh_recall_vs_brute_force": round(found / trials, 3)}


def split_pairs(encoder: Any) -> dict[str, Any]:
    from synthgen.text.semantic import similar_pairs

    rng = np.random.default_rng(2)
    out = {}
    for n in (4_000, 20_000):
        vectors = rng.standard_normal((n, encoder.dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        start = time.perf_counter()
        similar_pairs(vectors, 0.8)
        out[f"split_pairs_s_{n}"] = round(time.perf_counter() - start, 2)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from synthgen.text.encoder import load_encoder

    start = time.perf_counter()
    encoder = load_encoder()
    result: dict[str, Any] = {"model_load_s": round(time.perf_counter() - start, 2)}
    result["labelled"] = labelled(encoder)
    result["throughput"] = throughput(encoder)
    result["lsh"] = lsh_recall(encoder)
    result["split"] = split_pairs(encoder)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
