"""Files litellm ships (the price table, tiktoken encodings), found without importing it:
``import litellm`` costs ≈5 s and 170 MB and may stall on a network fetch."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def litellm_file(relative: str) -> Path | None:
    """``relative`` inside litellm's installed package, or None when it is not there."""
    try:
        spec = importlib.util.find_spec("litellm")
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    roots = [Path(p) for p in spec.submodule_search_locations or []]
    if not roots and spec.origin:
        roots = [Path(spec.origin).parent]
    for root in roots:
        path = root / relative
        if path.exists():
            return path
    return None
