"""The curation worker process's side (``python -m synthgen.run.curation_child FD``): read
a curator, then batches of replies, each answered with their outcomes in order, until the
engine closes its end of the socket ``FD``. The engine's side, and why, is
:mod:`synthgen.run.curation_worker`.

Frames both ways: an 8-byte little-endian length, then a pickle.
"""

from __future__ import annotations

import pickle
import socket
import struct
import sys
import traceback
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from synthgen.curate.curator import Curator, Outcome
    from synthgen.prompts.plan import RequestPlan

__all__ = ["HEADER", "serve"]

HEADER = struct.Struct("<Q")


class _Asked:
    """The curator's ``asked`` in the worker: the engine says, for each reply, how many
    conversations its request asked for."""

    def __init__(self) -> None:
        self.value: int | None = None

    def __call__(self, plan: RequestPlan) -> int:
        assert self.value is not None
        return self.value


def _curate(curator: Curator, asked: _Asked, item: tuple[Any, ...]) -> Outcome | None:
    from synthgen.teacher import ChatRequest, Completion

    plan, text, finish_reason, reasoning, prompt, limit, verdicts = item
    if curator.done:
        return None  # the engine stops journaling here too
    request = None
    if prompt is not None:
        content, shown = prompt
        request = ChatRequest(messages=({"role": "user", "content": content},), shown=shown)
    asked.value = limit
    curator.asked = None if limit is None else asked
    outcome = curator.curate(
        plan,
        Completion(text=text, finish_reason=finish_reason, reasoning=reasoning),
        request,
        verdicts,
    )
    curator.accepted.clear()  # the engine keeps them; here only the index and counts matter
    return outcome


def _read(sock: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = sock.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _frame(sock: socket.socket) -> Any:
    header = _read(sock, HEADER.size)
    if header is None:
        return None
    body = _read(sock, HEADER.unpack(header)[0])
    return None if body is None else pickle.loads(body)


def serve(fd: int) -> None:
    """The worker's loop: a curator, then batches of replies, each answered with their
    outcomes, until the engine closes its end."""
    import gc

    gc.set_threshold(50_000, 50, 100)  # as the CLI: the index is a large, long-lived heap
    with socket.socket(fileno=fd) as sock:
        curator = _frame(sock)
        if curator is None:
            return
        asked = _Asked()
        while (batch := _frame(sock)) is not None:
            results: list[tuple[str, Any]] = []
            for item in batch:
                try:
                    results.append(("ok", _curate(curator, asked, item)))
                except Exception:
                    results.append(("error", traceback.format_exc()))
                    break
            data = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
            sock.sendall(HEADER.pack(len(data)) + data)


if __name__ == "__main__":
    serve(int(sys.argv[1]))
