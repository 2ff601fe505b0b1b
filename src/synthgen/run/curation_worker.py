"""Curation in a worker process: the second core curates replies while the event loop keeps
the requests moving.

At a few hundred requests in flight the engine's one thread is the limit, and curation
(parsing, filters, language, dedup) is most of its work; a thread would not help, as
nearly all of it holds the GIL. So the worker is a process of its own
(``python -m synthgen.run.curation_child FD``) with a copy of the curator taken when the run
starts (its dedup index, quotas and filters, the journal already replayed into it). It
curates the replies it is sent strictly in the order they are sent, which is request order,
so the outcomes are the ones curating on the loop would give and a re-run is byte-identical;
the engine journals them in that order and mirrors the accepted examples into its own
curator. The worker's copy is thrown away at the end.

The loop never waits on the worker: replies go out through a buffered stream, outcomes come
back through the loop's selector (a reader task), and ``wake`` tells the engine that some
are ready. Taken in order, each with its reply, by :meth:`CurationWorker.take`. A worker
that dies (or cannot start) is not fatal: what it accepted goes into the engine's dedup
index and curation goes on on the loop, with a warning. A curation that raises in the worker
fails the run with a :class:`RunError`, as it would on the loop (what was journaled stays:
the same command resumes).

Used by default for large runs at high concurrency on a machine with a second core (see
:func:`wanted`); ``SYNTHGEN_CURATION_WORKER=on|off`` forces the choice (benchmarks, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import os
import pickle
import socket
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from synthgen.errors import RunError
from synthgen.run.curation_child import HEADER

if TYPE_CHECKING:
    from synthgen.curate.curator import Curator, Outcome
    from synthgen.prompts.plan import RequestPlan
    from synthgen.teacher import ChatRequest

__all__ = ["MODE_ENV", "CurationWorker", "wanted"]

CHILD = "synthgen.run.curation_child"  # the module the worker process runs

MODE_ENV = "SYNTHGEN_CURATION_WORKER"
# Below these a run is over before a worker (≈ 0.5 s to start) pays for itself.
MIN_CONCURRENCY = 32
MIN_REQUESTS = 500


log = logging.getLogger("synthgen")


class _Judged(Protocol):
    @property
    def verdicts(self) -> dict[int, tuple[int | None, str]]: ...


class AnswerLike(Protocol):
    """What the worker reads of the engine's ``Answer``."""

    @property
    def plan(self) -> RequestPlan: ...
    @property
    def request(self) -> ChatRequest | None: ...
    @property
    def result(self) -> object: ...
    @property
    def judged(self) -> _Judged | None: ...


A = TypeVar("A", bound=AnswerLike)


def wanted(*, concurrency: int, requests: int, judge: bool) -> bool:
    """Whether a run should curate in a worker process: at ``concurrency`` >= 32 for >= 500
    requests, with a second core, on a POSIX system, without a judge (which reads the dedup
    index of the engine's curator while requests are in flight); ``SYNTHGEN_CURATION_WORKER``
    ``on`` or ``off`` overrides the sizes (not the judge, nor the platform)."""
    mode = os.environ.get(MODE_ENV, "auto").strip().lower()
    if mode in ("off", "0", "no", "false") or judge or os.name != "posix":
        return False
    if mode in ("on", "1", "yes", "true"):
        return True
    return _cores() >= 2 and concurrency >= MIN_CONCURRENCY and requests >= MIN_REQUESTS


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class _Entry(Generic[A]):
    """A reply (or a failure, or a skipped request) waiting for its turn to be journaled."""

    __slots__ = ("answer", "done", "local", "outcome")

    def __init__(self, answer: A, done: bool) -> None:
        self.answer = answer
        self.done = done  # nothing more to wait for
        self.outcome: Outcome | None = None
        self.local = False  # the worker is gone: the engine curates it on the loop


class CurationWorker(Generic[A]):
    """A curator in a child process, fed replies in order. Create it inside the running loop,
    after the curator holds everything restored from the journal."""

    def __init__(
        self, curator: Curator, blob: bytes, *, first: int, wake: Callable[[], None]
    ) -> None:
        self._curator = curator
        self._base = len(curator.accepted)  # accepted before the worker took over
        self._next = first
        self._wake = wake
        self._asked = curator.asked
        self._lost = False  # the worker process is gone; _reindexed: its work is known here
        self._reindexed = False
        self._order: deque[_Entry[A]] = deque()
        self._waiting: deque[_Entry[A]] = deque()  # sent to the worker, outcome not back
        self._outbox: list[tuple[Any, ...]] = []
        self._error: RunError | None = None
        self._closed = False
        self._writer: asyncio.StreamWriter | None = None
        self._sock: socket.socket | None = None  # ours, until the stream owns it
        self._proc: subprocess.Popen[bytes] | None = None
        self._flush_soon = False
        self._skip = 0  # outcomes still to come for replies discard() dropped
        self._moved = asyncio.Event()  # set whenever outcomes come back or the worker fails
        self._loop = asyncio.get_running_loop()
        self._task = self._loop.create_task(self._serve(blob))

    @classmethod
    def start(
        cls, curator: Curator, *, first: int, wake: Callable[[], None]
    ) -> CurationWorker[A] | None:
        """A worker curating from ordinal ``first`` on, with a copy of ``curator`` as it is
        now; ``wake`` is called (on the loop) whenever outcomes are ready or the worker
        failed. None when the curator cannot be copied to another process (a check that
        is not plain data): then curation stays on the loop."""
        from synthgen.text.index import DedupIndex

        if type(curator.index) is not DedupIndex:
            return None  # a shared index (Redis) is the engine's to talk to
        if curator.semantic is not None:
            # Embedding is most of the work then, and torch already spreads it over the
            # cores; a worker would load a second model (seconds, ~100 MB) for little.
            return None
        # What the worker needs to curate, not the accepted examples themselves; ``asked``
        # (a closure over the job) is answered here, per reply.
        clone = copy.copy(curator)
        clone.accepted = []
        clone.asked = None
        try:
            blob = pickle.dumps(clone, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:  # pickling raises whatever the object's reducer raises
            return None
        return cls(curator, blob, first=first, wake=wake)

    @property
    def pending(self) -> int:
        """Answers fed and not yet taken."""
        return len(self._order)

    def feed(self, ready: dict[int, A]) -> None:
        """Take the answers of ``ready`` that are next in order (removing them), and send the
        replies among them to the worker."""
        while self._next in ready:
            answer = ready.pop(self._next)
            self._next += 1
            is_reply = _is_reply(answer)
            entry = _Entry(answer, done=not is_reply or self._lost)
            entry.local = is_reply and self._lost
            self._order.append(entry)
            if is_reply and not self._lost:
                self._waiting.append(entry)
                self._outbox.append(self._item(answer))
        if self._outbox and not self._flush_soon:
            self._flush_soon = True  # one frame for all the replies of this loop iteration
            self._loop.call_soon(self._flush)

    def take(self) -> list[tuple[A, Outcome | None]]:
        """The answers whose turn has come, in order, each with its outcome. None: a failure,
        a skipped request, a reply the worker did not curate because every quota was full,
        or one to curate on the loop because the worker process is gone (its outcomes so
        far are then in the curator's dedup index). Raises :class:`RunError` when a
        curation raised in the worker."""
        out: list[tuple[A, Outcome | None]] = []
        while self._order and self._order[0].done:
            if self._order[0].local and not self._reindexed:
                if out:  # the worker's outcomes before it are to be counted first
                    self._loop.call_soon(self._wake)
                    break
                self._reindex()
            entry = self._order.popleft()
            out.append((entry.answer, entry.outcome))
        if self._error is not None and self._order:
            raise self._error
        return out

    async def finished(self) -> None:
        """Wait until every reply fed so far has its outcome (or the worker is gone or
        failed): a run that stops still journals the replies that had arrived before, as
        curating on the loop would have."""
        while self._waiting and self._error is None:
            self._moved.clear()
            await self._moved.wait()

    def discard(self) -> None:
        """Drop every answer fed and not taken: curating one of them stopped the run."""
        self._skip += len(self._waiting) - len(self._outbox)  # sent: their outcomes will come
        self._waiting.clear()
        self._order.clear()
        self._outbox = []

    async def aclose(self) -> None:
        """Stop the worker (what it had not curated is dropped) and wait for it to exit."""
        self._closed = True
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError, RuntimeError):  # a worker that died first
                await self._writer.wait_closed()
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            await asyncio.to_thread(self._proc.wait)

    # -- the parent's side of the pipe ----------------------------------------------------
    def _item(self, answer: AnswerLike) -> tuple[Any, ...]:
        """What the worker needs of a reply: plain data, cheap to pickle."""
        completion: Any = answer.result
        request = answer.request
        prompt = None if request is None else (request.messages[-1]["content"], request.shown)
        judged = answer.judged
        asked = None if self._asked is None else self._asked(answer.plan)
        verdicts = None if judged is None else judged.verdicts
        return (
            answer.plan,
            completion.text,
            completion.finish_reason,
            completion.reasoning,
            prompt,
            asked,
            verdicts,
        )

    def _flush(self) -> None:
        self._flush_soon = False
        if self._writer is None or not self._outbox or self._closed:
            return  # not connected yet: sent once it is
        data = pickle.dumps(self._outbox, protocol=pickle.HIGHEST_PROTOCOL)
        self._outbox = []
        self._writer.write(HEADER.pack(len(data)) + data)

    async def _serve(self, blob: bytes) -> None:
        """Start the worker, hand it the curator, then read its outcomes until closed."""
        try:
            self._sock, theirs = socket.socketpair()
            with theirs:
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", CHILD, str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),),
                    stdin=subprocess.DEVNULL,
                    env=_child_env(),
                    start_new_session=True,  # Ctrl-C is the engine's to handle, not the worker's
                )
            reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
            self._sock = None
            self._writer.write(HEADER.pack(len(blob)) + blob)
            del blob
            self._flush()
            while True:
                (size,) = HEADER.unpack(await reader.readexactly(HEADER.size))
                self._receive(pickle.loads(await reader.readexactly(size)))
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the worker died, or could not start
            self._lose(e)

    def _receive(self, results: Sequence[tuple[str, Any]]) -> None:
        for kind, value in results:
            if self._skip:
                self._skip -= 1
                continue
            if kind == "error":
                self._fail(RunError(f"curation failed in the worker process:\n{value}"))
                return
            entry = self._waiting.popleft()
            entry.outcome, entry.done = value, True
        self._moved.set()
        self._wake()

    def _lose(self, error: Exception) -> None:
        """The worker process is gone: what it had not answered is curated on the loop."""
        if self._closed:
            return
        code = None if self._proc is None else self._proc.poll()
        log.warning(
            "the curation worker process stopped (exit code %s: %r); curating on the "
            "event loop from here",
            code,
            error,
        )
        self._lost = True
        self._outbox = []
        while self._waiting:
            entry = self._waiting.popleft()
            entry.done = entry.local = True
        self._moved.set()
        self._wake()

    def _reindex(self) -> None:
        """Index what the worker accepted into the curator's own dedup index, under the keys
        curating on the loop gives them (request:n), so curation goes on there."""
        self._reindexed = True
        for example in self._curator.accepted[self._base :]:
            key = f"{example.metadata['request']}:{example.metadata['n']}"
            self._curator.index.add(key, example.dedup_text(), tag="accepted")

    def _fail(self, error: RunError) -> None:
        if self._error is None and not self._closed:
            self._error = error
            self._moved.set()
            self._wake()


def _child_env() -> dict[str, str]:
    """The environment, with the folder synthgen is imported from first on the path (it may
    not be on the default one: a source checkout, a test run)."""
    # .../synthgen/run/curation_worker.py: the folder that holds the synthgen package
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root if not path else os.pathsep.join((root, path))}


def _is_reply(answer: AnswerLike) -> bool:
    from synthgen.teacher import Completion

    return isinstance(answer.result, Completion)
