"""--batch vs live on the same job: cost per accepted example, requests bought, batches.

    python benchmarks/bench_batch.py [--n 300] [--faults 0.05] [--json FILE]

The same ``expand`` of ``samples/support.jsonl`` (priced as ``gpt-4o-mini``: live $0.15/M in,
$0.60/M out; batch $0.075/M in, $0.30/M out, from litellm's table), once live at 16 in
flight and once through the batch API, against one FakeTeacher (placeholder replies; a share
``--faults`` of requests, live or batch lines, answered with HTTP 500, retried). The batch
API completes a batch 0.2 s after it is created, polled every second; a real one takes
minutes to hours, so wall times are not compared. The batch run is the same job as the live
one (``--frontier 0.4``, the template's, given explicitly); a third run is ``--batch`` as
users get it, with the frontier off (another job: prompts show seeds only), which shows how
many batches a job takes when rounds are not bounded by the frontier's lag. Figures only;
nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import print_machine  # noqa: E402

MODEL = "gpt-4o-mini"
SEEDS = ROOT / "samples" / "support.jsonl"


def _run(
    n: int, faults: float, batch: bool, folder: Path, frontier: float | None = None
) -> dict[str, Any]:
    from synthgen import expand
    from synthgen.testing import FakeTeacher

    options: dict[str, Any] = dict(faults={"500": faults}, fault_seed=1) if faults else {}
    with FakeTeacher(batch_delay=0.2, **options) as fake:
        started = time.perf_counter()
        result = expand(
            SEEDS,
            n,
            out_dir=folder / f"{batch}-{frontier}",
            model=MODEL,
            base_url=fake.base_url,
            cache=False,
            language="off",
            batch=batch,
            batch_poll=1.0,
            frontier=frontier,
        )
        wall = time.perf_counter() - started
    r = result.report
    return {
        "mode": ("batch" if batch else "live")
        + (", frontier off" if frontier is None and batch else ""),
        "accepted": r["accepted"],
        "sent": r["requests"]["sent"],
        "retries": r["requests"]["retries"],
        "replies": r["replies"],
        "prompt_tokens": r["tokens"]["prompt"],
        "completion_tokens": r["tokens"]["completion"],
        "cost_usd": r["cost_usd"],
        "cost_per_accepted": r["cost_usd"] / max(r["accepted"], 1),
        "batch": r["run"].get("batch"),
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--faults", type=float, default=0.05, help="share of requests: 500")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    print_machine()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["SYNTHGEN_CACHE_DIR"] = str(Path(tmp) / "cache")
        # The live job's frontier, given explicitly: --batch alone turns it off.
        rows = [
            _run(args.n, args.faults, batch, Path(tmp), frontier=0.4) for batch in (False, True)
        ]
        # --batch's default (no accepted examples in prompts): rounds are not bounded by the lag.
        rows.append(_run(args.n, args.faults, True, Path(tmp)))
    print(f"expand -n {args.n} of {SEEDS.name}, {MODEL}, {args.faults:.0%} of requests fail (500)")
    print(
        f"{'mode':20} {'accepted':>8} {'sent':>5} {'retries':>7} {'tokens in/out':>17} "
        f"{'cost $':>9} {'$/accepted':>11}  batches"
    )
    for row in rows:
        b = row["batch"]
        batches = (
            f"{b['submitted']} submitted, {b['polls']} polls, {b['failed_lines']} lines retried"
            if b
            else "-"
        )
        print(
            f"{row['mode']:20} {row['accepted']:>8} {row['sent']:>5} {row['retries']:>7} "
            f"{row['prompt_tokens']:>8,}/{row['completion_tokens']:<8,} {row['cost_usd']:>9.5f} "
            f"{row['cost_per_accepted']:>11.7f}  {batches}"
        )
    live, batched, _ = rows
    ratio = batched["cost_per_accepted"] / live["cost_per_accepted"]
    print(f"batch / live cost per accepted example: {ratio:.3f}")
    if args.json is not None:
        args.json.write_text(json.dumps({"rows": rows, "ratio": ratio}, indent=2) + "\n")


if __name__ == "__main__":
    main()
