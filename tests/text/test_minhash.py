"""MinHash signatures, band keys, exact Jaccard of hash sets and the LSH parameters."""

from __future__ import annotations

import subprocess
import sys
import zlib

import numpy as np
import pytest
from datasketch import MinHash

from synthgen.errors import ConfigError
from synthgen.text.minhash import Sketcher, jaccard, lsh_params, shingle_hashes
from synthgen.text.normalize import shingles


def test_signature_equals_datasketch_minhash_with_the_same_hash() -> None:
    text = "the quick brown fox jumps over the lazy dog and runs far away into the woods"
    sketcher = Sketcher(0.8)
    reference = MinHash(num_perm=128, seed=1, hashfunc=lambda s: zlib.crc32(s.encode()))
    reference.update_batch(shingles(text))
    ours = sketcher.signature(shingle_hashes(text))
    assert np.array_equal(reference.hashvalues[: sketcher.width], ours)


def test_band_key_matrix_matches_band_keys() -> None:
    sketcher = Sketcher(0.5, num_perm=64, seed=7)
    texts = ["alpha beta gamma delta epsilon", "one two three four five six", "x y z"]
    signatures = np.stack([sketcher.signature(shingle_hashes(t)) for t in texts])
    matrix = sketcher.band_key_matrix(signatures)
    assert [list(row) for row in matrix.tolist()] == [sketcher.band_keys(sig) for sig in signatures]


def test_jaccard_of_hash_sets() -> None:
    a = np.array([1, 2, 3, 4], dtype=np.uint32)
    b = np.array([4, 3, 9], dtype=np.uint32)
    assert jaccard(a, b) == pytest.approx(2 / 5)
    assert jaccard(a, a) == 1.0


def test_sketches_are_independent_of_hash_seed() -> None:
    """Signatures and band keys must not depend on PYTHONHASHSEED (the index is run state)."""
    code = (
        "from synthgen.text.minhash import Sketcher, shingle_hashes;"
        "s = Sketcher(0.8);"
        "print(s.band_keys(s.signature(shingle_hashes('a b c d e f g h'))))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": ""},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1


# --- LSH parameters ---------------------------------------------------------------------------


def s_curve(s: float, bands: int, rows: int) -> float:
    return 1 - (1 - s**rows) ** bands


@pytest.mark.parametrize("threshold", [0.5, 0.7, 0.8, 0.9, 0.95])
def test_lsh_params_reach_recall_within_budget(threshold: float) -> None:
    bands, rows = lsh_params(threshold, 128)
    assert bands * rows <= 128
    assert s_curve(threshold, bands, rows) >= 0.99
    assert s_curve(threshold / 2, bands, rows) < 0.5  # and it is selective below


def test_lsh_params_for_the_default_threshold() -> None:
    # datasketch's own optimum (9 bands x 13 rows) catches only ~76% at 0.8.
    assert s_curve(0.8, 9, 13) < 0.8
    assert lsh_params(0.8, 128) == (16, 6)


@pytest.mark.parametrize("threshold", [0.0, -0.1, 1.5, float("nan")])
def test_bad_threshold_is_a_config_error(threshold: float) -> None:
    with pytest.raises(ConfigError, match="threshold"):
        Sketcher(threshold)


@pytest.mark.parametrize(("recall", "num_perm"), [(0.0, 128), (1.0, 128), (0.99, 0)])
def test_bad_recall_or_permutations_are_config_errors(recall: float, num_perm: int) -> None:
    with pytest.raises(ConfigError):
        lsh_params(0.8, num_perm, recall)
