"""Run every benchmark and print one summary table against the targets.

    python benchmarks/run_all.py [--quick] [--markdown] [--json-dir DIR]

Each benchmark runs as its own process, one after the other (they would disturb each other's
timings if run together); its full output is printed as it goes, then the summary. ``--quick``
uses smaller sizes (about 2 minutes instead of about 10). Figures only; nothing is asserted,
and a target not met does not change the exit code.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import HERE, print_machine

FULL: dict[str, list[str]] = {
    "throughput": ["--concurrency", "64", "256", "--sdk-httpx"],
    "startup": ["--runs", "10"],
    "dedup": [],
    "memory": [],
}
QUICK: dict[str, list[str]] = {
    "throughput": ["--concurrency", "64", "256", "--seconds", "3", "--target", "4"],
    "startup": ["--runs", "5"],
    "dedup": ["--n", "20000", "--baseline-n", "2000", "--split-n", "0"],
    "memory": ["--n", "10000", "--requests", "1000"],
}
TAKES_JSON = {"throughput", "startup", "memory"}


def run_one(name: str, args: list[str], json_dir: Path) -> tuple[str, dict[str, Any] | None, float]:
    cmd = [sys.executable, str(HERE / f"bench_{name}.py"), *args]
    out = json_dir / f"{name}.json"
    if name in TAKES_JSON:
        cmd += ["--json", str(out)]
    print(f"\n===== {' '.join(Path(c).name if c.endswith('.py') else c for c in cmd[1:])}")
    sys.stdout.flush()
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    took = time.perf_counter() - start
    print(done.stdout, end="")
    if done.returncode != 0:
        print(f"!! bench_{name}.py failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return done.stdout, None, took
    figures = json.loads(out.read_text()) if name in TAKES_JSON else {}
    return done.stdout, figures, took


def dedup_figures(text: str) -> dict[str, float]:
    """bench_dedup.py prints text only: read its first block back."""
    figures: dict[str, float] = {}
    patterns = {
        "rate": r"check_and_add:\s+([\d,]+) docs/s",
        "peak_mb": r"peak RSS:\s+([\d,]+) MB",
        "recall": r"recall, Jaccard >= 0.8:\s+([\d.]+)",
        "low": r"reports, Jaccard < 0.5:\s+([\d.]+)",
    }
    for key, pattern in patterns.items():
        found = re.search(pattern, text)
        if found:
            figures[key] = float(found.group(1).replace(",", ""))
    return figures


def summary(results: dict[str, tuple[str, dict[str, Any] | None, float]]) -> list[list[str]]:
    """Rows of (what, target, measured, met)."""
    rows: list[list[str]] = []

    def add(what: str, target: str, measured: str, met: bool | None) -> None:
        rows.append(
            [what, target, measured, "n/a" if met is None else ("met" if met else "NOT met")]
        )

    _, tp, _ = results.get("throughput", ("", None, 0.0))
    if tp:
        for conc, goal in ((64, 0.85), (256, 0.6)):
            ours = [r for r in tp["rows"] if r["client"] == "synthgen" and r["concurrency"] == conc]
            bare = [r for r in tp["rows"] if r["client"] == "bare" and r["concurrency"] == conc]
            if ours and bare:
                o, b = ours[0], bare[0]
                add(
                    f"throughput at {conc}, of the bare aiohttp loop",
                    f">= {goal}",
                    f"{o['fraction']:.2f} ({o['rate']:.0f} vs {b['rate']:.0f} req/s)",
                    o["fraction"] >= goal,
                )
                add(
                    f"synthgen CPU per 1,000 requests at {conc}",
                    "(figure)",
                    f"{o['cpu_per_1k']:.2f} s (bare loop {b['cpu_per_1k']:.2f} s)",
                    None,
                )
        sdk = [r for r in tp["rows"] if r["client"] == "sdk-httpx"]
        if sdk:
            add("openai SDK, default httpx, at 64", "(context)", f"{sdk[0]['fraction']:.2f}", None)
    _, st, _ = results.get("startup", ("", None, 0.0))
    if st:
        med = st["timings"]["synthgen --help"][0]
        add("synthgen --help, wall (median)", "< 0.3 s", f"{med:.3f} s", med < 0.3)
        heavy = [
            p
            for p in ("openai", "litellm", "datasketch", "numpy", "tiktoken", "aiohttp", "rich")
            if p in st["imports"]["synthgen --help"]
        ]
        add("heavy modules imported by --help", "none", ", ".join(heavy) or "none", not heavy)
        val = st["timings"]["synthgen validate (10 lines)"][0]
        add("synthgen validate, 10 lines (median)", "(figure)", f"{val:.3f} s", None)
    dd_text, dd, _ = results.get("dedup", ("", None, 0.0))
    if dd is not None:
        d = dedup_figures(dd_text)
        if "rate" in d:
            add(
                "dedup check_and_add",
                ">= 7,000 docs/s",
                f"{d['rate']:,.0f} docs/s",
                d["rate"] >= 7000,
            )
        if "recall" in d:
            add(
                "dedup recall, Jaccard >= 0.8", ">= 0.98", f"{d['recall']:.4f}", d["recall"] >= 0.98
            )
        if "low" in d:
            add("dedup reports with Jaccard < 0.5", "~0", f"{d['low']:.4f}", d["low"] < 0.01)
        if "peak_mb" in d:
            add("dedup peak RSS", "(figure)", f"{d['peak_mb']:,.0f} MB", None)
    _, mem, _ = results.get("memory", ("", None, 0.0))
    if mem:
        by = {r["run"]: r for r in mem["rows"]}
        big = by.get(f"-n {mem['n']:,}")
        if big:
            goal = mem["n"] >= 100_000
            add(
                f"expand -n {mem['n']:,} peak RSS",
                "< 1 GB" if goal else "< 1 GB (at 100,000)",
                f"{big['peak_mb']:,.0f} MB",
                big["peak_mb"] < 1024 if goal else None,
            )
        clean = by.get(f"-n {mem['requests']:,}, no rejects")
        rej = by.get(f"-n {mem['requests']:,}, 9 rejects/reply")
        if clean and rej:
            extra = rej["peak_mb"] - clean["peak_mb"]
            add(
                f"peak RSS with {rej['rejected']:,} rejects vs none",
                "no growth",
                f"{extra:+.0f} MB ({rej['peak_mb']:.0f} vs {clean['peak_mb']:.0f} MB)",
                extra < max(20.0, 0.05 * clean["peak_mb"]),
            )
    return rows


def show(rows: list[list[str]], markdown: bool) -> None:
    head = ["figure", "target", "measured", "status"]
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join(" --- " for _ in head) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows, strict=False)]
    for r in [head, ["-" * w for w in widths], *rows]:
        print("  ".join(str(x).ljust(w) for x, w in zip(r, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (~2 minutes)")
    parser.add_argument("--markdown", action="store_true", help="summary as a Markdown table")
    parser.add_argument("--only", nargs="+", choices=list(FULL), default=list(FULL))
    parser.add_argument("--json-dir", type=Path, default=None, help="keep each bench's JSON")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    print_machine()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as name:
        json_dir = args.json_dir or Path(name)
        json_dir.mkdir(parents=True, exist_ok=True)
        results = {b: run_one(b, plan[b], json_dir) for b in args.only}
    print(f"\n===== summary ({'quick' if args.quick else 'full'} sizes)")
    show(summary(results), args.markdown)
    timings = ", ".join(f"{b} {t:.0f} s" for b, (_, _, t) in results.items())
    print(f"\ntook {time.perf_counter() - start:.0f} s ({timings})")


if __name__ == "__main__":
    main()
