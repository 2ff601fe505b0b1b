"""``--batch``: the teacher as a provider's batch API (half the price, replies within 24 h).

``complete()`` parks its request. Once requests stop arriving for a moment (``gather``
seconds), or ``max_lines`` are parked, the parked requests are written as one JSONL file
(``custom_id``: the request's response cache key), uploaded, recorded in the run's batch log
(:mod:`synthgen.teacher.batch_state`) and submitted as one batch, which is then polled every
``poll`` seconds. When it ends, its output and error files are read and every parked request
gets its reply, or the error it would have got live: a line that failed, or that an expired
batch never ran, raises a retryable error, and the runner's retry puts it in the next batch.

A request whose custom_id is in a batch the log recorded (an earlier run, killed while it
waited) waits for that batch instead of being submitted again; replies of a batch that no
request is waiting for (yet) are kept until one asks. Nothing here times out: a batch takes
as long as the provider takes, so the engine neither hedges nor times out a request in
batch mode (run.wiring).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError, TeacherError, TeacherFatalError, write_error
from synthgen.teacher.base import ChatRequest, Completion, OpenAICompatible, request_body
from synthgen.teacher.batch_api import BatchAPI, BatchStatus
from synthgen.teacher.batch_lines import Outcome, input_line, read_results
from synthgen.teacher.batch_state import BATCH_LOG, FINAL, BatchEntry, BatchLog
from synthgen.teacher.request_id import request_id

__all__ = ["BatchStats", "BatchTeacher"]

log = logging.getLogger("synthgen")

# OpenAI's cap on requests in one batch.
MAX_LINES = 50_000
# Failed polls in a row (the endpoint unreachable) before the waiting requests are told;
# their retries wait for the same batch again.
_POLL_ERRORS = 5


@dataclass
class BatchStats:
    """What batch mode did in this run, for report.json's run section."""

    submitted: int = 0  # batches created by this run
    resumed: int = 0  # batches an earlier run submitted, waited for by this one
    requests: int = 0  # requests written into the batches this run submitted
    polls: int = 0
    failed_lines: int = 0  # lines that came back failed or were never run (retried)
    expired: int = 0  # batches that expired before all their lines ran

    def section(self) -> dict[str, int]:
        return {
            "submitted": self.submitted,
            "resumed": self.resumed,
            "requests": self.requests,
            "polls": self.polls,
            "failed_lines": self.failed_lines,
            "expired": self.expired,
        }


class BatchTeacher(OpenAICompatible):
    def __init__(
        self,
        model: str,
        *,
        state_dir: Path,
        base_url: str | None = None,
        api_key: str | None = None,
        poll: float = 30.0,
        gather: float | None = None,
        max_lines: int = MAX_LINES,
        timeout: float = 120.0,
    ) -> None:
        """``poll``: seconds between polls of a batch; ``gather``: how long no new request
        may arrive before the parked ones are submitted (default: 2 s, or ``poll`` if
        shorter); ``timeout``: of each call to the files and batches API."""
        super().__init__(model, base_url)
        self.poll = poll
        self.gather = min(2.0, poll) if gather is None else gather
        self.max_lines = max_lines
        self.stats = BatchStats()
        self._api = BatchAPI(
            self._base_url, api_key, model=model, where=self._where, timeout=timeout
        )
        self._log = BatchLog(state_dir / BATCH_LOG)
        self._recorded: dict[str, BatchEntry] | None = None  # custom_id -> its latest batch
        self._earlier: set[str] = set()  # files of batches an earlier run submitted
        self._waiters: dict[str, list[asyncio.Future[Completion]]] = {}
        self._parked: dict[str, dict[str, Any]] = {}  # custom_id -> body, for the next batch
        self._kept: dict[str, Completion] = {}  # replies no request was waiting for
        self._following: dict[str, asyncio.Task[None]] = {}  # by the batch's file id
        self._flusher: asyncio.Task[None] | None = None
        self._arrived = 0.0

    async def complete(self, request: ChatRequest) -> Completion:
        body = request_body(self.model, request, response_format=request.response_format)
        custom_id = _custom_id(request_id.get(), body)
        kept = self._kept.pop(custom_id, None)
        if kept is not None:
            return kept
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(custom_id, [])
        waiters.append(future)
        if len(waiters) == 1:
            entry = self._entries().get(custom_id)
            if entry is not None:
                self._follow(entry)
            else:
                self._park(custom_id, body)
        try:
            return await future
        finally:
            if not future.done() or future.cancelled():
                self._forget(custom_id, future)

    def already_submitted(self, request: ChatRequest) -> bool:
        """Whether ``request`` is in a batch an earlier run submitted: waiting for it sends
        nothing new (the runner does not count it as sent again)."""
        body = request_body(self.model, request, response_format=request.response_format)
        custom_id = _custom_id(request_id.get(), body)
        entry = self._entries().get(custom_id)
        return entry is not None and entry.file in self._earlier

    def _forget(self, custom_id: str, future: asyncio.Future[Completion]) -> None:
        """A request that stopped waiting (the run ended, or is stopping)."""
        waiters = self._waiters.get(custom_id, [])
        if future in waiters:
            waiters.remove(future)
        if not waiters:
            self._waiters.pop(custom_id, None)
            self._parked.pop(custom_id, None)  # not submitted yet: it never will be

    def _entries(self) -> dict[str, BatchEntry]:
        if self._recorded is None:
            self._recorded = {}
            for entry in self._log.read():
                self._earlier.add(entry.file)
                self._recorded.update(dict.fromkeys(entry.ids, entry))
        return self._recorded

    # -- submitting ---------------------------------------------------------------------

    def _park(self, custom_id: str, body: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        self._parked[custom_id] = body
        self._arrived = loop.time()
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._parked:
            while len(self._parked) < self.max_lines:
                wait = self._arrived + self.gather - loop.time()
                if wait <= 0:
                    break
                await asyncio.sleep(wait)
            ids = list(itertools.islice(self._parked, self.max_lines))
            bodies = [self._parked.pop(i) for i in ids]
            try:
                await self._submit(ids, bodies)
            except Exception as e:
                self._fail(ids, e)

    async def _submit(self, ids: list[str], bodies: list[dict[str, Any]]) -> None:
        data = b"".join(input_line(i, b) for i, b in zip(ids, bodies, strict=True))
        file_id = await self._api.upload(data)
        entry = self._record(lambda: self._log.submitting(file_id, ids))
        self._entries().update(dict.fromkeys(ids, entry))
        batch_id = await self._api.create(file_id)
        self._created(entry, batch_id, len(ids))
        self._follow(entry)

    def _created(self, entry: BatchEntry, batch_id: str, lines: int) -> None:
        self._record(lambda: self._log.submitted(entry, batch_id))
        self.stats.submitted += 1
        self.stats.requests += lines
        log.info("submitted batch %s: %d requests", batch_id, lines)

    def _record(self, write: Any) -> Any:
        try:
            return write()
        except OSError as e:
            raise write_error(self._log.path, e) from None

    # -- waiting ------------------------------------------------------------------------

    def _follow(self, entry: BatchEntry) -> None:
        task = self._following.get(entry.file)
        if task is None or task.done():
            if entry.file in self._earlier and task is None:
                self.stats.resumed += 1
            task = asyncio.get_running_loop().create_task(self._wait_for(entry))
            self._following[entry.file] = task

    async def _wait_for(self, entry: BatchEntry) -> None:
        try:
            if entry.batch is None:  # recorded, but killed before the provider answered
                found = await self._api.find(entry.file)
                if found is not None:
                    self._record(lambda: self._log.submitted(entry, found))
                else:
                    self._created(entry, await self._api.create(entry.file), len(entry.ids))
            status = await self._poll(entry)
            results = await self._results(status)
        except Exception as e:
            # The entry stays recorded: a retry of these requests waits for it again.
            self._fail([i for i in entry.ids if self._entries().get(i) is entry], e)
            return
        if not entry.finished:
            self._record(lambda: self._log.ended(entry, status.status))
        self._deliver(entry, status, results)

    async def _poll(self, entry: BatchEntry) -> BatchStatus:
        assert entry.batch is not None
        errors = 0
        while True:
            try:
                status = await self._api.retrieve(entry.batch)
            except TeacherFatalError:
                raise
            except TeacherError as e:
                errors += 1
                if errors >= _POLL_ERRORS:
                    raise
                log.info("polling batch %s: %s; trying again in %gs", entry.batch, e, self.poll)
                await asyncio.sleep(self.poll)
                continue
            errors = 0
            self.stats.polls += 1
            if status.status in FINAL:
                return status
            await asyncio.sleep(self.poll)

    async def _results(self, status: BatchStatus) -> dict[str, Outcome]:
        results: dict[str, Outcome] = {}
        for file_id in (status.error_file, status.output_file):  # replies win over errors
            if file_id:
                data = await self._api.content(file_id)
                results.update(read_results(data, model=self.model, where=self._where))
        return results

    def _deliver(self, entry: BatchEntry, status: BatchStatus, results: dict[str, Outcome]) -> None:
        if status.status == "expired":
            self.stats.expired += 1
            log.warning("batch %s expired; the requests it did not run go in the next", entry.batch)
        recorded = self._entries()
        for custom_id in entry.ids:
            if recorded.get(custom_id) is entry:
                del recorded[custom_id]  # from now on, a request for it goes in a new batch
            outcome = results.get(custom_id) or self._missing(entry, status)
            if isinstance(outcome, TeacherError):
                self.stats.failed_lines += 1
            waiters = self._waiters.pop(custom_id, [])
            if not waiters and isinstance(outcome, Completion):
                self._kept[custom_id] = outcome
            for future in waiters:
                if future.done():
                    continue
                if isinstance(outcome, Completion):
                    future.set_result(outcome)
                else:
                    future.set_exception(outcome)

    def _missing(self, entry: BatchEntry, status: BatchStatus) -> TeacherError:
        """What a request the batch has no line for gets."""
        if status.status in ("failed", "cancelled"):
            why = f": {status.message}" if status.message else ""
            return TeacherError(
                f"batch {entry.batch} at {self._where} was {status.status}{why}",
                kind="bad_request",
            )
        return TeacherError(f"batch {entry.batch} returned no result for a request", kind="server")

    def _fail(self, ids: list[str], error: BaseException) -> None:
        for custom_id in ids:
            for future in self._waiters.pop(custom_id, []):
                if not future.done():
                    future.set_exception(error)

    async def aclose(self) -> None:
        tasks = [t for t in (self._flusher, *self._following.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._api.aclose()


def _custom_id(tag: str, body: dict[str, Any]) -> str:
    """The request's cache key; without one (``#<ordinal>``: no cache), a digest of the
    ordinal and the request, as stable across re-runs as the key."""
    if tag and not tag.startswith("#"):
        return tag
    text = tag + json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "r" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def batch_teacher(
    model: str,
    *,
    state_dir: Path,
    base_url: str | None,
    api_key: str | None,
    poll: float,
    timeout: float,
) -> BatchTeacher:
    """The batch teacher for ``model``; ConfigError where synthgen has no batch API for it
    (models routed through litellm: their batch APIs need a bucket or another protocol)."""
    import os

    from synthgen.settings.naming import setting
    from synthgen.teacher import check_credentials, route

    if route(model, base_url) == "litellm":
        raise ConfigError(
            f"{setting('batch')} works with OpenAI and OpenAI-compatible batch APIs (OpenAI, "
            f"Azure OpenAI's /openai/v1 through {setting('base_url')}, vLLM and other "
            f"servers with /v1/files and /v1/batches), not with {model!r} through litellm"
        )
    if api_key is None:
        check_credentials(model, base_url)
    return BatchTeacher(
        model.removeprefix("openai/") if base_url is None else model,
        state_dir=state_dir,
        base_url=base_url,
        api_key=api_key or os.environ.get("OPENAI_API_KEY"),
        poll=poll,
        timeout=timeout,
    )
