"""Where ``synthgen expand`` spends its CPU under the throughput benchmark's load.

    python benchmarks/profile_expand.py [--concurrency 256] [-n 20000] [--rate 100]

Starts the FakeTeacher process (200 ms per reply), runs ``synthgen expand`` under
``py-spy record --gil --subprocesses`` (samples only the thread holding the GIL: where Python
time goes; the curation worker process, when the run uses one, is sampled too and counted
under "worker process"), and prints the share of samples per stage, then the top functions
by own time and by inclusive time. ``--raw FILE`` keeps py-spy's collapsed stacks
(flamegraph input). Needs py-spy (``pip install py-spy``); figures only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from _common import SEEDS, Server, bench_env, print_machine

# Tested in order against the whole stack; the first match names the sample's stage.
# Curation and output are split further by the innermost synthgen module on the stack.
STAGES: list[tuple[str, str]] = [
    ("worker process", r"\bserve \(synthgen/run/curation_child\.py"),
    ("import", "_find_and_load"),
    ("output", r"write_outputs"),
    ("curate", r"Curator\.curate"),
    ("journal, ledger, pool", r"Engine\._curate"),
    ("curation worker: pickling, pipe", r"curation_worker\.py"),
    ("engine: plan + render request", r"Job\.request|Planner\.|jinja2/"),
    ("teacher: aiohttp transport", r"teacher/http\.py|aiohttp/"),
    ("runner: cache, pacing, retries", r"RequestRunner\."),
    ("engine: other", r"run/engine\.py"),
    ("asyncio event loop", r"asyncio/"),
]
_SPLIT = {"curate", "output", "worker process"}
_MODULE = re.compile(r"\((synthgen/[\w/]+\.py):")

_PREFIXES = re.compile(r"/[^ ;()]*/(?:site-packages|python3\.\d+|src)/")


def parse(raw: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append(([_PREFIXES.sub("", f) for f in stack.split(";")], int(count)))
    return stacks


def summarise(stacks: list[tuple[list[str], int]], top: int) -> None:
    total = sum(c for _, c in stacks)
    stages: Counter[str] = Counter()
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    patterns = [(name, re.compile(p)) for name, p in STAGES]
    for frames, count in stacks:
        joined = ";".join(frames)
        stage = next((name for name, p in patterns if p.search(joined)), "other")
        if stage in _SPLIT:
            modules = _MODULE.findall(joined)
            stage = f"{stage}: {modules[-1] if modules else '?'}"
        stages[stage] += count
        own[frames[-1]] += count
        for f in set(frames):
            inclusive[f] += count
    print(f"\n{total:,} samples of the GIL-holding thread")
    print("\nby stage (a sample counts once, for the first stage its stack matches):")
    for name, count in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"  {100 * count / total:5.1f}%  {name}")
    print(f"\ntop {top} by own time:")
    for f, count in own.most_common(top):
        print(f"  {100 * count / total:5.1f}%  {f}")
    print(f"\ntop {top} by inclusive time (below the event loop):")
    shown = 0
    for f, count in inclusive.most_common():
        if count > 0.9 * total:
            continue  # the CLI, asyncio.run and run_forever frames: everything
        print(f"  {100 * count / total:5.1f}%  {f}")
        shown += 1
        if shown == top:
            break


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=256)
    parser.add_argument("-n", type=int, default=20_000)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second")
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--raw", type=Path, default=None, help="keep the collapsed stacks here")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(py_spy).exists():
        raise SystemExit("py-spy is not installed: pip install py-spy")
    print_machine()
    with (
        tempfile.TemporaryDirectory(prefix="synthgen-prof-") as name,
        Server("--latency", str(args.latency)) as server,
    ):
        tmp = Path(name)
        raw = args.raw or tmp / "stacks.txt"
        cmd = [py_spy, "record", "--gil", "--subprocesses", "-r", str(args.rate), "-f", "raw"]
        cmd += ["-o", str(raw)]
        cmd += ["--", sys.executable, "-m", "synthgen", "expand", str(SEEDS), "-n", str(args.n)]
        cmd += ["--base-url", server.url, "--model", "m", "--concurrency", str(args.concurrency)]
        cmd += ["--no-cache", "-q", "-o", str(tmp / "out")]
        done = subprocess.run(cmd, env=bench_env(tmp), capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"profiled run failed ({done.returncode}):\n{done.stderr[-2000:]}")
        stats = server.stats()
        print(
            f"synthgen expand -n {args.n:,} at concurrency {args.concurrency}, under py-spy: "
            f"{stats['count']:,} requests, {stats['rate']:.0f} req/s (sampling slows it)"
        )
        summarise(parse(raw), args.top)


if __name__ == "__main__":
    main()
