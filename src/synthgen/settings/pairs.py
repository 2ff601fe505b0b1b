"""The settings of preference pairs (``--pairs``, ``--responses``, ``--min-margin``) and the
combinations refused before anything starts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from synthgen.errors import ConfigError
from synthgen.settings.naming import setting

if TYPE_CHECKING:
    from synthgen.settings.model import Settings

__all__ = ["PAIR_FORMATS", "check_pairs"]

# The --format values that can carry a pair: OpenAI's DPO rows, TRL's conversational
# preference rows. The others have no chosen/rejected convention their trainers share.
PAIR_FORMATS = ("openai", "trl")


def check_pairs(s: Settings) -> None:
    """ConfigError, naming the flags, for a pairs setup that cannot make pairs."""
    if not s.pairs:
        for name in ("responses", "min_margin"):
            if getattr(s, name) != type(s).model_fields[name].default:
                raise ConfigError(f"{setting(name)} applies only with {setting('pairs', True)}")
        return
    if not s.judge:
        raise ConfigError(
            f"{setting('pairs', True)} needs {setting('judge')} MODEL to score the responses "
            f"({setting('judge', 'demo')} scores offline)"
        )
    if s.format not in PAIR_FORMATS:
        raise ConfigError(
            f"{setting('pairs', True)} writes {setting('format', 'openai')} (OpenAI DPO rows) or "
            f"{setting('format', 'trl')} (prompt/chosen/rejected); "
            f"{setting('format', s.format)} cannot carry preference pairs"
        )
    for name, on in (
        ("batch", s.batch),
        ("shard", s.shard is not None),
        ("workers", s.workers > 1),
    ):
        if on:
            raise ConfigError(f"{setting('pairs', True)} does not work with {setting(name)} yet")
