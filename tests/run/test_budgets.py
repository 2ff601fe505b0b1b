"""Each way a run stops early, at its edge: --max-requests, --max-cost and the yield guard."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthgen.run.budgets import Budgets, Stop, diagnose
from synthgen.run.ledger import Ledger, Purchase
from synthgen.teacher import ChatRequest, Completion
from synthgen.teacher.demo import demo_reply
from synthgen.teacher.inprocess import InProcessTeacher
from tests.engine_kit import Demo, completion, make_engine, make_job, run, scrambled


@pytest.mark.parametrize(
    "cap,stop,accepted", [(7, None, 35), (6, "max_requests", 30)], ids=["enough", "one-short"]
)
def test_max_requests_exactly_reached(
    tmp_path: Path, cap: int, stop: str | None, accepted: int
) -> None:
    # Every candidate is accepted, five a request: 35 examples take exactly 7 requests.
    demo = Demo(scrambled)
    teacher = InProcessTeacher(demo)
    engine = run(make_engine(make_job(tmp_path / "o", 35, max_requests=cap), teacher))
    assert engine.stop_reason == stop
    assert teacher.calls == engine.stats.sent == cap
    assert engine.stats.accepted == accepted and engine.stats.rejected_total == 0
    if stop is not None:
        assert engine.stop_detail == f"max_requests={cap} reached"  # the library names parameters


@pytest.mark.parametrize("cap,bought", [(1.0, 4), (1.01, 5)], ids=["at", "just-above"])
def test_max_cost_stops_buying_once_reached(tmp_path: Path, cap: float, bought: int) -> None:
    teacher = InProcessTeacher(Demo())
    job = make_job(tmp_path / "o", 500, concurrency=1)
    engine = run(make_engine(job, teacher, price=lambda pt, ct, cached: 0.25, max_cost=cap))
    assert engine.stop_reason == "max_cost"
    assert engine.stop_detail == f"max_cost={cap!r} reached"
    assert teacher.calls == engine.stats.sent == bought
    assert engine.stats.cost_usd == 0.25 * bought
    # The reply that crossed the cap was paid for but not curated: it stays counted.
    assert engine.stats.requests == bought - 1
    assert [(p.cost, p.judge) for p in engine.ledger.settled] == [(0.25, False)]


FIRST = {
    "conversations": [
        {
            "messages": [
                {"role": "user", "content": "How many legs does a spider have?"},
                {"role": "assistant", "content": "Eight. Count them yourself if you doubt me."},
            ]
        }
    ]
}


@pytest.mark.parametrize(
    "period,stop,replies",
    [(20, "max_requests", 60), (21, "low_yield", 21)],
    ids=["yield-at-the-minimum", "yield-below"],
)
def test_yield_guard_at_its_boundary(tmp_path: Path, period: int, stop: str, replies: int) -> None:
    """One candidate a reply; a new one every ``period`` replies, else the same again (an
    exact duplicate). Window 20, minimum 5%: one new in every 20 is exactly enough."""
    calls: list[int] = []

    def respond(request: ChatRequest) -> Completion:
        calls.append(len(calls))
        i = len(calls) - 1
        if i % period == 0 and i:
            return completion(request, demo_reply(request.messages, ordinal=i, per_reply=1))
        return completion(request, FIRST)

    job = make_job(tmp_path / "o", 500, concurrency=1, max_requests=60)
    engine = run(make_engine(job, InProcessTeacher(respond), yield_window=20, min_yield=0.05))
    assert engine.stop_reason == stop
    assert engine.stats.replies == replies
    if stop == "low_yield":
        assert engine.stop_detail == diagnose("exact_duplicate", 20, 20)
        assert engine.stop_detail.startswith("100% of the last 20 candidates were rejected")


def test_budgets_read_what_is_sent_and_bought_before_it_is_curated() -> None:
    ledger = Ledger(yield_window=4)
    budgets = Budgets(ledger, Stop(), max_requests=3, max_cost=1.0)
    ledger.sent()
    ledger.bought(0, Purchase(10, 5, 0.5))
    ledger.bought(0, Purchase(3, 1, 0.25, judge=True))  # a judge call is not a request
    ledger.sent()  # request 1: sent, no reply yet
    assert ledger.requests_used == 2 and ledger.spent == 0.75
    assert budgets.may_send(in_flight=1) and not budgets.check_cost()
    ledger.sent()  # request 2: the third sent, the cap
    assert not budgets.may_send(in_flight=2)
    assert budgets.stop.reason is None  # those in flight may still finish the job
    ledger.bought(2, Purchase(10, 5, 0.25))
    assert budgets.check_cost() and budgets.stop.reason == "max_cost"
    assert not budgets.may_send(in_flight=0)
    assert budgets.stop.reason == "max_cost"  # the first reason stays


def test_diagnose_names_the_reason_and_what_to_do() -> None:
    assert diagnose("refusal", 150, 200) == (
        "75% of the last 200 candidates were rejected as refusal: "
        "the teacher refuses the task: reword the seeds or the system prompt"
    )
    assert diagnose("wrong_language", 1, 3) == (
        "33% of the last 3 candidates were rejected as wrong language: "
        "check .synthgen/rejected.jsonl for what the teacher returns"
    )
