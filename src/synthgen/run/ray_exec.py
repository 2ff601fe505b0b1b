"""``--workers N --engine ray``: a job's N shards run as Ray tasks, then merge into OUT.

The driver (this process) checks every shard as a plain run would, starts a local Ray (or
joins ``--ray-address``), and runs shard i of N as a task calling :func:`expand` with
``shard="i/N"`` into ``OUT/shards/i``. The shards share the ``--dedup-index`` Redis, so no
shard accepts a near copy of another's example. A task whose worker dies (killed, out of
memory, its machine lost) is run again by Ray; it resumes from its shard's journal, so what it
had bought is not bought twice. When every shard is done, the driver merges them into OUT.

Ray's workers must see the driver's files at the same paths (one machine, or a shared
filesystem): they read the seeds and write ``OUT/shards/i``, which the driver then reads.
They get the driver's working folder and its teacher settings and keys from the environment
(the ``SYNTHGEN_*``, ``OPENAI_*``, ``LITELLM_*`` and ``*_API_KEY``-like variables), passed
with each task rather than in Ray's runtime_env, which Ray's dashboard shows.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError, RunError, SynthgenError
from synthgen.run.expand import Interrupted
from synthgen.run.job import SeedSource
from synthgen.run.journal import RunState
from synthgen.run.result import Result
from synthgen.run.shard import merged_job
from synthgen.settings import Settings
from synthgen.settings.naming import flag_names, flags_named

__all__ = [
    "RETRIES",
    "SHARDS_DIR",
    "ShardDone",
    "Where",
    "run_on_ray",
    "run_shard",
    "shard_dirs",
]

SHARDS_DIR = "shards"
RETRIES = 3  # times Ray runs a shard again after its worker died
_POLL = 0.5  # seconds between looks at the tasks (and at who holds each shard's lock)
_STOP_GRACE = 15.0  # seconds interrupted tasks get to close their journals before a kill
# The settings of how the job is spread, which each task does not take.
_DRIVER_ONLY = ("workers", "executor", "ray_address", "out_dir", "shard")
# The environment a task gets from the driver: teacher settings and keys, synthgen's own.
_ENV_PREFIXES = ("SYNTHGEN_", "OPENAI_", "LITELLM_", "TIKTOKEN_")
_ENV_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_BASE_URL")

Say = Callable[[str], None]


@dataclass(frozen=True)
class ShardDone:
    """What a finished task hands back to the driver."""

    index: int
    accepted: int
    requests: int
    complete: bool
    stop_reason: str | None


def shard_dirs(out: Path, workers: int) -> list[Path]:
    """Where each shard of a job writes: ``OUT/shards/0`` ... ``OUT/shards/N-1``."""
    return [out / SHARDS_DIR / str(i) for i in range(workers)]


def run_on_ray(seeds: SeedSource, settings: Settings, *, say: Say | None = None) -> Result:
    """Run ``settings.workers`` shards of the job as Ray tasks and merge them into OUT.
    ``say`` gets one line per event (a shard done, a worker lost and the shard run again).

    A Ray already initialised in this process is used as it is; otherwise a local Ray is
    started for the run (or ``ray_address`` joined) and shut down after."""
    ray = import_ray()
    tell: Say = say or (lambda line: None)
    out = Path(settings.out_dir)
    dirs = shard_dirs(out, settings.workers)
    seeds = _portable(seeds)
    params = shard_parameters(settings)
    job = _check_shards(seeds, params, dirs)
    # OUT is the merged job's from now on (its shards are in it), and locked while they run.
    claim = _claim(out, job, force=settings.force)
    started_here = not ray.is_initialized()
    try:
        if started_here:
            _start_ray(ray, settings)
        remote = ray.remote(max_retries=RETRIES, retry_exceptions=False)(run_shard)
        where = Where(forwarded_environment(), os.getcwd(), flags_named())
        count = len(dirs)
        refs = {
            remote.remote(seeds, params, i, count, str(d), where): i for i, d in enumerate(dirs)
        }
        tell(f"running {count} shards as Ray tasks into {out / SHARDS_DIR}")
        done = _wait(ray, refs, dirs, tell)
    finally:
        claim.release()
        if started_here and ray.is_initialized():
            ray.shutdown()
    return _merged(done, dirs, out, settings)


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        from synthgen.settings.naming import setting

        raise ConfigError(
            f"{setting('executor', 'ray')} needs Ray, which is not installed: "
            "pip install 'synthgen[ray]'"
        ) from None
    return ray


def shard_parameters(settings: Settings) -> dict[str, Any]:
    """The keyword arguments of :func:`expand` every task passes on (its shard and out_dir
    added): the settings the caller gave. Those left to the environment (the model, the
    endpoint) come from the driver's, which each task is given."""
    given = settings.model_dump(include=set(settings.model_fields_set))
    return {k: v for k, v in given.items() if k not in _DRIVER_ONLY}


def forwarded_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if _forwarded(k)}


def _forwarded(name: str) -> bool:
    upper = name.upper()
    return upper.startswith(_ENV_PREFIXES) or upper.endswith(_ENV_SUFFIXES)


@dataclass(frozen=True)
class Where:
    """The driver's context a task takes on: its environment (the forwarded part), its
    working folder, and whether messages name flags (the CLI) or parameters."""

    env: Mapping[str, str]
    cwd: str
    flags: bool


def run_shard(
    seeds: SeedSource,
    params: Mapping[str, Any],
    index: int,
    count: int,
    out_dir: str,
    where: Where,
) -> ShardDone:
    """The body of one Ray task: shard ``index`` of ``count`` into ``out_dir``, resuming
    from its journal when an earlier attempt died."""
    # Ray reuses worker processes: the environment is made the driver's, not added to.
    for name in [k for k in os.environ if _forwarded(k)]:
        del os.environ[name]
    os.environ.update(where.env)
    if os.path.isdir(where.cwd):
        os.chdir(where.cwd)  # relative paths (a template file) mean what they did to the driver
    from synthgen.run.expand import expand

    with flag_names() if where.flags else contextlib.nullcontext():
        result = expand(seeds, out_dir=out_dir, shard=f"{index}/{count}", **params)
    stop = result.report.get("stop") or {}
    return ShardDone(
        index=index,
        accepted=len(result.train) + len(result.eval),
        requests=int(result.report.get("requests", {}).get("sent", 0)),
        complete=result.complete,
        stop_reason=stop.get("reason"),
    )


def _portable(seeds: SeedSource) -> SeedSource:
    """Seeds as a task can take them: a file as its absolute path, records as a list."""
    if isinstance(seeds, str | Path):
        return str(Path(seeds).absolute())
    return list(seeds) if isinstance(seeds, Iterable) else seeds


def _check_shards(seeds: SeedSource, params: Mapping[str, Any], dirs: list[Path]) -> dict[str, Any]:
    """Every shard checked (seeds, templates, its folder) before Ray starts: bad input is
    one line and exit code 2 here, not N task failures. The job the shards share."""
    from synthgen.run.job import prepare
    from synthgen.run.shard import shared_job

    job: dict[str, Any] = {}
    log = logging.getLogger("synthgen")
    level = log.level
    try:
        for i, folder in enumerate(dirs):
            shard = Settings.from_parameters(
                {**params, "out_dir": folder, "shard": f"{i}/{len(dirs)}"}
            )
            job = shared_job(prepare(seeds, shard).state.job)
            log.setLevel(logging.ERROR)  # the first shard's warnings are the job's: said once
    finally:
        log.setLevel(level)
    return job


def _claim(out: Path, job: dict[str, Any], *, force: bool) -> RunState:
    """OUT marked as the merged job's and locked: a folder holding shards of a job is that
    job's, and two drivers never run one job's shards at once. Refused, before anything is
    written, when OUT holds another job and not ``force``."""
    state = RunState(out, merged_job(job))
    state.open(resume=state.check(force=force))
    state.close()  # the journal stays empty: the merge writes OUT's files
    return state


def _start_ray(ray: Any, settings: Settings) -> None:
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
    if settings.ray_address is None:
        # Shards mostly wait on the teacher: all of them run at once, whatever the cores.
        options["num_cpus"] = max(os.cpu_count() or 1, settings.workers)
    try:
        ray.init(address=settings.ray_address, configure_logging=False, **options)
    except (ConnectionError, RuntimeError, ValueError) as e:
        from synthgen.settings.naming import setting

        where = settings.ray_address or "a local Ray"
        raise ConfigError(
            f"{setting('ray_address')} {where}: cannot start or join Ray there ({e})"
        ) from None


def _wait(ray: Any, refs: dict[Any, int], dirs: list[Path], tell: Say) -> dict[int, ShardDone]:
    """The tasks' results by shard, saying each as it ends; a failed task raises (its
    error, naming the shard) once the others are stopped."""
    count = len(dirs)
    pending = list(refs)
    # Who held each lock before: an earlier run's worker, not one of this run's.
    holders: dict[int, tuple[int | None, bool]] = {
        i: (_holder(d), False) for i, d in enumerate(dirs)
    }
    done: dict[int, ShardDone] = {}
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL)
            for ref in ready:
                i = refs[ref]
                try:
                    done[i] = ray.get(ref)
                except Exception as e:
                    _stop(ray, pending)
                    raise _task_error(ray, e, i, count, dirs[i]) from None
                d = done[i]
                state = "done" if d.complete else f"stopped ({d.stop_reason})"
                tell(
                    f"shard {i}/{count} {state}: {d.accepted} accepted, "
                    f"{d.requests} requests ({dirs[i]})"
                )
            for ref in pending:
                _say_restart(refs[ref], count, dirs, holders, tell)
    except KeyboardInterrupt:
        _stop(ray, pending)
        raise Interrupted(
            f"interrupted with {len(done)}/{count} shards done; each shard's journal is "
            "kept: run the same command again to resume"
        ) from None
    return done


def _say_restart(
    i: int,
    count: int,
    dirs: list[Path],
    holders: dict[int, tuple[int | None, bool]],
    tell: Say,
) -> None:
    """A shard's lock taken by another pid than this run's first worker for it while its
    task is pending: that worker died and Ray runs the shard again."""
    pid = _holder(dirs[i])
    before, ours = holders[i]
    if pid is None or pid == before:
        return
    if ours:
        tell(
            f"shard {i}/{count}: its worker (pid {before}) died; Ray runs it again "
            f"(pid {pid}), resuming from its journal"
        )
    holders[i] = (pid, True)


def _holder(folder: Path) -> int | None:
    """The pid written in the shard folder's lock by the run that last held it."""
    from synthgen.run.outdir import LOCK, STATE_DIR

    try:
        text = (folder / STATE_DIR / LOCK).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


def _stop(ray: Any, pending: list[Any]) -> None:
    """Interrupt the tasks still running (each closes its journal), and kill those that
    do not end within the grace time."""
    for ref in pending:
        ray.cancel(ref, force=False)
    deadline = time.monotonic() + _STOP_GRACE
    while pending and time.monotonic() < deadline:
        _, pending = ray.wait(pending, num_returns=len(pending), timeout=_POLL)
    for ref in pending:
        ray.cancel(ref, force=True)


def _task_error(ray: Any, error: Exception, i: int, count: int, folder: Path) -> SynthgenError:
    cause = (
        getattr(error, "cause", None) if isinstance(error, ray.exceptions.RayTaskError) else error
    )
    if isinstance(cause, SynthgenError):
        cause.args = (f"shard {i}/{count}: {cause}", *cause.args[1:])
        return cause
    if isinstance(error, ray.exceptions.WorkerCrashedError | ray.exceptions.NodeDiedError):
        return RunError(
            f"shard {i}/{count}: its worker died {RETRIES + 1} times; what it bought is "
            f"journaled in {folder}: run the same command again to resume"
        )
    what = cause if isinstance(cause, BaseException) else error
    first = (str(what).strip().splitlines() or [""])[-1]  # a traceback's last line says what
    return RunError(f"shard {i}/{count} failed: {type(what).__name__}: {first}")


def _merged(done: dict[int, ShardDone], dirs: list[Path], out: Path, settings: Settings) -> Result:
    from synthgen.run.merge import merge

    result = merge(dirs, out, force=settings.force, command=settings.command)
    complete = all(d.complete for d in done.values())
    result.complete = result.complete and complete
    return result
