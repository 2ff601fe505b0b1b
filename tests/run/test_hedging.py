"""Hung requests do not stall the run: past an adaptive deadline a request is hedged (a
duplicate sent, the first reply kept, the other cancelled), and what that costs is counted
once: no duplicate examples, no cost counted twice, the paid second reply counted apart."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

from synthgen import expand
from synthgen.run.deadline import Deadline
from synthgen.run.hedge import Hedger, HedgeTally
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.demo import demo_reply
from synthgen.teacher.inprocess import InProcessTeacher
from synthgen.testing import Fault
from tests.engine_kit import accepted, completion, make_engine, make_job, run
from tests.helpers import SAMPLES, read_jsonl

MARV = SAMPLES / "marv.jsonl"


def journal(out: Path) -> list[dict[str, Any]]:
    return read_jsonl(out / ".synthgen" / "journal.jsonl")


def test_a_hung_request_is_hedged_and_the_run_goes_on(make_fake_teacher, tmp_path) -> None:
    # The first request to arrive hangs for ten minutes (the server's default); every other
    # is fine.
    fake = make_fake_teacher(replies=[Fault("hang")])
    out = tmp_path / "o"
    result = expand(
        MARV, 60, out_dir=out, model="m", base_url=fake.base_url, language="off", concurrency=4
    )
    report = result.report
    assert result.complete and report["accepted"] == 60
    assert fake.fault_counts["hang"] == 1
    hedging = report["requests"]["hedging"]
    # Request 0 was sent again past its deadline; the duplicate answered first and the
    # hung original was abandoned (cancelled: the server's handler went with it).
    assert hedging["sent"] >= 1 and hedging["abandoned"] >= 1
    bodies = [json.dumps(b["messages"]) for b in fake.requests]
    assert bodies.count(bodies[0]) == 2
    # Curated in order, each request once, each example once.
    records = journal(out)
    assert [r["i"] for r in records] == list(range(len(records)))
    hedged = [r["hedge"] for r in records if "hedge" in r]
    assert hedged and sum(h["sent"] for h in hedged) == hedging["sent"]
    lines = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    texts = [json.dumps(x["messages"]) for x in lines]
    assert len(texts) == len(set(texts)) == 60


def test_a_second_reply_is_paid_for_once_and_never_curated(tmp_path) -> None:
    """The hung original and its duplicate both answer: both were bought (the report says
    what the unused one cost), one is curated, and nothing is counted twice."""
    hung: dict[str, Any] = {}
    calls: list[str] = []

    async def respond(request: ChatRequest) -> Completion:
        key = json.dumps(request.messages)
        calls.append(key)
        reply = completion(request, demo_reply(request.messages))
        if len(calls) == 6:  # this request hangs until its duplicate arrives
            hung["key"] = key
            hung["gate"] = asyncio.get_running_loop().create_future()
            await hung["gate"]
        elif key == hung.get("key"):  # the duplicate: lets the original answer too
            hung["gate"].set_result(None)
        return reply

    def price(pt: int, ct: int, cached: int = 0) -> float:
        return pt * 1e-6 + ct * 2e-6

    job = make_job(tmp_path / "o", 40, concurrency=4)
    engine = run(make_engine(job, InProcessTeacher(respond), price=price, hedge_floor=0.05))
    s = engine.stats
    assert engine.curator.done and calls.count(hung["key"]) == 2
    assert s.hedge.sent == 1 and s.hedge.prompt_tokens > 0 and s.hedge.completion_tokens > 0
    assert s.hedge.abandoned == 0  # both answered: neither was cut off
    # The cost is every reply bought: the curated ones plus the unused second one.
    curated = [r for r in journal(job.settings.out_dir) if r.get("src") == "sent"]
    unused = price(s.hedge.prompt_tokens, s.hedge.completion_tokens)
    assert s.hedge.cost_usd == unused
    paid = math.fsum(
        [*(r["cost"] for r in curated), unused, *(p.cost for p in engine.ledger.settled)]
    )
    assert math.isclose(s.cost_usd, paid)
    assert s.prompt_tokens == sum(r["pt"] for r in curated) + sum(
        p.prompt_tokens for p in engine.ledger.settled if not p.unused
    )
    examples = accepted(engine)
    assert len(examples) == len(set(examples)) == 40


def test_a_failed_duplicate_abandons_the_attempt_for_a_retry() -> None:
    """The duplicate fails (a 500) while the original still hangs: both are dropped and the
    caller retries, as after any failure."""
    from synthgen.errors import TeacherError

    async def go() -> tuple[str, HedgeTally]:
        deadline = Deadline(120.0, floor=0.01, min_samples=1)
        deadline.observe(0.001)
        sends = 0
        hang = asyncio.get_running_loop().create_future()

        async def send() -> Completion:
            nonlocal sends
            sends += 1
            if sends == 1:
                await hang  # never answers
            raise TeacherError("server error", kind="server")

        tally = HedgeTally()
        try:
            await Hedger(deadline).call(send, tally)
        except TeacherError as e:
            return e.kind, tally
        return "answered", tally

    kind, tally = asyncio.run(go())
    assert kind == "server" and tally.sent == 1 and tally.abandoned == 1 and not tally.unused


def test_the_deadline_learns_from_latencies_within_floor_and_timeout() -> None:
    deadline = Deadline(30.0, floor=2.0, margin=3.0, min_samples=8)
    assert deadline.seconds is None  # nothing seen yet: no deadline to go by
    for _ in range(20):
        deadline.observe(0.02)
    assert deadline.seconds == 2.0  # 20 ms replies: the floor
    for _ in range(256):
        deadline.observe(4.0)
    assert deadline.seconds == 12.0  # the 95th percentile, three times over
    for _ in range(256):
        deadline.observe(50.0)
    assert deadline.seconds == 30.0  # never past --timeout
