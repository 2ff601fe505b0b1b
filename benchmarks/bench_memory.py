"""Peak memory of ``synthgen expand``, and whether it grows with rejected candidates.

    python benchmarks/bench_memory.py [--n 100000] [--requests 10000] [--concurrency 64]

Against a FakeTeacher process with no reply latency, ``synthgen expand --no-cache`` runs as
a subprocess; its peak RSS comes from ``wait4`` and its RSS is sampled from /proc twice a
second. Three runs:

- big: ``-n 100000`` (5 conversations per request, all accepted);
- clean: ``--per-request 1 -n R``: R requests, one conversation each, all accepted;
- rejects: the same flags and R, but every reply is 1 new conversation + 9 rejects (half
  exact copies, half near copies of earlier ones): R requests, R accepted, 9R rejected.

Clean and rejects differ only in the rejected candidates, so their peak RSS difference is
what rejects cost. The baseline is a 1-request run (imports and set-up). Figures only.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

from _common import SEEDS, ChildResult, Server, bench_env, print_machine, run_child, synthgen_exe


def expand(
    server: Server, tmp: Path, label: str, n: int, concurrency: int, per_request: int | None
) -> tuple[ChildResult, dict[str, Any]]:
    cmd = [synthgen_exe(), "expand", str(SEEDS), "-n", str(n), "--base-url", server.url]
    cmd += ["--model", "m", "--concurrency", str(concurrency), "--no-cache", "-q", "--json"]
    cmd += ["-o", str(tmp / label), "--max-requests", str(50 * n + 100)]
    if per_request is not None:
        cmd += ["--per-request", str(per_request)]
    server.reset()
    child = run_child(cmd, env=bench_env(tmp), sample_every=0.5)
    if not child.stdout.strip():
        raise SystemExit(f"{label}: synthgen expand failed ({child.returncode}):\n{child.stderr}")
    report = json.loads(child.stdout)
    last = server.stats()["last"]
    report["_generation_end_s"] = None if last is None else last - child.started
    return child, report


def row(label: str, child: ChildResult, report: dict[str, Any]) -> dict[str, Any]:
    samples = child.rss_mb
    quarters = [samples[min(len(samples) - 1, len(samples) * q // 4)][1] for q in (1, 2, 3)]
    return {
        "run": label,
        "requests": report["requests"]["total"],
        "accepted": report["accepted"],
        "rejected": report["rejected"]["total"],
        "stop": report["stop"]["reason"],
        "wall_s": child.wall_s,
        "cpu_s": child.cpu_s,
        "peak_mb": child.maxrss_mb,
        "rss_quarters_mb": quarters if samples else [],
        "generation_s": report["_generation_end_s"],
        "generation_peak_mb": max(
            (mb for t, mb in samples if t <= (report["_generation_end_s"] or 0.0)), default=0.0
        ),
        "reasons": report["rejected"]["by_reason"],
    }


def run(n: int, requests: int, concurrency: int) -> dict[str, Any]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as name:
        tmp = Path(name)
        with Server("--latency", "0") as server:
            base, report = expand(server, tmp, "baseline", 1, concurrency, 1)
            rows.append(row("1 request (baseline)", base, report))
            child, report = expand(server, tmp, "big", n, concurrency, None)
            rows.append(row(f"-n {n:,}", child, report))
            child, report = expand(server, tmp, "clean", requests, concurrency, 1)
            rows.append(row(f"-n {requests:,}, no rejects", child, report))
        with Server("--latency", "0", "--mode", "dupes", "--dupes", "9") as server:
            child, report = expand(server, tmp, "rejects", requests, concurrency, 1)
            rows.append(row(f"-n {requests:,}, 9 rejects/reply", child, report))
    return {"n": n, "requests": requests, "concurrency": concurrency, "rows": rows}


def show(result: dict[str, Any]) -> None:
    print(
        f"\nsynthgen expand --no-cache against a FakeTeacher process (no latency), "
        f"concurrency {result['concurrency']}"
    )
    head = (
        f"{'run':<28} {'requests':>9} {'accepted':>9} {'rejected':>9} {'stop':>6} "
        f"{'wall s':>7} {'CPU s':>7} {'peak RSS':>9}  RSS at 1/4, 1/2, 3/4 of the run"
    )
    print(head)
    print("-" * len(head))
    for r in result["rows"]:
        quarters = ", ".join(f"{q:.0f}" for q in r["rss_quarters_mb"])
        print(
            f"{r['run']:<28} {r['requests']:>9,} {r['accepted']:>9,} {r['rejected']:>9,} "
            f"{r['stop']:>6} {r['wall_s']:>7.1f} {r['cpu_s']:>7.1f} {r['peak_mb']:>7.0f}MB  "
            f"{quarters} MB"
        )
    for r in result["rows"]:
        if r["generation_s"]:
            print(
                f"  {r['run']}: last reply at {r['generation_s']:.1f} s, RSS up to then "
                f"{r['generation_peak_mb']:.0f} MB; the rest (split, write, report) took "
                f"{r['wall_s'] - r['generation_s']:.1f} s and peaked at {r['peak_mb']:.0f} MB"
            )
    for r in result["rows"]:
        if r["reasons"]:
            reasons = ", ".join(f"{k} {v:,}" for k, v in r["reasons"].items())
            print(f"  {r['run']}: rejected as {reasons}")
    rows = {r["run"].split(",")[-1].strip(): r for r in result["rows"]}
    clean, rejects = rows.get("no rejects"), rows.get("9 rejects/reply")
    if clean and rejects:
        extra = rejects["peak_mb"] - clean["peak_mb"]
        print(
            f"rejects cost {extra:+.0f} MB of peak RSS for {rejects['rejected']:,} rejected "
            f"candidates ({1024 * extra / max(1, rejects['rejected']):+.2f} KB each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="examples in the big run")
    parser.add_argument("--requests", type=int, default=10_000, help="R, for the reject runs")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print_machine()
    result = run(args.n, args.requests, args.concurrency)
    show(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
