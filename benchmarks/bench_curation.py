"""Per-stage CPU cost of curation, per candidate, on the throughput benchmark's own replies.

    python benchmarks/bench_curation.py [--replies 400]

Renders the request synthgen sends first (template ``expand``, seeds
``samples/support.jsonl``), takes the FakeTeacher's placeholder replies to it, and times
each stage a candidate goes through, and the per-request work (rendering, the JSON body).
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def per_call(items: list[Any], fn: Callable[[Any], object]) -> float:
    start = time.perf_counter()
    for item in items:
        fn(item)
    return (time.perf_counter() - start) / len(items) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replies", type=int, default=400)
    args = parser.parse_args()

    from synthgen.curate.filters import PromptGuard, QualityFilter, to_example
    from synthgen.curate.language import LanguageFilter
    from synthgen.data.example import Example
    from synthgen.run.expand import prepare
    from synthgen.settings import Settings
    from synthgen.testing import demo_reply
    from synthgen.text.index import DedupIndex

    out = Path(tempfile.mkdtemp()) / "o"
    job = prepare(
        ROOT / "samples" / "support.jsonl",
        Settings(n=100, model="m", base_url="http://127.0.0.1:9/v1", out_dir=out),
    )
    request = job.request(job.planner.plan(0))
    raws = [
        c["messages"]
        for i in range(args.replies)
        for c in demo_reply(request.messages, ordinal=i)["conversations"]
    ]
    built = [to_example(r, system="S", metadata={}) for r in raws]
    examples = [e for e in built if isinstance(e, Example)]
    quality = QualityFilter.from_seeds(job.seeds.examples)
    language = LanguageFilter("en", roles=("assistant",))
    guard = PromptGuard(request.messages[-1]["content"], request.shown)
    index = DedupIndex()
    counter = iter(range(10**9))

    def dedup(example: Example) -> None:
        features = index.features(example.dedup_text())
        if index.check_features(features) is None:
            index.add_features(str(next(counter)), features)

    print(f"{len(examples):,} candidates from {args.replies} replies; µs per call")
    rows = [
        ("schema (to_example)", per_call(raws, lambda r: to_example(r, system="S", metadata={}))),
        ("quality (refusals, length)", per_call(examples, quality)),
        ("language (assistant turns)", per_call(examples, language)),
        ("dedup sketch + check + add", per_call(examples, dedup)),
        ("prompt guard (copies, echo)", per_call(examples, guard)),
    ]
    for name, us in rows:
        print(f"  per candidate  {name:<30} {us:8.1f}")
    print(f"  per candidate  {'total':<30} {sum(us for _, us in rows):8.1f}")
    plans = [job.planner.plan(i) for i in range(args.replies)]
    print(f"  per request    {'render prompt':<30} {per_call(plans, job.request):8.1f}")
    body = {"messages": list(request.messages)}
    print(f"  per request    {'JSON body':<30} {per_call(plans, lambda _: json.dumps(body)):8.1f}")
    prompt = request.messages[-1]["content"]
    setup = per_call(plans, lambda _: PromptGuard(prompt, request.shown))
    print(f"  per reply      {'prompt guard set-up':<30} {setup:8.1f}")


if __name__ == "__main__":
    main()
