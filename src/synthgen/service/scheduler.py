"""Running jobs: at most ``max_jobs`` at once, the rest queued in submission order; every job
through the one engine (``prepare`` + ``run_job``, in the job runner process), in its own
folder, so that a job the server was running when it died resumes from its journal and the
response cache.

API keys sent with jobs live here and in the runner, in memory, and nowhere else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from synthgen.service.live import LiveJob, Signal
from synthgen.service.worker_client import WorkerProcess

if TYPE_CHECKING:
    from synthgen.service.files import DataDir
    from synthgen.service.metrics import ServiceMetrics
    from synthgen.service.store import JobRecord, JobStore

__all__ = ["Scheduler"]

log = logging.getLogger("synthgen.service")

# The outcome of a job that could not be handed to the runner: it goes back to the queue.
REQUEUE: dict[str, Any] = {"state": "queued"}
FLUSH_SECONDS = 1.0  # how often live counts are written to the store
POLL_SECONDS = 2.0  # how often the queue is looked at without a wake-up (other processes)


class Scheduler:
    def __init__(
        self, store: JobStore, data: DataDir, *, max_jobs: int, metrics: ServiceMetrics
    ) -> None:
        self.store = store
        self.data = data
        self.max_jobs = max_jobs
        self.metrics = metrics
        self.changed = Signal()  # any job moved: event streams look again
        self.live: dict[str, LiveJob] = {}
        self._keys: dict[str, str] = {}
        self._outcomes: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.runner = WorkerProcess(self._message, self._runner_exit)

    # ---- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the job runner, resume what was running when the server last stopped, then
        start taking jobs."""
        await self.runner.start()
        for record in await asyncio.to_thread(self.store.jobs_in, "running"):
            self._launch(record)
        self._tasks = [
            asyncio.create_task(self._pump(), name="synthgen-queue"),
            asyncio.create_task(self._flusher(), name="synthgen-flush"),
        ]

    async def stop(self) -> None:
        """Stop taking jobs; the runner drains the running ones (the replies in flight land
        in the cache), which stay ``running`` in the store, to resume at the next start."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        await self.runner.stop()
        running = [j.task for j in self.live.values() if j.task is not None]
        if running:
            await asyncio.wait(running, timeout=10)
        await self._flush()

    def wake(self) -> None:
        """A job was queued or one ended: look at the queue now."""
        self._wake.set()

    def remember_key(self, job_id: str, api_key: str) -> None:
        self._keys[job_id] = api_key

    # ---- control --------------------------------------------------------------------------

    async def cancel(self, job_id: str) -> None:
        """Cancel a queued or running job (this process's); a finished one is left as is."""
        now = time.time()
        done = await asyncio.to_thread(
            self.store.update, job_id, only_from=("queued",), state="cancelled", finished_at=now
        )
        if done:
            self._keys.pop(job_id, None)
            self.changed.fire()
            return
        job = self.live.get(job_id)
        if job is None or job.task is None:
            return
        job.cancel_requested = True
        with contextlib.suppress(RuntimeError, ConnectionError):
            self.runner.send({"op": "cancel", "id": job_id})
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(job.task), timeout=30)

    # ---- the queue ------------------------------------------------------------------------

    async def _pump(self) -> None:
        while not self._stopping:
            while self.runner.alive and len(self.live) < self.max_jobs:
                record = await asyncio.to_thread(self.store.claim_next, time.time())
                if record is None:
                    break
                self._launch(record)
                self.changed.fire()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    def _launch(self, record: JobRecord) -> None:
        job = LiveJob(record.id, n=int(record.settings.get("n", 0)))
        self.live[record.id] = job
        outcome = asyncio.get_running_loop().create_future()
        self._outcomes[record.id] = outcome
        message = {
            "op": "run",
            "id": record.id,
            "settings": {**record.settings, "out_dir": str(self.data.out_dir(record.id))},
            "seeds": str(self.data.seeds_path(record.id, record.seeds)),
            "key": self._keys.get(record.id),
            "has_key": record.has_key,
        }
        try:
            self.runner.send(message)
        except (RuntimeError, ConnectionError):  # no runner now: back in the queue
            outcome.set_result(None if self._stopping else REQUEUE)
        job.task = asyncio.create_task(self._run(job, outcome), name=f"job-{record.id}")

    async def _run(self, job: LiveJob, outcome: asyncio.Future[dict[str, Any] | None]) -> None:
        result: dict[str, Any] | None = None
        try:
            result = await outcome
        finally:
            await self._settle(job, result)

    def _message(self, message: dict[str, Any]) -> None:
        """A line from the runner: a job's counts, or how it ended."""
        job_id = message.get("id", "")
        job = self.live.get(job_id)
        if job is None:
            return
        if "progress" in message and message["progress"] is not None:
            job.snapshot = message["progress"]
            job.baseline = message.get("baseline") or {}
            job.dirty = True
            self.changed.fire()
        if "outcome" in message:
            future = self._outcomes.pop(job_id, None)
            if future is not None and not future.done():
                future.set_result(message["outcome"])

    def _runner_exit(self, code: int) -> None:
        """The runner is gone: when the server is not stopping, its jobs fail saying so."""
        error = None if self._stopping else f"the job runner process exited (code {code})"
        if error is not None:
            log.error("synthgen serve: %s; starting another", error)
            self._tasks.append(asyncio.create_task(self.runner.start(), name="synthgen-runner"))
        for future in self._outcomes.values():
            if not future.done():
                future.set_result(None if error is None else {"state": "failed", "error": error})
        self._outcomes.clear()

    async def _settle(self, job: LiveJob, outcome: dict[str, Any] | None) -> None:
        self.live.pop(job.id, None)
        fields: dict[str, Any] = {"progress": job.progress()} if job.snapshot else {}
        if outcome is REQUEUE:
            fields.update(state="queued", started_at=None)
        elif outcome is not None:
            self._keys.pop(job.id, None)
            fields.update(outcome, finished_at=time.time(), files=self.data.job_files(job.id))
        if fields:
            try:
                await asyncio.to_thread(self.store.update, job.id, only_from=("running",), **fields)
            except Exception:  # the store is down: the job resumes at the next start
                log.exception("job %s: could not record its end", job.id)
        self._count(job, fields.get("progress"))
        self.changed.fire()
        self.wake()

    # ---- live counts ----------------------------------------------------------------------

    async def _flusher(self) -> None:
        while not self._stopping:
            await asyncio.sleep(FLUSH_SECONDS)
            await self._flush()

    async def _flush(self) -> None:
        for job in list(self.live.values()):
            if not job.dirty:
                continue
            job.dirty = False
            progress = job.progress()
            self._count(job, progress)
            with contextlib.suppress(Exception):
                await asyncio.to_thread(
                    self.store.update, job.id, only_from=("running",), progress=progress
                )

    def _count(self, job: LiveJob, progress: dict[str, Any] | None) -> None:
        if progress is None or job.baseline is None:
            return
        if job.counted is None:  # what the journal replayed was counted before a restart
            job.counted = {
                k: float(v) for k, v in job.baseline.items() if isinstance(v, int | float)
            }
        self.metrics.count_progress(job.counted, progress)
