"""The journal's format: JournalRecord reads what earlier versions wrote and writes it back
byte for byte; RunState appends, replays (ignoring a torn tail) and lists rejections and
failures from it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from synthgen.data.example import Example
from synthgen.run.journal import FailRecord, JournalRecord, RunState

# Lines as synthgen 0.1.0 wrote them: a reply, one from the cache, one with everything, a failure.
OLD_LINES = [
    '{"i":0,"src":"sent","pt":310,"ct":96,"cand":2,"acc":[{"messages":[{"role":"system",'
    '"content":"S"},{"role":"user","content":"Q?"},{"role":"assistant","content":"A."}],'
    '"metadata":{"request":0,"n":1,"seeds":[3,1]}}],"rej":[{"request":0,"reason":"refusal",'
    '"detail":"refuses","messages":[{"role":"user","content":"Q"}]}],"cost":0.0}',
    '{"i":1,"src":"cache","pt":300,"ct":90,"cand":0,"acc":[],"rej":[{"request":1,'
    '"reason":"unparseable","detail":"no JSON","text":"Sorry"}]}',
    '{"i":2,"src":"sent","pt":1,"ct":2,"cand":3,"acc":[],"rej":[],"sur":3,"judge":'
    '{"scores":[7,null,2],"sent":2,"pt":40,"ct":8,"cost":0.25},"cost":0.5}',
    '{"i":3,"fail":{"kind":"server","status":503,"message":"overloaded"}}',
]


@pytest.mark.parametrize("line", OLD_LINES)
def test_lines_of_earlier_versions_read_and_write_back_unchanged(line: str) -> None:
    record = JournalRecord.model_validate_json(line)
    assert record.line() == line


def test_fields_are_typed() -> None:
    reply, cached, judged, failed = (JournalRecord.model_validate_json(x) for x in OLD_LINES)
    assert isinstance(reply.acc[0], Example) and reply.acc[0].metadata["seeds"] == [3, 1]
    assert (cached.src, cached.cost, cached.sur, cached.judge) == ("cache", None, 0, None)
    assert judged.judge is not None and judged.judge.scores == [7, None, 2]
    assert failed.fail == FailRecord(kind="server", status=503, message="overloaded")
    assert (failed.src, failed.retries, failed.faults) == (None, 0, {})
    with pytest.raises(ValidationError):
        JournalRecord.model_validate_json('{"i":4,"src":"somewhere"}')


def test_retries_and_faults_are_written_only_when_there_were_some() -> None:
    quiet = JournalRecord(i=5, src="sent")
    assert "retries" not in quiet.line() and "faults" not in quiet.line()
    noisy = JournalRecord(
        i=6,
        fail=FailRecord(kind="rate_limit", status=429, message="slow down"),
        retries=2,
        faults={"rate_limit": 3},
    )
    assert noisy.line() == (
        '{"i":6,"fail":{"kind":"rate_limit","status":429,"message":"slow down"},'
        '"retries":2,"faults":{"rate_limit":3}}'
    )
    assert JournalRecord.model_validate_json(noisy.line()) == noisy


def test_run_state_appends_replays_and_lists_rejections_and_failures(tmp_path: Path) -> None:
    state = RunState(tmp_path / "out", {"job": 1})
    state.open(resume=False)
    for line in OLD_LINES:
        state.append(JournalRecord.model_validate_json(line))
    state.close()
    with state.journal_path.open("a", encoding="utf-8") as fh:
        fh.write('{"i":4,"src":"se')  # a crash mid-write
    assert state.journal_path.read_text(encoding="utf-8").startswith("\n".join(OLD_LINES))
    assert [r.i for r in state.replay()] == [0, 1, 2, 3]
    assert [row["reason"] for row in state.rejected()] == ["refusal", "unparseable"]
    assert list(state.failures()) == [
        {"request": 3, "kind": "server", "status": 503, "message": "overloaded"}
    ]
    state.open(resume=True)  # resuming cuts the torn line off
    state.close()
    assert state.journal_path.read_text(encoding="utf-8") == "\n".join(OLD_LINES) + "\n"
