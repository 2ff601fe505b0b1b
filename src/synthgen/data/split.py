"""Balanced, leakage-free train/eval split.

Examples whose shingle Jaccard (the same text, normalisation and shingles as ``dedup``) is at
least ``cluster_threshold`` are joined into clusters (union-find over LSH candidates, each
confirmed with the exact Jaccard), and every cluster goes wholly to train or wholly to eval.
Per stratum (category), the eval share is a subset sum of cluster sizes: exact when clusters
are singletons, otherwise the closest achievable, with the overall eval size kept as close to
``round(eval_fraction * N)`` as the clusters allow. ``neighbours`` (``--semantic-dedup``: pairs
of paraphrases by their embeddings) joins more examples into clusters.
"""

from __future__ import annotations

import bisect
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthgen.errors import ConfigError
from synthgen.text.minhash import Sketcher, shingle_hashes
from synthgen.text.normalize import normalize

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from synthgen.data.example import Example

__all__ = ["Neighbours", "cluster_texts", "clusters", "split"]

# Texts -> the (i, j) pairs among them that must share a cluster besides the near duplicates.
Neighbours = Callable[[Sequence[str]], Iterable[tuple[int, int]]]

# Leakage is worse than a wasted comparison: more permutations and a higher recall than dedup.
_CLUSTER_PERM = 256
_CLUSTER_RECALL = 0.999
# In an LSH bucket with more members than this (hundreds of similar or templated texts), each
# member is compared with its _BUCKET_WINDOW predecessors only, not all: the pairs stay linear
# in the bucket size, and a real cluster stays connected through the overlapping windows.
_BUCKET_WINDOW = 64
_JACCARD_CHUNK = 16384  # candidate pairs per vectorised exact-Jaccard step
# Eval sizes per stratum considered on each side of its target, and DP states kept.
_OPTIONS_PER_SIDE = 3
_MAX_STATES = 512


def clusters(
    examples: Sequence[Example], threshold: float = 0.5, neighbours: Neighbours | None = None
) -> list[list[int]]:
    """Indices of ``examples`` grouped so that two examples whose ``dedup_text`` shingle Jaccard
    is ≥ ``threshold``, or that ``neighbours`` pairs, share a group (transitively). Groups are
    sorted and listed in order of their first member."""
    return cluster_texts([example.dedup_text() for example in examples], threshold, neighbours)


def cluster_texts(
    texts: Sequence[str], threshold: float = 0.5, neighbours: Neighbours | None = None
) -> list[list[int]]:
    """``clusters`` over plain texts."""
    import numpy as np

    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"cluster threshold must be in (0, 1], got {threshold}")
    n = len(texts)
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x: int, y: int) -> None:
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    # Texts equal after normalisation join at once; LSH only sees one of each.
    first: dict[str, int] = {}
    reps: list[int] = []
    for i, text in enumerate(texts):
        j = first.setdefault(normalize(text), i)
        if j == i:
            reps.append(i)
        else:
            union(j, i)

    if len(reps) >= 2:
        sketcher = Sketcher(threshold, num_perm=_CLUSTER_PERM, seed=1, recall=_CLUSTER_RECALL)
        hashes = [shingle_hashes(texts[i]) for i in reps]
        signatures = np.stack([sketcher.signature(h) for h in hashes])
        pairs = _candidate_pairs(signatures, sketcher)
        similar = pairs[_pair_jaccard(hashes, pairs) >= threshold]
        for a, b in similar.tolist():
            union(reps[a], reps[b])
    if neighbours is not None and n >= 2:
        for a, b in neighbours(texts):
            union(a, b)

    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


def _candidate_pairs(signatures: NDArray[np.uint32], sketcher: Sketcher) -> NDArray[np.int64]:
    """Unique (i, j), i < j, of rows sharing at least one LSH band, sorted."""
    import numpy as np

    n = signatures.shape[0]
    keys = sketcher.band_key_matrix(signatures)
    codes = np.empty(0, dtype=np.int64)  # i * n + j
    for band in range(sketcher.bands):
        order = np.argsort(keys[:, band], kind="stable")  # equal keys keep ascending rows
        sorted_keys = keys[order, band]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
        sizes = np.diff(np.r_[starts, n])
        found = []
        pairs_of_two = starts[sizes == 2]  # the common case, done without a Python loop
        found.append(order[pairs_of_two].astype(np.int64) * n + order[pairs_of_two + 1])
        for start, size in zip(starts[sizes > 2].tolist(), sizes[sizes > 2].tolist(), strict=True):
            members = order[start : start + size].astype(np.int64)
            for offset in range(1, min(size, _BUCKET_WINDOW + 1)):
                found.append(members[:-offset] * n + members[offset:])
        # Both runs are sorted: a stable sort (timsort) merges them in linear time.
        codes = _distinct(np.concatenate((codes, _distinct(np.concatenate(found)))), merge=True)
    return np.stack((codes // n, codes % n), axis=1)


def _distinct(values: NDArray[np.int64], merge: bool = False) -> NDArray[np.int64]:
    """Sorted distinct values. np.unique's hash path (numpy 2.x) took seconds per band on
    millions of pair codes; a plain sort takes a twentieth of that."""
    import numpy as np

    values = np.sort(values, kind="stable" if merge else None)
    if values.size == 0:
        return values
    result: NDArray[np.int64] = values[np.r_[True, values[1:] != values[:-1]]]
    return result


def _pair_jaccard(sets: list[NDArray[np.uint32]], pairs: NDArray[np.int64]) -> NDArray[np.float64]:
    """Exact Jaccard of many pairs of sorted, unique hash arrays, vectorised: every element of
    the smaller set is looked up in one sorted array of (set, hash) keys. Templated short
    texts can make millions of candidate pairs; a Python loop over them took minutes."""
    import numpy as np

    sizes = np.array([s.size for s in sets], dtype=np.int64)
    flat = np.concatenate(sets).astype(np.int64)
    offsets = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    # Sets are sorted and laid out in order, so these keys come out sorted.
    keys = (np.repeat(np.arange(len(sets), dtype=np.int64), sizes) << 32) | flat
    out = np.empty(len(pairs), dtype=np.float64)
    for start in range(0, len(pairs), _JACCARD_CHUNK):
        a, b = pairs[start : start + _JACCARD_CHUNK].T
        small = np.where(sizes[a] <= sizes[b], a, b)
        big = np.where(sizes[a] <= sizes[b], b, a)
        counts = sizes[small]
        owner = np.repeat(np.arange(len(small)), counts)
        first = np.repeat(np.cumsum(counts) - counts, counts)
        elements = flat[np.repeat(offsets[small], counts) + np.arange(counts.sum()) - first]
        probes = (big[owner] << 32) | elements
        found = keys[np.minimum(np.searchsorted(keys, probes), len(keys) - 1)] == probes
        inter = np.bincount(owner, weights=found, minlength=len(small))
        out[start : start + len(small)] = inter / (sizes[a] + sizes[b] - inter)
    return out


@dataclass
class _Stratum:
    name: str
    clusters: list[list[int]] = field(default_factory=list)
    size: int = 0
    target: int = 0
    # Cluster sizes in binary-decomposed pieces (size, multiplicity), and reach[k]: the bitset of
    # eval sizes achievable with the first k pieces.
    pieces: list[tuple[int, int]] = field(default_factory=list)
    reach: list[int] = field(default_factory=list)

    def prepare(self) -> None:
        counts = Counter(len(c) for c in self.clusters)
        for size in sorted(counts):
            left, chunk = counts[size], 1
            while left:
                take = min(chunk, left)
                self.pieces.append((size, take))
                left -= take
                chunk *= 2
        self.reach = [1]
        for size, mult in self.pieces:
            self.reach.append(self.reach[-1] | (self.reach[-1] << (size * mult)))

    def options(self) -> list[int]:
        """Achievable eval sizes nearest the target on each side, plus the extremes."""
        bits = bin(self.reach[-1])[:1:-1]
        achievable = [i for i, bit in enumerate(bits) if bit == "1"]
        at = bisect.bisect_left(achievable, self.target)
        near = achievable[max(0, at - _OPTIONS_PER_SIDE) : at + _OPTIONS_PER_SIDE]
        return sorted({achievable[0], achievable[-1], *near})

    def pick(self, wanted: int, rng: random.Random) -> list[int]:
        """Members of clusters whose sizes sum to ``wanted`` (achievable), chosen at random."""
        # A greedy pass in random order takes clusters of every size in about their share;
        # the exact subset-sum walk below is only the fallback when it leaves a gap.
        order = self.clusters[:]
        rng.shuffle(order)
        chosen: list[int] = []
        for cluster in order:
            if len(chosen) + len(cluster) <= wanted:
                chosen.extend(cluster)
        if len(chosen) == wanted:
            return chosen
        return self._pick_exact(wanted, rng)

    def _pick_exact(self, wanted: int, rng: random.Random) -> list[int]:
        per_size: Counter[int] = Counter()
        left = wanted
        for k in range(len(self.pieces) - 1, -1, -1):
            size, mult = self.pieces[k]
            weight = size * mult
            skip_ok = (self.reach[k] >> left) & 1
            take_ok = left >= weight and (self.reach[k] >> (left - weight)) & 1
            if take_ok and (not skip_ok or rng.random() < 0.5):
                per_size[size] += mult
                left -= weight
        by_size: dict[int, list[list[int]]] = {}
        for cluster in self.clusters:
            by_size.setdefault(len(cluster), []).append(cluster)
        chosen: list[int] = []
        for size in sorted(per_size):
            for cluster in rng.sample(by_size[size], per_size[size]):
                chosen.extend(cluster)
        return chosen


def _category(example: Example, balance_by: str | None) -> str:
    if balance_by is None:
        return ""
    value = example.metadata.get(balance_by)
    return "" if value is None else str(value)


def _strata(
    examples: Sequence[Example], groups: list[list[int]], balance_by: str | None
) -> list[_Stratum]:
    """Clusters grouped by category; a cluster that spans categories goes with its majority."""
    strata: dict[str, _Stratum] = {}
    for cluster in groups:
        counts = Counter(_category(examples[i], balance_by) for i in cluster)
        top = max(counts.values())
        name = min(c for c, k in counts.items() if k == top)
        stratum = strata.setdefault(name, _Stratum(name))
        stratum.clusters.append(cluster)
        stratum.size += len(cluster)
    return [strata[name] for name in sorted(strata)]


def _apportion(total: int, strata: list[_Stratum], n: int) -> None:
    """Largest-remainder shares of ``total`` proportional to stratum sizes (sum exact)."""
    for s in strata:
        s.target = total * s.size // n
    left = total - sum(s.target for s in strata)
    by_remainder = sorted(strata, key=lambda s: (-(total * s.size % n), s.name))
    for s in by_remainder[:left]:
        s.target += 1


def _choose_sizes(strata: list[_Stratum], total: int, n: int, need_both: bool) -> list[int]:
    """Eval size per stratum: overall closest to ``total`` (with train and eval both non-empty
    when ``need_both``), then least summed deviation from the stratum targets."""
    layers: list[dict[int, tuple[int, int, int]]] = []  # total -> (deviation, previous, value)
    states: dict[int, int] = {0: 0}
    partial = 0
    for stratum in strata:
        options = stratum.options()
        partial += stratum.target
        layer: dict[int, tuple[int, int, int]] = {}
        for so_far in sorted(states):
            deviation = states[so_far]
            for value in options:
                cost = deviation + abs(value - stratum.target)
                best = layer.get(so_far + value)
                if best is None or cost < best[0]:
                    layer[so_far + value] = (cost, so_far, value)
        if len(layer) > _MAX_STATES:
            kept = sorted(layer, key=lambda t: (abs(t - partial), t))[:_MAX_STATES]
            layer = {t: layer[t] for t in sorted(kept)}
        layers.append(layer)
        states = {t: entry[0] for t, entry in layer.items()}

    def rank(t: int) -> tuple[bool, int, int, int]:
        return (need_both and not 1 <= t <= n - 1, abs(t - total), states[t], t)

    at = min(states, key=rank)
    sizes: list[int] = []
    for layer in reversed(layers):
        _, at, value = layer[at]
        sizes.append(value)
    return sizes[::-1]


def split(
    examples: Sequence[Example],
    *,
    eval_fraction: float = 0.1,
    seed: int = 0,
    balance_by: str | None = None,
    cluster_threshold: float = 0.5,
    neighbours: Neighbours | None = None,
) -> tuple[list[Example], list[Example]]:
    """Split into (train, eval), deterministic under ``seed``.

    Eval holds about ``round(eval_fraction * N)`` examples, proportionally from every
    ``metadata[balance_by]`` category (missing: the category ""). Near-duplicate clusters
    (Jaccard ≥ ``cluster_threshold``, joined by the pairs of ``neighbours``) never straddle
    the two sides. With N ≥ 2 both sides are non-empty, unless every example lies in one
    cluster (then eval is empty). Both lists come in a seeded random order.
    """
    if not 0.0 < eval_fraction < 1.0:
        raise ConfigError(f"eval fraction must be between 0 and 1 (exclusive), got {eval_fraction}")
    if not 0.0 < cluster_threshold <= 1.0:
        raise ConfigError(f"cluster threshold must be in (0, 1], got {cluster_threshold}")
    n = len(examples)
    if n == 0:
        return [], []
    rng = random.Random(seed)
    groups = clusters(examples, cluster_threshold, neighbours)
    strata = _strata(examples, groups, balance_by)
    total = min(math.floor(eval_fraction * n + 0.5), n - 1)
    if n >= 2:
        total = max(total, 1)
    _apportion(total, strata, n)
    for stratum in strata:
        stratum.prepare()
    sizes = _choose_sizes(strata, total, n, need_both=len(groups) >= 2)
    in_eval = [False] * n
    for stratum, size in zip(strata, sizes, strict=True):
        for i in stratum.pick(size, rng):
            in_eval[i] = True
    train = [example for example, e in zip(examples, in_eval, strict=True) if not e]
    evals = [example for example, e in zip(examples, in_eval, strict=True) if e]
    rng.shuffle(train)
    rng.shuffle(evals)
    return train, evals
