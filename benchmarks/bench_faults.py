"""Faults: `synthgen expand` against a teacher that hangs, fails and rate-limits, against the
same job on a clean teacher, side by side in one run.

    python benchmarks/bench_faults.py [--n 300] [--storm 60] [--json FILE]

1. fault run: a FakeTeacher (its own process) answering in ~20 ms where 1% of requests hang
   for 90 s, 8% get 429, 5% get 500, and some replies are dirty (2% malformed JSON, 2% cut
   at the token limit, 1% empty); wall time against the same `expand -n N` on the clean
   teacher (same latency, no faults).
2. storm run: the clean teacher, except that it answers 429 (Retry-After: 1) to everything
   for `--storm` seconds from the first request, then recovers; wall time, the pause the
   report counts, and requests sent against the clean run's.

Each `synthgen expand` runs through its CLI (`--no-cache`, seeds samples/support.jsonl,
`--language off`), with the figures of its report.json. Never asserts on time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from _common import bench_env, print_machine, run_child, synthgen_exe

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "samples" / "support.jsonl"
FAULTS = "hang=0.01,429=0.08,500=0.05,malformed=0.02,length=0.02,empty=0.01"


class Teacher:
    """``python -m synthgen.testing`` in its own process."""

    def __init__(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "synthgen.testing", "--latency", "0.02", *args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.proc.kill()
            raise SystemExit(f"FakeTeacher did not start: {line!r}")
        self.url = line.split()[1]
        self.served: dict[str, Any] | None = None

    def __enter__(self) -> Teacher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> dict[str, Any]:
        """Stop the server; what it served (requests, faults by kind)."""
        if self.served is None:
            self.proc.terminate()
            out, _ = self.proc.communicate(timeout=30)
            self.served = {}
            for line in out.splitlines():
                if line.startswith("SERVED "):
                    self.served = json.loads(line[len("SERVED ") :])
        return self.served


def expand(url: str, n: int, tmp: Path, name: str) -> dict[str, Any]:
    out = tmp / name
    cmd = [
        synthgen_exe(),
        "expand",
        str(SEEDS),
        "-n",
        str(n),
        "--model",
        "fake",
        "--base-url",
        url,
        "--out",
        str(out),
        "--no-cache",
        "--language",
        "off",
        "-q",
    ]
    env = bench_env(tmp) | {"OPENAI_API_KEY": "sk-bench"}
    child = run_child(cmd, env=env, timeout=900)
    report: dict[str, Any] = {}
    if (out / "report.json").exists():
        report = json.loads((out / "report.json").read_text())
    req = report.get("requests", {})
    fig: dict[str, Any] = {
        "wall_s": round(child.wall_s, 2),
        "exit": child.returncode,
        "accepted": report.get("accepted"),
        "complete": report.get("complete"),
        "sent": req.get("sent"),
        "retries": req.get("retries"),
        "failed": req.get("failed"),
        "faults": req.get("faults"),
        "hedging": req.get("hedging"),
        "rate_limited": report.get("run", {}).get("rate_limited"),
        "train_ok": report.get("validation", {}).get("train", {}).get("ok"),
    }
    if child.returncode != 0:
        fig["stderr"] = child.stderr[-600:]
    return fig


def show(name: str, fig: dict[str, Any]) -> None:
    print(f"  {name}: {fig['wall_s']:.1f} s, exit {fig['exit']}, accepted {fig['accepted']}")
    print(
        f"    sent {fig['sent']}, retries {fig['retries']}, failed {fig['failed']}, "
        f"faults {fig['faults']}"
    )
    if fig.get("hedging"):
        print(f"    hedging {fig['hedging']}")
    if fig.get("rate_limited"):
        print(f"    rate limited {fig['rate_limited']}")
    if fig.get("served"):
        print(f"    the server saw {fig['served']}")
    if fig.get("stderr"):
        print(f"    stderr: {fig['stderr']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--storm", type=float, default=60.0, help="seconds of 429s")
    parser.add_argument(
        "--fault-seeds", default="0,1,2", help="one fault run per seed of the fault draws"
    )
    parser.add_argument("--json", type=Path, default=None, help="write the figures here")
    args = parser.parse_args()
    print_machine()
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        with Teacher() as clean:
            figures["clean"] = expand(clean.url, args.n, tmp, "clean")
        for seed in args.fault_seeds.split(","):
            with Teacher("--faults", FAULTS, "--hang", "90", "--fault-seed", seed) as faulty:
                fig = expand(faulty.url, args.n, tmp, f"faults{seed}")
                fig["served"] = faulty.stop()
            figures[f"faults (seed {seed})"] = fig
        with Teacher("--storm", str(args.storm)) as storm:
            figures["storm"] = expand(storm.url, args.n, tmp, "storm")
            figures["storm"]["served"] = storm.stop()
    print(f"\nexpand -n {args.n}, FakeTeacher at ~20 ms per reply; faults: {FAULTS}, hangs 90 s")
    for name, fig in figures.items():
        show(name, fig)
    clean_s = figures["clean"]["wall_s"]
    print()
    for name, fig in figures.items():
        if name.startswith("faults"):
            print(
                f"  {name} / clean run: {fig['wall_s'] / clean_s:.2f}x "
                f"({fig['wall_s']:.1f} s vs {clean_s:.1f} s; target < 30 s)"
            )
    print(
        f"  storm run - storm: {figures['storm']['wall_s'] - args.storm:.1f} s "
        f"(clean run {clean_s:.1f} s)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
