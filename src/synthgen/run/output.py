"""Writing a finished (or budget-stopped) run: the split, the data files, rejected and
failed requests from the journal, and report.json. Every file is written atomically."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from synthgen.data.formats import to_record, write_json, write_jsonl
from synthgen.data.split import split
from synthgen.report.card import dataset_card
from synthgen.report.diversity import diversity_report

if TYPE_CHECKING:
    from synthgen.run.engine import Engine
    from synthgen.run.expand import Result
    from synthgen.run.job import Job
    from synthgen.run.journal import RunState
    from synthgen.settings import Settings


def write_outputs(job: Job, engine: Engine, *, started: float) -> Result:
    from synthgen.run.expand import Result
    from synthgen.run.job import seeds_section
    from synthgen.teacher import host_of

    s = job.settings
    out = s.out_dir
    accepted = engine.curator.accepted
    train, evals = (
        split(accepted, eval_fraction=s.eval_fraction, seed=s.seed, balance_by=s.balance_by)
        if len(accepted) >= 2
        else (list(accepted), [])
    )
    train_records = [to_record(e, s.format) for e in train]
    eval_records = [to_record(e, s.format) for e in evals]
    write_jsonl(out / "train.jsonl", train_records)
    write_jsonl(out / "eval.jsonl", eval_records)
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
        "language": job.language,
        "diversity": diversity_report(accepted, job.seeds.examples, seed=s.seed),
        "validation": {
            "train": _validation(train_records, s.format),
            "eval": _validation(eval_records, s.format),
        },
        "wall_time_s": round(time.time() - started, 3),
    }
    write_json(out / "report.json", report)
    card = dataset_card(report, command=s.command or reproduce_command(s, job.seeds.path))
    (out / "README.md").write_text(card, encoding="utf-8")
    return Result(train=train, eval=evals, report=report, out_dir=out, complete=complete)


def _validation(records: list[dict[str, Any]], fmt: str) -> dict[str, Any]:
    """The cookbook checks on our own output (an eval set under 10 lines is fine)."""
    from synthgen.data.validate import validate_records

    if not records:
        return {"ok": True, "n_examples": 0}
    v = validate_records(enumerate(records, 1), fmt=fmt)
    errors = {k: c for k, c in v.errors.items() if c and k != "too_few_examples"}
    return {
        "ok": not errors,
        "n_examples": v.n_examples,
        "errors": errors,
        "n_over_limit": v.n_over_limit,
        "n_epochs": v.n_epochs,
        "billed_tokens": v.billed_tokens,
        "warnings": v.warnings,
    }


def reproduce_command(s: Settings, seeds_path: str | None) -> str:
    """The CLI command that makes this dataset again (non-default settings only)."""
    import shlex

    from synthgen.settings import Settings

    default = Settings(n=s.n)
    args = ["synthgen", "expand", seeds_path or "SEEDS", "-n", str(s.n), "-o", str(s.out_dir)]
    flags = {
        "model": "--model",
        "base_url": "--base-url",
        "template": "--template",
        "system": "--system",
        "eval_fraction": "--eval-fraction",
        "seed": "--seed",
        "balance_by": "--balance-by",
        "dedup_threshold": "--dedup-threshold",
        "temperature": "--temperature",
        "per_request": "--per-request",
        "attributes": "--attributes",
        "frontier": "--frontier",
        "language": "--language",
        "decontaminate": "--decontaminate",
        "decontaminate_ngram": "--decontaminate-ngram",
        "judge": "--judge",
        "min_score": "--min-score",
        "format": "--format",
    }
    for name, flag in flags.items():
        value = getattr(s, name)
        if value is not None and value != getattr(default, name):
            args += [flag, str(value)]
    if s.model != default.model and "--model" not in args:
        args += ["--model", s.model]
    return shlex.join(args)


def _rejected(state: RunState) -> Iterator[dict[str, Any]]:
    for rec in state.replay():
        yield from rec.get("rej", [])


def _failures(state: RunState) -> Iterator[dict[str, Any]]:
    for rec in state.replay():
        if "fail" in rec:
            yield {"request": rec["i"], **rec["fail"]}
