"""The service's overhead: the same FakeTeacher job through ``synthgen expand`` and through
``synthgen serve``, and the latency of ``GET /v1/jobs/{id}`` while 10 jobs run.

    python benchmarks/bench_service.py [--n 3000] [--runs 3] [--latency 0.05] [--gets 400]

1. Overhead: ``--runs`` alternating runs of one job (seeds samples/support.jsonl, ``--n``
   examples, concurrency 16, no cache, the same FakeTeacher process). ``expand``: the CLI's
   process wall time less the wall time of ``synthgen --version`` (its start-up, which the
   service pays once, not per job), and report.json's ``run.wall_time_s``; ``expand()`` in a
   warm process (one that ran a 20-example job first: imports and the language model
   loaded, as in the service's job runner), the fair comparison. Service: from
   ``POST /v1/jobs`` to the ``end`` event on the job's event stream, and its report's
   ``run.wall_time_s``. Medians; ratio = service / expand (target: <= 1.05).
2. Latency: 10 jobs running at once on one server (``--max-jobs 10``), ``--gets`` sequential
   ``GET /v1/jobs/{id}`` over one keep-alive connection; p50 and p99 (target: p99 <= 50 ms).
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from _common import SEEDS, Server, bench_env, print_machine, synthgen_exe


class Service:
    def __init__(self, data: Path, env: dict[str, str], *args: str) -> None:
        command = [synthgen_exe(), "serve", "--port", "0", "--data", str(data), *args]
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "listening on " not in line:
            raise SystemExit(f"serve did not start: {line!r}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        self.client = httpx.Client(base_url=self.url, timeout=60)
        for _ in range(500):
            try:
                if self.client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.02)

    def submit(self, body: dict[str, Any]) -> str:
        r = self.client.post("/v1/jobs", json=body)
        r.raise_for_status()
        job_id: str = r.json()["id"]
        return job_id

    def wait(self, job_id: str) -> dict[str, Any]:
        """The job's final view, from its event stream (polling would cost the API CPU)."""
        with self.client.stream("GET", f"/v1/jobs/{job_id}/events") as response:
            event = None
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "end":
                    view: dict[str, Any] = json.loads(line.removeprefix("data: "))
                    return view
        raise SystemExit(f"the event stream of {job_id} ended without its end")

    def close(self) -> None:
        self.client.close()
        self.proc.terminate()
        self.proc.wait(timeout=60)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def settings(fake_url: str, n: int, seed: int = 0) -> dict[str, Any]:
    return {
        "n": n,
        "model": "m",
        "base_url": fake_url,
        "concurrency": 16,
        "cache": False,
        "seed": seed,
    }


def run_expand(fake_url: str, n: int, out: Path, env: dict[str, str]) -> tuple[float, float]:
    command = [
        synthgen_exe(),
        "expand",
        str(SEEDS),
        "-n",
        str(n),
        "--model",
        "m",
        "--base-url",
        fake_url,
        "--concurrency",
        "16",
        "--no-cache",
        "-q",
        "-o",
        str(out),
    ]
    started = time.perf_counter()
    r = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if r.returncode != 0:
        raise SystemExit(f"expand failed: {r.stderr}")
    report = json.loads((out / "report.json").read_text())
    return wall, float(report["run"]["wall_time_s"])


WARM = """
import json, sys, time
from synthgen import expand
url, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kw = dict(model="m", base_url=url, concurrency=16, cache=False)
expand(sys.argv[4], 20, out_dir=out + "-warmup", **kw)  # imports, language model: loaded
started = time.perf_counter()
result = expand(sys.argv[4], n, out_dir=out, **kw)
print(json.dumps([time.perf_counter() - started, result.report["run"]["wall_time_s"]]))
"""


def run_warm(fake_url: str, n: int, out: Path, env: dict[str, str]) -> tuple[float, float]:
    """``expand()`` in a process that has run a small job first (warm, like the service)."""
    command = [sys.executable, "-c", WARM, fake_url, str(n), str(out), str(SEEDS)]
    r = subprocess.run(command, capture_output=True, text=True, env=env)
    if r.returncode != 0:
        raise SystemExit(f"expand() failed: {r.stderr}")
    wall, engine = json.loads(r.stdout.strip().splitlines()[-1])
    return float(wall), float(engine)


def startup(env: dict[str, str]) -> float:
    times = []
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([synthgen_exe(), "--version"], capture_output=True, env=env, check=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def overhead(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    seeds = [json.loads(x) for x in SEEDS.read_text().splitlines() if x.strip()]
    with Server("--latency", str(args.latency)) as fake:
        service = Service(tmp / "data", env, "--max-jobs", "1")
        base = startup(env)
        cli, cli_engine, svc, svc_engine, warm, warm_engine = [], [], [], [], [], []
        try:
            for run in range(args.runs):
                wall, engine = run_expand(fake.url, args.n, tmp / f"expand-{run}", env)
                cli.append(wall - base)
                cli_engine.append(engine)
                wall, engine = run_warm(fake.url, args.n, tmp / f"warm-{run}", env)
                warm.append(wall)
                warm_engine.append(engine)
                started = time.perf_counter()
                job_id = service.submit({"seeds": seeds, "settings": settings(fake.url, args.n)})
                view = service.wait(job_id)
                svc.append(time.perf_counter() - started)
                if view["state"] != "succeeded":
                    raise SystemExit(f"service job failed: {view['error']}")
                report = service.client.get(f"/v1/jobs/{job_id}/files/report.json").json()
                svc_engine.append(float(report["run"]["wall_time_s"]))
        finally:
            service.close()
    e, s = statistics.median(cli), statistics.median(svc)
    ee, se = statistics.median(cli_engine), statistics.median(svc_engine)
    w, we = statistics.median(warm), statistics.median(warm_engine)
    print(
        f"job: n={args.n}, FakeTeacher latency {args.latency}s, concurrency 16, no cache, "
        f"{args.runs} runs each (synthgen start-up {base:.2f}s taken off expand's wall time)"
    )
    print(f"  expand : {e:.2f}s wall (less start-up), {ee:.2f}s in report.json")
    print(f"  expand() in a warm process: {w:.2f}s wall, {we:.2f}s in report.json")
    print(f"  service: {s:.2f}s submit-to-finished, {se:.2f}s in report.json")
    print(
        f"  overhead ratio service/expand: wall {s / e:.3f}, report {se / ee:.3f}; "
        f"service/warm expand(): wall {s / w:.3f}, report {se / we:.3f} (target <= 1.05)"
    )


def latency(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> None:
    seeds = [json.loads(x) for x in SEEDS.read_text().splitlines() if x.strip()]
    with Server("--latency", str(args.latency)) as fake:
        service = Service(tmp / "data-latency", env, "--max-jobs", "10")
        try:
            ids = [
                service.submit({"seeds": seeds, "settings": settings(fake.url, 4000, seed=i)})
                for i in range(10)
            ]
            while service.client.get("/v1/jobs", params={"state": "running"}).json()["total"] < 10:
                time.sleep(0.05)
            times = []
            for i in range(args.gets):
                started = time.perf_counter()
                r = service.client.get(f"/v1/jobs/{ids[i % 10]}")
                times.append(time.perf_counter() - started)
                r.raise_for_status()
            running = service.client.get("/v1/jobs", params={"state": "running"}).json()["total"]
            for job_id in ids:
                service.client.post(f"/v1/jobs/{job_id}/cancel")
        finally:
            service.close()
    times.sort()
    p50 = times[len(times) // 2] * 1000
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000
    print(
        f"GET /v1/jobs/{{id}} with 10 jobs running ({running} still running at the end), "
        f"{args.gets} requests: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {times[-1] * 1000:.1f} ms "
        "(target p99 <= 50 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--gets", type=int, default=400)
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        env = bench_env(tmp)
        overhead(args, tmp, env)
        latency(args, tmp, env)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
