"""A handle on a running job, for whoever started it: the CLI's Ctrl-C stops it through this,
without reaching into the engine."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RunControl"]


class _Interruptible(Protocol):
    @property
    def stop_reason(self) -> str | None: ...

    def interrupt(self) -> None: ...


class RunControl:
    def __init__(self) -> None:
        self._engine: _Interruptible | None = None

    def attach(self, engine: _Interruptible) -> None:
        """Called by ``run_job`` once its engine exists."""
        self._engine = engine

    def interrupt(self) -> bool:
        """Stop the run soon, keeping what was curated (the same command resumes it). False
        when there is nothing to stop cleanly: no engine yet, or it is already stopping."""
        engine = self._engine
        if engine is None or engine.stop_reason is not None:
            return False
        engine.interrupt()
        return True
