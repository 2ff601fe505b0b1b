"""--judge: candidates scored by an LLM judge through the real client, low scores dropped."""

from __future__ import annotations

import json
import random

from synthgen import expand
from tests.fakes import fresh
from tests.helpers import SAMPLES


def handler(body, index):
    if body.get("response_format", {}).get("json_schema", {}).get("name") == "verdict":
        conversation = body["messages"][-1]["content"]
        return {"score": 2 if "sloppy" in conversation else 9, "reason": "checked"}
    rng = random.Random(index)
    convs = [fresh(rng) for _ in range(4)]
    convs[0]["messages"][1]["content"] = "sloppy " + convs[0]["messages"][1]["content"]
    return {"conversations": convs}


def test_judge_drops_low_scores_and_reports_them(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(handler=handler)
    kw = dict(model="m", base_url=fake.base_url, judge="m", min_score=6, concurrency=4)
    result = expand(SAMPLES / "marv.jsonl", 30, out_dir=tmp_path / "a", **kw)
    assert result.complete
    texts = [m.content for ex in result.train + result.eval for m in ex.turns]
    assert not any("sloppy" in t for t in texts)
    report = result.report
    assert report["rejected"]["by_reason"]["low_score"] >= 5
    judge = report["judge"]
    assert judge["histogram"]["9"] >= 30 and judge["histogram"]["2"] >= 5
    assert judge["calls_sent"] >= judge["scored"]  # replies still in flight at the end count too
    assert all(ex.metadata["judge_score"] == 9 for ex in result.train)
    drops = (tmp_path / "a" / ".synthgen" / "rejected.jsonl").read_text()
    rejected = [json.loads(x) for x in drops.splitlines()]
    assert any(r["reason"] == "low_score" and "2/10" in r["detail"] for r in rejected)
    # Judge verdicts are cached too: the same job again sends nothing at all.
    sent = fake.request_count
    again = expand(SAMPLES / "marv.jsonl", 30, out_dir=tmp_path / "b", **kw)
    assert fake.request_count == sent
    assert [e.to_chat() for e in again.train] == [e.to_chat() for e in result.train]


def test_unreadable_verdicts_keep_the_candidate(make_fake_teacher, tmp_path):
    def broken(body, index):
        if body.get("response_format", {}).get("json_schema", {}).get("name") == "verdict":
            return "I think it is fine."
        return {"conversations": [fresh(random.Random(index))]}

    fake = make_fake_teacher(handler=broken)
    result = expand(
        SAMPLES / "marv.jsonl",
        5,
        model="m",
        base_url=fake.base_url,
        judge="m",
        out_dir=tmp_path / "o",
    )
    assert result.complete and result.report["judge"]["unscored"] >= 5
