"""Start-up: ``synthgen --help`` and ``synthgen validate`` against a bare ``python -c pass``.

    python benchmarks/bench_startup.py [--runs 10]

Wall time of each command, median of ``--runs`` runs (after one warm-up run each, so the
figures are for warm OS file caches). Then ``python -X importtime`` lists the heavy modules
each command imports: openai, litellm, datasketch, numpy, tiktoken, aiohttp and rich must
not be among them for ``--help``. Figures only; nothing is asserted.
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

from _common import print_machine, synthgen_exe

HEAVY = ("openai", "litellm", "datasketch", "numpy", "tiktoken", "aiohttp", "rich")
NOTED = ("pydantic", "jinja2", "httpx", "httpx2", "typer", "click", "yaml")


def ten_lines(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for i in range(10):
            record = {
                "messages": [
                    {"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": f"What is {i} plus {i}?"},
                    {"role": "assistant", "content": f"{i} plus {i} is {2 * i}."},
                ]
            }
            fh.write(json.dumps(record) + "\n")
    return path


def median_wall(cmd: list[str], runs: int) -> tuple[float, float]:
    """(median, min) seconds of ``cmd``, after one warm-up run."""
    times = []
    for k in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if k:
            times.append(time.perf_counter() - start)
    return statistics.median(times), min(times)


def imports(args: list[str]) -> dict[str, float]:
    """Top-level package -> cumulative import seconds, from ``-X importtime``."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "synthgen", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    packages: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, raw = line[len("import time:") :].split("|")
        name = raw.strip()
        top = name.split(".")[0]
        seconds = int(cumulative) / 1e6 if name == top else 0.0
        packages[top] = max(packages.get(top, 0.0), seconds)
    return packages


def run(runs: int) -> dict[str, Any]:
    exe = synthgen_exe()
    with tempfile.TemporaryDirectory(prefix="synthgen-bench-") as name:
        data = ten_lines(Path(name) / "ten.jsonl")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -c 'import typer'": [sys.executable, "-c", "import typer"],
            "synthgen --help": [exe, "--help"],
            "synthgen validate (10 lines)": [exe, "validate", str(data)],
        }
        timings = {label: median_wall(cmd, runs) for label, cmd in commands.items()}
        loaded = {
            "synthgen --help": imports(["--help"]),
            "synthgen validate (10 lines)": imports(["validate", str(data)]),
        }
    return {"runs": runs, "timings": timings, "imports": loaded}


def show(result: dict[str, Any]) -> None:
    base = result["timings"]["python -c pass"][0]
    print(f"\nwall time, median of {result['runs']} runs (warm caches)")
    print(f"{'command':<30} {'median':>8} {'min':>8} {'minus python':>13}")
    for label, (med, low) in result["timings"].items():
        print(f"{label:<30} {med:>7.3f}s {low:>7.3f}s {med - base:>12.3f}s")
    for label, packages in result["imports"].items():
        heavy = [f"{p} ({packages[p]:.2f}s)" for p in HEAVY if p in packages]
        noted = [f"{p} ({packages[p]:.2f}s)" for p in NOTED if p in packages]
        top = sorted(packages.items(), key=lambda kv: -kv[1])[:6]
        print(f"\n{label}: imports {len(packages)} top-level packages")
        print(f"  heavy ones: {', '.join(heavy) or 'none'}")
        print(f"  others of note: {', '.join(noted) or 'none'}")
        print("  slowest (cumulative): " + ", ".join(f"{p} {s:.3f}s" for p, s in top))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print_machine()
    result = run(args.runs)
    show(result)
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
