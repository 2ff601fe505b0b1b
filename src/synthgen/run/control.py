"""A handle on a running job, for whoever started it: the CLI's Ctrl-C, SIGTERM and SIGHUP stop
it through this, without reaching into the engine.

The first stop is graceful (:meth:`RunControl.drain`): nothing more is sent, and the replies
in flight, which are paid for, get a bounded time to land in the response cache, so that the
resumed run does not buy them again. A second one (:meth:`RunControl.interrupt`) stops at
once, abandoning them.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["RunControl"]


class _Interruptible(Protocol):
    @property
    def stop_reason(self) -> str | None: ...

    def drain(self) -> None: ...

    def interrupt(self) -> None: ...


class RunControl:
    def __init__(self) -> None:
        self._engine: _Interruptible | None = None
        self._draining = False

    def attach(self, engine: _Interruptible) -> None:
        """Called by ``run_job`` once its engine exists."""
        self._engine = engine

    def drain(self) -> bool:
        """Stop sending, let the replies in flight land (bounded), then stop, keeping what
        was curated (the same command resumes). False when there is nothing to stop this
        way: no engine yet, or it is already stopping."""
        engine = self._engine
        if engine is None or engine.stop_reason is not None:
            return False
        engine.drain()
        self._draining = True
        return True

    def interrupt(self) -> bool:
        """Stop now: requests in flight are abandoned, curated work is kept. Also ends the
        wait of a :meth:`drain`. False when there is nothing to stop cleanly: no engine yet,
        or it is already stopping at once."""
        engine = self._engine
        if engine is None or (engine.stop_reason is not None and not self._draining):
            return False
        self._draining = False
        engine.interrupt()
        return True
