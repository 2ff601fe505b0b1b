"""Where the money went: cached prompt tokens and the tokens per outcome are counted from
the journal (so a resume reports the same), priced at the cached rate, and shown in
report.json, the summary and the card."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.cli.summary import summary_lines
from synthgen.data.example import Example
from synthgen.run.journal import JournalRecord
from synthgen.run.ledger import Ledger, Purchase
from synthgen.run.spend import TokenUse
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.demo import demo_reply, prompt_tokens, rough_tokens
from synthgen.teacher.inprocess import InProcessTeacher
from synthgen.teacher.pricing import cache_saving, estimate_cost
from synthgen.testing import FakeTeacher
from synthgen.testing.usage import PromptCache
from tests.engine_kit import counts, make_engine, make_job, replayed, run
from tests.helpers import SAMPLES

# A dataset system prompt long enough (≈1,300 tokens) for the fixed part of every prompt to
# pass the 1,024 tokens providers cache from.
LONG_SYSTEM = " ".join(
    f"Rule {i}: answer questions about Lumen Notes politely, briefly and precisely."
    for i in range(70)
)


def _example(i: int) -> Example:
    return Example.from_pairs([("user", f"q{i}?"), ("assistant", f"a{i}.")])


def test_a_reply_s_tokens_are_split_over_its_candidates_outcomes() -> None:
    use = TokenUse()
    use.count(
        JournalRecord(
            i=0,
            src="sent",
            pt=1000,
            ct=600,
            cost=0.6,
            cand=6,
            acc=[_example(0), _example(1)],
            rej=[{"reason": "near_duplicate"}, {"reason": "over_asked", "count": 2}],
            sur=1,
        )
    )
    use.count(
        JournalRecord(i=1, src="sent", pt=500, ct=100, cost=0.1, rej=[{"reason": "truncated"}])
    )
    use.count(JournalRecord(i=2, src="sent", pt=300, ct=10))  # no conversations at all
    use.count(JournalRecord(i=3, src="cache", pt=999, ct=999, cand=1, acc=[_example(3)]))
    section = use.section(prompt=2000, completion=800, cached_share=0.5, cost=0.9, accepted=3)
    by = section["by_outcome"]
    assert by["accepted"] == {
        "count": 2,
        "prompt": 333,
        "completion": 200,
        "cost_usd": 0.2,
        "share": round(533.33 / 2800, 4),
    }
    assert (by["over_asked"]["count"], by["over_asked"]["prompt"]) == (2, 333)
    assert (by["near_duplicate"]["count"], by["over_quota"]["count"]) == (1, 1)
    assert by["truncated"] == {
        "count": 1,
        "prompt": 500,
        "completion": 100,
        "cost_usd": 0.1,
        "share": round(600 / 2800, 4),
    }
    assert (by["empty_reply"]["count"], by["empty_reply"]["prompt"]) == (0, 300)
    # What the totals hold beyond the curated replies (a reply that landed as the run
    # stopped): not_curated. The cache hit cost nothing and is nowhere.
    assert (by["not_curated"]["prompt"], by["not_curated"]["completion"]) == (200, 90)
    assert sum(o["prompt"] for o in by.values()) == 2000
    assert sum(o["completion"] for o in by.values()) == 800
    # Costliest first, and the per-example figures over everything bought.
    tokens = [o["prompt"] + o["completion"] for o in by.values()]
    assert tokens == sorted(tokens, reverse=True)
    assert section["per_accepted"] == {"prompt": 666.7, "completion": 266.7}
    assert section["cached_share"] == 0.5
    none = TokenUse().section(prompt=0, completion=0, cached_share=None, cost=0, accepted=0)
    assert none == {
        "cached_share": None,
        "cache_saving_usd": None,
        "per_accepted": None,
        "by_outcome": {},
    }


class _Caching:
    """Demo replies with the cached tokens an OpenAI-style prompt cache reports."""

    def __init__(self) -> None:
        self.cache = PromptCache()
        self.cached: list[int] = []

    def __call__(self, request: ChatRequest) -> Completion:
        text = json.dumps(demo_reply(request.messages), ensure_ascii=False)
        pt = prompt_tokens(request.messages)
        cached = self.cache.cached_tokens({"model": "m", "messages": request.messages}, pt)
        self.cached.append(cached)
        return Completion(text, "stop", pt, rough_tokens(text), cached)


def test_cached_tokens_are_journaled_and_replayed(tmp_path: Path) -> None:
    respond = _Caching()
    job = make_job(tmp_path / "o", 40, system=LONG_SYSTEM, concurrency=1)
    price = lambda pt, ct, cached: estimate_cost("gpt-4o-mini", pt, ct, cached)  # noqa: E731
    live = run(make_engine(job, InProcessTeacher(respond), price=price))
    s = live.stats
    assert s.cached_tokens == sum(respond.cached) > 0 and live.ledger.settled == []
    lines = [json.loads(x) for x in job.state.journal_path.read_text().splitlines()]
    assert sum(x.get("cpt", 0) for x in lines) == s.cached_tokens
    assert all("cpt" not in x for x in lines if x.get("cpt", 0) == 0)  # no key for none
    # The cost was computed at the cached rate.
    assert s.cost_usd == pytest.approx(
        estimate_cost("gpt-4o-mini", s.prompt_tokens, s.completion_tokens, s.cached_tokens)
    )
    again = replayed(job)
    assert counts(again.stats) == counts(s)
    assert again.stats.cached_tokens == s.cached_tokens
    assert counts(s)["token_use"]["by_outcome"]["accepted"]["count"] == s.accepted


def test_settled_purchases_keep_their_cached_tokens() -> None:
    ledger = Ledger()
    ledger.bought(7, Purchase(2000, 100, 0.01, cached_tokens=1536))
    ledger.bought(7, Purchase(300, 10, 0.001, judge=True))
    entries = ledger.settle()
    assert ledger.stats.cached_tokens == 1536 and ledger.stats.judge_cost == 0.001
    later = Ledger()
    for entry in json.loads(json.dumps(entries)):  # as the settled log keeps them
        later.count_settled(entry)
    assert later.stats.cached_tokens == 1536 and later.stats.prompt_tokens == 2000
    section = later.stats.to_dict()["token_use"]
    assert section["by_outcome"]["not_curated"]["prompt"] == 2000
    assert section["by_outcome"]["not_curated"]["cost_usd"] == pytest.approx(0.01)


def _reported_cached(requests: list[dict[str, Any]]) -> int:
    """The cached tokens FakeTeacher reported for these requests, in order."""
    cache = PromptCache()
    return sum(cache.cached_tokens(body, prompt_tokens(body["messages"])) for body in requests)


def test_a_run_reports_cached_tokens_saving_and_where_tokens_went(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with FakeTeacher(faults={"length": 0.1}, fault_seed=3) as fake:
        result = expand(
            SAMPLES / "seeds.txt",
            40,
            model="gpt-4o-mini",
            base_url=fake.base_url,
            out_dir=out,
            system=LONG_SYSTEM,
            concurrency=1,
        )
        sent = fake.requests
    r = result.report
    tokens, use = r["tokens"], r["token_use"]
    assert tokens["cached"] == _reported_cached(sent) > 0
    assert use["cached_share"] == round(tokens["cached"] / tokens["prompt"], 4) > 0.3
    assert use["cache_saving_usd"] == round(cache_saving("gpt-4o-mini", tokens["cached"]), 6) > 0
    full = estimate_cost("gpt-4o-mini", tokens["prompt"], tokens["completion"])
    assert full is not None and r["cost_usd"] == pytest.approx(
        full - use["cache_saving_usd"], abs=1e-6
    )
    by = use["by_outcome"]
    assert by["accepted"]["count"] == r["accepted"] and by["truncated"]["count"] > 0
    assert abs(sum(o["prompt"] for o in by.values()) - tokens["prompt"]) <= len(by)
    assert use["per_accepted"]["prompt"] == round(tokens["prompt"] / r["accepted"], 1)
    lines = summary_lines(r, out)
    assert f"{tokens['cached']:,} cached" in lines[3] and "prompt caching saved $" in lines[3]
    assert "tokens per accepted example" in lines[4] and "truncated" in lines[4]
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "served from the provider's prompt cache" in card and "prompt caching saved $" in card
    assert "| `truncated` |" in card and "teacher tokens bought per accepted example" in card
