"""Writing a finished (or budget-stopped) run: the split, the data files, rejected and
failed requests from the journal, and report.json. Every file is written atomically."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .formats import to_record, write_json, write_jsonl
from .split import split

if TYPE_CHECKING:
    from .generate import Engine
    from .pipeline import Job, Result
    from .state import RunState


def write_outputs(job: Job, engine: Engine, *, started: float) -> Result:
    from .pipeline import Result, seeds_section
    from .teacher import host_of

    s = job.settings
    out = s.out_dir
    accepted = engine.curator.accepted
    train, evals = (
        split(accepted, eval_fraction=s.eval_fraction, seed=s.seed, balance_by=s.balance_by)
        if len(accepted) >= 2
        else (list(accepted), [])
    )
    write_jsonl(out / "train.jsonl", (to_record(e, s.format) for e in train))
    write_jsonl(out / "eval.jsonl", (to_record(e, s.format) for e in evals))
    write_jsonl(out / "rejected.jsonl", _rejected(job.state))
    write_jsonl(out / "failures.jsonl", _failures(job.state))
    complete = engine.curator.done
    report: dict[str, Any] = {
        "complete": complete,
        "stop": {
            "reason": "done" if complete else engine.stop_reason,
            "detail": engine.stop_detail,
        },
        "teacher": {
            "model": s.model,
            "endpoint": "demo (bundled placeholder teacher)"
            if s.demo
            else host_of(engine.teacher.endpoint),
            "templates": [
                {
                    "name": t.name,
                    "sha256": t.sha256,
                    "weight": w,
                    "temperature": job.temperature(t),
                    "per_request": job.per_request(t),
                }
                for t, w in job.mix
            ],
        },
        "settings": s.public(),
        "seeds": seeds_section(job.seeds),
        **engine.stats.to_dict(),
        "quotas": {str(k) if k is not None else "all": v for k, v in job.quotas.items()},
        "split": {"train": len(train), "eval": len(evals), "eval_fraction": s.eval_fraction},
        "wall_time_s": round(time.time() - started, 3),
    }
    write_json(out / "report.json", report)
    return Result(train=train, eval=evals, report=report, out_dir=out, complete=complete)


def _rejected(state: RunState) -> Iterator[dict[str, Any]]:
    for rec in state.replay():
        yield from rec.get("rej", [])


def _failures(state: RunState) -> Iterator[dict[str, Any]]:
    for rec in state.replay():
        if "fail" in rec:
            yield {"request": rec["i"], **rec["fail"]}
