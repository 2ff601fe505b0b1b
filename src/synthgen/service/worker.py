"""The job runner: one process, started by ``synthgen serve``, that runs every job on its
own event loop, so the engines' CPU work never holds the API process's GIL. Jobs on one
endpoint with one key share one Pacing (rate limiter, adaptive concurrency, 429 gate).

It speaks JSON lines. In, on stdin: ``{"op": "run", "id", "settings", "seeds", "key"}``,
``{"op": "cancel", "id"}``, ``{"op": "drain"}``. Out, on stdout: ``{"id", "progress",
"baseline"}`` while a job runs and ``{"id", "outcome"}`` when it ends (outcome null: stopped
by a drain, to be resumed). End of stdin (the server stopped, or died) drains every job and
exits. API keys arrive on stdin and live in this process's memory only."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
import sys
from typing import IO, TYPE_CHECKING, Any

from synthgen.errors import ConfigError, OutputInUseError, SynthgenError
from synthgen.redact import redact
from synthgen.service.live import LiveJob

if TYPE_CHECKING:
    from synthgen.run.result import Result
    from synthgen.settings import Settings
    from synthgen.teacher.pacing import Pacing

__all__ = ["KEY_LOST", "main"]

log = logging.getLogger("synthgen.service")

KEY_LOST = (
    "this job's API key was held in the server's memory only, and the server restarted "
    "before the job finished: submit the job again with its api_key"
)
PROGRESS_SECONDS = 0.2
RUNNER_NICENESS = 5
# A job folder still locked by the runner of a server that just died (it drains first).
LOCKED_RETRY_SECONDS = 60.0


class Runner:
    def __init__(self, out: IO[str]) -> None:
        self.out = out
        self.jobs: dict[str, LiveJob] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.pacing: dict[tuple[str, str], tuple[Pacing, set[str]]] = {}
        self.draining = False
        self.gone = False

    def send(self, message: dict[str, Any]) -> None:
        if self.gone:
            return
        try:
            self.out.write(json.dumps(message, ensure_ascii=False) + "\n")
            self.out.flush()
        except OSError:  # the server is gone (killed): its jobs drain, unreported
            self.gone = True

    def handle(self, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == "run":
            job = LiveJob(message["id"], n=int(message["settings"].get("n", 0)))
            self.jobs[job.id] = job
            task = asyncio.create_task(self.run(job, message))
            self.tasks[job.id] = task
        elif op == "cancel" and message.get("id") in self.jobs:
            job = self.jobs[message["id"]]
            job.cancel_requested = True
            if not job.control.interrupt():
                self.tasks[job.id].cancel()
        elif op == "drain":
            self.drain()

    def drain(self) -> None:
        self.draining = True
        for job_id, job in self.jobs.items():
            if not job.control.drain():
                self.tasks[job_id].cancel()

    async def run(self, job: LiveJob, message: dict[str, Any]) -> None:
        reporter = asyncio.create_task(self.report(job))
        outcome: dict[str, Any] | None = None
        try:
            outcome = finished(await self.execute(job, message))
        except asyncio.CancelledError:
            outcome = {"state": "cancelled"} if job.cancel_requested else None
        except OutputInUseError:
            outcome = None  # another runner has it
        except SynthgenError as e:
            outcome = stopped(e, job, draining=self.draining)
        except Exception as e:  # a bug: this job fails with one line, the others run on
            log.exception("job %s failed", job.id)
            outcome = {"state": "failed", "error": redact(f"unexpected {type(e).__name__}: {e}")}
        finally:
            reporter.cancel()
            self.jobs.pop(job.id, None)
            self.tasks.pop(job.id, None)
            job.refresh()
            self.send({"id": job.id, "progress": job.snapshot, "baseline": job.baseline})
            self.send({"id": job.id, "outcome": outcome})

    async def report(self, job: LiveJob) -> None:
        sent = None
        while True:
            await asyncio.sleep(PROGRESS_SECONDS)
            if job.snapshot is not None and job.snapshot is not sent:
                sent = job.snapshot
                self.send({"id": job.id, "progress": sent, "baseline": job.baseline})

    async def execute(self, job: LiveJob, message: dict[str, Any]) -> Result:
        from synthgen.run.expand import prepare, run_job
        from synthgen.settings import Settings

        settings = Settings.model_validate(message["settings"])
        key = message.get("key")
        if message.get("has_key") and key is None and not env_key(settings):
            raise ConfigError(KEY_LOST)
        prepared = await asyncio.to_thread(prepare, message["seeds"], settings)
        job.n = prepared.settings.n
        pacing = self.take_pacing(job.id, prepared.settings, key)
        try:
            waited = 0.0
            while True:
                try:
                    return await run_job(
                        prepared,
                        on_progress=job.update,
                        control=job.control,
                        api_key=key,
                        pacing=pacing,
                    )
                except OutputInUseError:
                    if waited >= LOCKED_RETRY_SECONDS or self.draining:
                        raise
                    await asyncio.sleep(0.5)
                    waited += 0.5
        finally:
            self.release_pacing(job.id)

    def take_pacing(self, job_id: str, settings: Settings, key: str | None) -> Pacing:
        from synthgen.teacher.pacing import Pacing

        # The endpoint as the teacher is reached (a URL, or the provider by model prefix)
        # and a digest of the key it is reached with: the environment's when none was sent.
        endpoint = settings.base_url or f"default:{settings.model.split('/', 1)[0]}"
        secret = key if key is not None else f"env:{env_key(settings)}"
        ident = (endpoint, hashlib.sha256(secret.encode()).hexdigest())
        if ident not in self.pacing:
            pacing = Pacing(
                settings.concurrency,
                rpm=settings.rpm,
                tpm=settings.tpm,
                patience=settings.rate_limit_patience,
            )
            self.pacing[ident] = (pacing, set())
        pacing, users = self.pacing[ident]
        users.add(job_id)
        return pacing

    def release_pacing(self, job_id: str) -> None:
        for ident, (_, users) in list(self.pacing.items()):
            users.discard(job_id)
            if not users:
                del self.pacing[ident]


def finished(result: Result) -> dict[str, Any]:
    if result.complete:
        return {"state": "succeeded", "error": None}
    stop = result.report.get("stop") or {}
    reason = f"stopped early ({stop.get('reason', 'unknown')}): {stop.get('detail', '')}"
    return {"state": "failed", "error": redact(reason.rstrip(": "))}


def stopped(error: SynthgenError, job: LiveJob, *, draining: bool) -> dict[str, Any] | None:
    from synthgen.run.expand import Interrupted

    if isinstance(error, Interrupted):
        if job.cancel_requested:
            return {"state": "cancelled"}
        if draining:
            return None  # the server is stopping: still running, resumed at the next start
    return {"state": "failed", "error": redact(str(error))}


def env_key(settings: Settings) -> str:
    """The key the server's environment holds for this job's teacher ('' for none)."""
    from synthgen.teacher import PROVIDER_KEYS, route

    if route(settings.model, settings.base_url) == "openai":
        return os.environ.get("OPENAI_API_KEY", "")
    names = PROVIDER_KEYS.get(settings.model.split("/", 1)[0], ())
    return next((os.environ[n] for n in names if os.environ.get(n)), "")


async def serve_stdin(runner: Runner) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=64 * 1024 * 1024)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        runner.handle(json.loads(line))
    runner.drain()  # the server is gone: land what is in flight, then stop
    while runner.tasks:
        await asyncio.wait(list(runner.tasks.values()), timeout=1.0)


def main() -> None:
    from synthgen.redact import RedactFilter

    # stdout is the protocol's: anything else that prints goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactFilter())
    handler.setFormatter(logging.Formatter("synthgen serve: %(message)s"))
    logger = logging.getLogger("synthgen")
    logger.addHandler(handler)
    logger.setLevel(logging.ERROR)  # a job's warnings are in its report, not the server's log
    # Jobs are throughput, the API is someone waiting: on a busy machine the API comes first.
    with contextlib.suppress(OSError):
        os.nice(RUNNER_NICENESS)
    asyncio.run(serve_stdin(Runner(out)))


if __name__ == "__main__":
    main()
