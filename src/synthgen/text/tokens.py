"""Offline token counting with tiktoken.

tiktoken downloads its encodings on first use, which fails offline. litellm ships the
``cl100k_base``/``o200k_base``/``p50k_base`` files under ``litellm_core_utils/tokenizers``,
named by the sha1 of their download URL exactly as tiktoken's cache expects, so pointing
``TIKTOKEN_CACHE_DIR`` there makes tiktoken work without network — found via
``importlib.util.find_spec`` so that litellm itself is never imported. A user's own
``TIKTOKEN_CACHE_DIR`` wins.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen.errors import RunError
from synthgen.text.litellm_files import litellm_file

if TYPE_CHECKING:
    import tiktoken

O200K = "o200k_base"
CL100K = "cl100k_base"

# Families tokenised with o200k_base; everything else (gpt-3.5, gpt-4, non-OpenAI) uses
# cl100k_base, the best offline approximation available for models we cannot tokenise.
_O200K_PREFIXES = (
    "gpt-4o",
    "chatgpt-4o",
    "gpt-4.1",
    "gpt-4.5",
    "gpt-5",
    "gpt-oss",
    "o1",
    "o3",
    "o4",
)


def litellm_tokenizers_dir() -> Path | None:
    """The folder of tiktoken files litellm ships, or None when litellm is not installed."""
    path = litellm_file("litellm_core_utils/tokenizers")
    return path if path is not None and path.is_dir() else None


def base_model(model: str) -> str:
    """'openai/ft:gpt-4o-mini-2024-07-18:org::id' -> 'gpt-4o-mini-2024-07-18'."""
    name = model.rsplit("/", 1)[-1].lower()
    if name.startswith("ft:"):
        name = name.split(":")[1]
    return name


def encoding_for(model: str) -> str:
    """The tiktoken encoding name used to count tokens for ``model``."""
    name = base_model(model)
    for prefix in _O200K_PREFIXES:
        # "o1"/"o3" must not match e.g. "o1x": the family name ends or continues with "-".
        if name == prefix or name.startswith(prefix + "-") or name.startswith(prefix + "."):
            return O200K
    return CL100K


@cache
def get_encoding(name: str) -> tiktoken.Encoding:
    """A tiktoken encoding, loaded once, from litellm's offline copy when available."""
    folder = litellm_tokenizers_dir()
    if folder is not None:
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(folder))
    import tiktoken

    try:
        return tiktoken.get_encoding(name)
    except Exception as exc:  # tiktoken raises bare network/IO errors when the cache misses
        where = os.environ.get("TIKTOKEN_CACHE_DIR", "tiktoken's default cache")
        raise RunError(
            f"cannot load tokenizer {name} (looked in {where}): {type(exc).__name__}: {exc}"
        ) from exc


def _encoding_for_model(model: str) -> tiktoken.Encoding:
    return get_encoding(encoding_for(model))


def count_text_tokens(text: str, model: str) -> int:
    """Tokens in ``text``; special-token markers in data count as plain text."""
    return len(_encoding_for_model(model).encode_ordinary(text))


# The assistant fields a model is trained to write.
_TRAINED = ("content", "reasoning_content")


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def count_chat_tokens(messages: Iterable[Mapping[str, Any]], model: str) -> tuple[int, int]:
    """(prompt tokens of the whole chat, tokens of its assistant contents) in one pass.

    The first is the OpenAI cookbook's count: 3 per message, the tokens of every value (+1 per
    ``name``), and 3 priming the reply. ``weight`` is a training flag, not text, and None
    values are absent fields, so neither is counted. The second is what training teaches:
    the assistant's contents and its reasoning (``reasoning_content``, which reasoning
    models' chat templates render before the answer)."""
    enc = _encoding_for_model(model)
    total = 3
    assistant = 0
    for message in messages:
        total += 3
        for key, value in message.items():
            if value is None or key == "weight":
                continue
            n = len(enc.encode_ordinary(_value_text(value)))
            total += n + (1 if key == "name" else 0)
            if key in _TRAINED and message.get("role") == "assistant" and isinstance(value, str):
                assistant += n
    return total, assistant


def count_message_tokens(messages: Iterable[Mapping[str, Any]], model: str) -> int:
    """Prompt tokens of a chat, counted the OpenAI cookbook way (see count_chat_tokens)."""
    return count_chat_tokens(messages, model)[0]


def count_assistant_tokens(messages: Iterable[Mapping[str, Any]], model: str) -> int:
    """Tokens of the assistant contents: what the model is trained to produce."""
    return count_chat_tokens(messages, model)[1]
