"""The engine curating in a worker process (SYNTHGEN_CURATION_WORKER=on): the journal and the
output curating on the loop gives, prompts that show the same frontier, and exactly n."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from synthgen.curate.drop import Drop
from synthgen.data.example import Example
from synthgen.run.curation_worker import MODE_ENV
from synthgen.run.engine import Engine
from synthgen.teacher.cache import ResponseCache
from synthgen.teacher.inprocess import InProcessTeacher
from tests.engine_kit import (
    Demo,
    accepted,
    counts,
    make_engine,
    make_job,
    never,
    replayed,
    run,
    scrambled,
)


@dataclass(frozen=True)
class SaysWhere:
    """Drops the candidates of every fifth request, naming the process that checked them."""

    def __call__(self, example: Example) -> Drop | None:
        if example.metadata["request"] % 5 == 0:
            return Drop("checked_in", f"pid {os.getpid()}")
        return None


def _journal(out: Path) -> list[dict[str, Any]]:
    lines = (out / ".synthgen" / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    for record in records:  # the process that curated is the one expected difference
        for row in record.get("rej", []):
            if row["reason"] == "checked_in":
                row["detail"] = "pid"
    return records


def _run(out: Path, mode: str, monkeypatch: pytest.MonkeyPatch, **config: Any) -> Engine:
    monkeypatch.setenv(MODE_ENV, mode)
    job = make_job(out, 300)
    assert job.lag == 32  # the frontier is on: prompts show examples accepted 32 back
    demo = Demo(scrambled, pure=True)
    engine = make_engine(job, InProcessTeacher(demo), **config)
    engine.curator.checks.append(SaysWhere())
    engine.demo = demo  # type: ignore[attr-defined]
    return run(engine)


def _pids(out: Path) -> set[str]:
    lines = (out / ".synthgen" / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    rows = [row for line in lines for row in json.loads(line).get("rej", [])]
    return {row["detail"] for row in rows if row["reason"] == "checked_in"}


def test_the_worker_journals_what_curating_on_the_loop_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    there = _run(tmp_path / "on", "on", monkeypatch, concurrency=16)
    here = _run(tmp_path / "off", "off", monkeypatch, concurrency=16)
    assert _pids(tmp_path / "off") == {f"pid {os.getpid()}"}
    assert _pids(tmp_path / "on") and f"pid {os.getpid()}" not in _pids(tmp_path / "on")
    assert there.curator.done and here.curator.done
    assert accepted(there) == accepted(here)
    assert _journal(tmp_path / "on") == _journal(tmp_path / "off")
    # Every prompt both runs sent showed the same frontier (how many were sent past the
    # last one curated depends on timing).
    sent_here = [r.messages for r in here.demo.requests]  # type: ignore[attr-defined]
    sent_there = [r.messages for r in there.demo.requests]  # type: ignore[attr-defined]
    both = min(len(sent_here), len(sent_there))
    assert both >= len(_journal(tmp_path / "on"))
    assert sent_there[:both] == sent_here[:both]
    assert any(r.shown for r in here.demo.requests)  # type: ignore[attr-defined]


def test_with_the_worker_a_run_stops_at_exactly_n_and_counts_what_it_bought(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = _run(tmp_path / "on", "on", monkeypatch, concurrency=64)
    job = make_job(tmp_path / "on", 300)
    records = _journal(tmp_path / "on")
    assert len(engine.curator.accepted) == sum(len(r.get("acc", [])) for r in records) == 300
    s = engine.stats
    # Replies that came back after the quotas filled are paid for: settled, not dropped...
    bought = sum(1 for r in records if "fail" not in r) + len(engine.ledger.settled)
    assert s.prompt_tokens == sum(r.get("pt", 0) for r in records) + sum(
        p.prompt_tokens for p in engine.ledger.settled
    )
    assert bought <= s.sent
    # ...and kept for the runs after it: a replay reports what the run reported.
    assert counts(replayed(job).stats) == counts(s)


def test_the_worker_keeps_requests_within_the_frontiers_lag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first reply comes last: with the worker, requests still run at most lag (32)
    ahead of the last outcome journaled, so what a prompt shows does not depend on timing."""
    monkeypatch.setenv(MODE_ENV, "on")

    def runs(out: Path, stall: int) -> tuple[list[int], Demo, list[str]]:
        demo = Demo(lambda i: stall if i == 0 else 0, pure=True)
        leads: list[int] = []

        async def respond(request: Any) -> Any:
            leads.append(len(demo.requests) - engine.stats.requests)
            return await demo(request)

        engine = make_engine(make_job(out, 300), InProcessTeacher(respond), concurrency=64)
        run(engine)
        return leads, demo, accepted(engine)

    leads, stalled, stalled_out = runs(tmp_path / "a", stall=3000)
    calm_leads, calm, calm_out = runs(tmp_path / "b", stall=0)
    assert max(leads) == 31 and max(calm_leads) <= 31
    n = min(len(stalled.requests), len(calm.requests))
    assert [r.messages for r in stalled.requests][:n] == [r.messages for r in calm.requests][:n]
    assert stalled_out == calm_out


def test_a_rerun_from_the_cache_through_the_worker_buys_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache's replies wait for the worker's outcomes before anything is sent: they are
    all the run needs, as they would be on the loop (where each is curated at once)."""
    cache_path = tmp_path / "cache.sqlite"
    with ResponseCache(cache_path) as cache:
        first = run(
            make_engine(make_job(tmp_path / "a", 60), InProcessTeacher(Demo()), cache=cache)
        )
    monkeypatch.setenv(MODE_ENV, "on")
    silent = InProcessTeacher(never)
    with ResponseCache(cache_path) as cache:
        second = run(make_engine(make_job(tmp_path / "b", 60), silent, cache=cache))
    assert silent.calls == second.stats.sent == 0
    assert second.stats.cache_hits == first.stats.replies
    assert accepted(second) == accepted(first)
    assert _journal(tmp_path / "b") == [r | {"src": "cache"} for r in _journal(tmp_path / "a")]
