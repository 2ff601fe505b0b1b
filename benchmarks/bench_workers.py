"""``--workers 2 --engine ray`` against ``--workers 1``, on a latency-bound teacher: the
throughput ratio, and what Ray costs to start.

    python benchmarks/bench_workers.py [--n 400] [--latency 1.0] [--concurrency 4]
        [--url redis://127.0.0.1:6379/0]

The teacher is ``fake_server.py`` in its own process, answering each request after
``--latency`` seconds, so one worker with ``--concurrency`` requests in flight is bound by
the teacher's latency, not by its CPU: a second worker (its own ``--concurrency``) should
nearly double the rate. Three runs of the same job through the CLI, side by side, each with
its own Redis key prefix (deleted after) and no cache: a plain run (no Ray), Ray with one
worker, Ray with two. Figures: wall time of the whole command (Ray's start-up and the merge
included), examples per second over that wall time, and the teacher's own request rate over
the middle 80% of the run; the ratios are two workers over one. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from _common import SEEDS, Server, bench_env, print_machine, run_child, synthgen_exe


def one_run(
    server: Server, args: argparse.Namespace, tmp: Path, name: str, extra: list[str]
) -> dict[str, Any]:
    prefix = f"synthgen-bench:{uuid.uuid4().hex[:12]}"
    out = tmp / name
    cmd = [
        synthgen_exe(),
        "expand",
        str(SEEDS),
        "-n",
        str(args.n),
        "--model",
        "m",
        "--base-url",
        server.url,
        "-o",
        str(out),
        "--concurrency",
        str(args.concurrency),
        "--no-cache",
        "-q",
        "--dedup-index",
        f"{args.url}?prefix={prefix}",
        *extra,
    ]
    server.reset()
    try:
        child = run_child(cmd, env=bench_env(tmp))
    finally:
        _delete_prefix(args.url, prefix)
    if child.returncode != 0:
        raise SystemExit(f"{name} failed ({child.returncode}): {child.stderr[-2000:]}")
    stats = server.stats()
    report = json.loads((out / "report.json").read_text())
    made = report["split"]["train"] + report["split"]["eval"]
    return {
        "name": name,
        "wall_s": child.wall_s,
        "examples": made,
        "examples_per_s": made / child.wall_s,
        "requests": stats["count"],
        "teacher_rps": stats["rate"],
    }


def _delete_prefix(url: str, prefix: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        names = list(client.scan_iter(match="{" + prefix + "}:*", count=1000))
        for start in range(0, len(names), 1000):
            client.unlink(*names[start : start + 1000])
    finally:
        client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per reply")
    parser.add_argument("--concurrency", type=int, default=4, help="per worker")
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0", help="Redis for the index")
    args = parser.parse_args()
    print_machine()
    print(
        f"expand -n {args.n}, --concurrency {args.concurrency} per worker, teacher latency "
        f"{args.latency}s, seeds {SEEDS.name}, --no-cache"
    )
    runs = [
        ("plain (no Ray)", []),
        ("ray, 1 worker", ["--engine", "ray", "--workers", "1"]),
        ("ray, 2 workers", ["--engine", "ray", "--workers", "2"]),
    ]
    with tempfile.TemporaryDirectory() as folder, Server("--latency", str(args.latency)) as server:
        tmp = Path(folder)
        results = [one_run(server, args, tmp, name, extra) for name, extra in runs]
    print(
        f"{'run':<16} {'wall s':>8} {'examples':>9} {'ex/s':>7} {'requests':>9} {'teacher rps':>12}"
    )
    for r in results:
        print(
            f"{r['name']:<16} {r['wall_s']:>8.1f} {r['examples']:>9} {r['examples_per_s']:>7.1f} "
            f"{r['requests']:>9} {r['teacher_rps']:>12.2f}"
        )
    plain, one, two = results
    print(
        f"2 workers / 1 worker: examples/s x{two['examples_per_s'] / one['examples_per_s']:.2f}, "
        f"teacher rps x{two['teacher_rps'] / one['teacher_rps']:.2f}"
    )
    print(f"Ray's cost with 1 worker: {one['wall_s'] - plain['wall_s']:+.1f}s of wall time")


if __name__ == "__main__":
    main()
