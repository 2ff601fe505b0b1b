"""Helpers shared by the benchmark scripts: the machine, a FakeTeacher server in its own
process, and child processes measured with ``os.wait4`` (CPU time and peak RSS of that one
child, which ``getrusage(RUSAGE_CHILDREN)`` would mix with every other child waited for)."""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SEEDS = REPO / "samples" / "support.jsonl"


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
    }


def print_machine() -> None:
    m = machine()
    print(
        f"machine: {m['nproc']} CPUs, {m['cpu']}, Python {m['python']}, {m['date']}, "
        f"load average {m['load']}"
    )


def synthgen_exe() -> str:
    """The ``synthgen`` console script of the running interpreter's environment."""
    beside = Path(sys.executable).parent / "synthgen"
    found = str(beside) if beside.exists() else shutil.which("synthgen")
    if found is None:
        raise SystemExit("synthgen is not installed in this environment (pip install -e .)")
    return found


@dataclass
class ChildResult:
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    stdout: str
    stderr: str
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, MB) samples
    started: float = 0.0  # time.monotonic() at launch, to line samples up with other clocks

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def _rss_now(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_child(
    cmd: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: str | Path | None = None,
    sample_every: float = 0.0,
    timeout: float = 1800.0,
) -> ChildResult:
    """Run ``cmd`` to completion; its own CPU time and peak RSS come from ``wait4``."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.monotonic()
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=cwd)
        samples: list[tuple[float, float]] = []
        step = sample_every or 0.02
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - start
            if elapsed > timeout:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            if sample_every:
                rss = _rss_now(proc.pid)
                if rss is not None:
                    samples.append((elapsed, rss))
            time.sleep(step)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildResult(
            returncode=proc.returncode,
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024,  # KiB on Linux
            stdout=out.read(),
            stderr=err.read(),
            rss_mb=samples,
            started=started,
        )


class Server:
    """``benchmarks/fake_server.py`` in its own process (its own GIL), driven over stdin."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "fake_server.py"), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.close()
            raise SystemExit(f"fake server did not start: {line!r}")
        self.url = line.split()[1]

    def _ask(self, command: str) -> dict[str, Any]:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(command + "\n")
        stdin.flush()
        answer: dict[str, Any] = json.loads(stdout.readline())
        return answer

    def stats(self) -> dict[str, Any]:
        """count, first/last arrival (monotonic s), trimmed rate, body bytes, CPU seconds."""
        return self._ask("stats")

    def reset(self) -> None:
        self._ask("reset")

    def close(self) -> None:
        stdin: IO[str] | None = self.proc.stdin
        if stdin is not None and not stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                stdin.close()  # EOF: the server stops
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def bench_env(tmp: Path) -> dict[str, str]:
    """The environment for a synthgen child: cache in a temp dir, no real keys."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["SYNTHGEN_CACHE_DIR"] = str(tmp / "cache")
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env
