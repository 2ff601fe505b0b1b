"""The API process's side of the job runner (service/worker.py): starts it, sends it jobs,
cancels and drains, and hands each message it sends back to the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["WorkerProcess"]

STOP_SECONDS = 30.0  # a drain lands the replies in flight (bounded by the engine) and exits


class WorkerProcess:
    def __init__(
        self, on_message: Callable[[dict[str, Any]], None], on_exit: Callable[[int], None]
    ) -> None:
        self._on_message = on_message
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "synthgen.service.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            limit=64 * 1024 * 1024,
        )
        self._reader = asyncio.create_task(self._read(), name="synthgen-runner-reader")

    @property
    def alive(self) -> bool:
        proc = self._proc
        return proc is not None and proc.returncode is None and proc.stdin is not None

    def send(self, message: dict[str, Any]) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.stdin.is_closing():
            raise RuntimeError("the job runner is not running")
        proc.stdin.write((json.dumps(message, ensure_ascii=False) + "\n").encode())

    async def _read(self) -> None:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        while line := await proc.stdout.readline():
            self._on_message(json.loads(line))
        self._on_exit(await proc.wait())

    async def stop(self) -> None:
        """Drain every job (each reports an outcome), close its stdin, wait for it."""
        proc = self._proc
        if proc is None:
            return
        with contextlib.suppress(RuntimeError, ConnectionError):
            self.send({"op": "drain"})
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), STOP_SECONDS)
        except asyncio.TimeoutError:
            proc.kill()
            await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._reader, 5)
