"""FakeTeacher's prompt cache: ``usage.prompt_tokens_details.cached_tokens`` the way OpenAI
reports it (:mod:`synthgen.teacher.prompt_cache`): a prompt of at least 1,024 tokens gets the
longest prefix, in 128-token steps, that an earlier prompt to the same model with the same
response_format shared; the first prompt with a prefix gets none.

Tokens are FakeTeacher's rough ones (four characters each, :func:`rough_tokens`) over the
messages' roles and contents in order. Prefixes are kept as 8-byte digests at each step, the
oldest forgotten past ``capacity`` (providers evict after minutes, too).
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from synthgen.teacher.demo import text_of
from synthgen.teacher.prompt_cache import MIN_CACHED, STEP, cacheable

__all__ = ["PromptCache"]

_CHARS_PER_TOKEN = 4


class PromptCache:
    def __init__(self, capacity: int = 200_000) -> None:
        self._capacity = capacity
        self._seen: dict[bytes, None] = {}  # insertion-ordered: the oldest is evicted first
        self._lock = threading.Lock()

    def cached_tokens(self, body: dict[str, Any], prompt_tokens: int) -> int:
        """What a request with ``body`` has cached, given the prompts seen before; then
        remembers its own prefixes."""
        text = "".join(
            f"{m.get('role')}:{text_of(m.get('content'))}\n"
            for m in body.get("messages") or ()
            if isinstance(m, dict)
        )
        tokens = min(len(text) // _CHARS_PER_TOKEN, prompt_tokens)
        if tokens < MIN_CACHED:
            return 0
        head = json.dumps([body.get("model"), body.get("response_format")], sort_keys=True)
        h = hashlib.blake2b(head.encode(), digest_size=8)
        digests = []
        done = 0
        for boundary in range(MIN_CACHED, tokens + 1, STEP):
            end = boundary * _CHARS_PER_TOKEN
            h.update(text[done:end].encode("utf-8", "surrogatepass"))
            done = end
            digests.append((boundary, h.copy().digest()))
        with self._lock:
            hit = max((b for b, d in digests if d in self._seen), default=0)
            for _, digest in digests:
                self._seen.pop(digest, None)
                self._seen[digest] = None
            while len(self._seen) > self._capacity:
                del self._seen[next(iter(self._seen))]
        return cacheable(hit)

    def stamp(self, payload: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        """``payload`` (a chat.completion object answering ``body``) with OpenAI's
        ``usage.prompt_tokens_details``."""
        usage = payload.get("usage")
        if isinstance(usage, dict):
            cached = self.cached_tokens(body, int(usage.get("prompt_tokens") or 0))
            usage["prompt_tokens_details"] = {"cached_tokens": cached, "audio_tokens": 0}
        return payload
