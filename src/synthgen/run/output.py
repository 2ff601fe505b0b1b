"""Writing a finished (or budget-stopped) run: the split, the data files, rejected and
failed requests from the journal, report.json and the dataset card. Every file is written
atomically."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from synthgen.data.formats import to_record, write_json, write_jsonl, write_text_lines
from synthgen.data.sidecar import write_metadata
from synthgen.data.split import split
from synthgen.report.card import dataset_card
from synthgen.report.diversity import diversity_report
from synthgen.report.model import (
    Diversity,
    Report,
    RunInfo,
    RunSettings,
    Seeds,
    Split,
    SplitValidation,
    Stop,
    Teacher,
    TemplateUse,
    Validation,
)
from synthgen.run.hints import eval_shortfall, warn
from synthgen.run.outdir import DATA_FILES
from synthgen.run.result import Result
from synthgen.run.spend import cache_saving_usd, reasoning_use
from synthgen.settings import DEMO_MODEL, reproduce_command

if TYPE_CHECKING:
    from synthgen.run.engine import Engine
    from synthgen.run.job import Job
    from synthgen.run.stats import RunStats


def write_outputs(job: Job, engine: Engine, *, started: float) -> Result:
    s = job.settings
    out = s.out_dir
    accepted = engine.curator.accepted
    semantic = engine.curator.semantic  # --semantic-dedup: paraphrase neighbours join clusters
    train, evals = (
        split(
            accepted,
            eval_fraction=s.eval_fraction,
            seed=s.seed,
            balance_by=s.balance_by,
            neighbours=None if semantic is None else semantic.neighbours,
        )
        if len(accepted) >= 2
        else (list(accepted), [])
    )
    train_records = [to_record(e, s.format) for e in train]
    eval_records = [to_record(e, s.format) for e in evals]
    job.state.claim(DATA_FILES)  # in job.json before they exist: --force deletes only these
    write_jsonl(out / "train.jsonl", train_records)
    write_jsonl(out / "eval.jsonl", eval_records)
    write_metadata(out, train, evals)
    # Beside the journal, not beside the data: what `hf upload --exclude ".synthgen/*"` keeps.
    write_jsonl(job.state.rejected_path, job.state.rejected())
    write_jsonl(job.state.failures_path, job.state.failures())
    warnings = list(job.warnings)
    short = eval_shortfall(accepted, len(evals), s.eval_fraction)
    if short is not None:
        warn(warnings, short)
    report = build_report(
        job,
        engine,
        sizes=Split(train=len(train), eval=len(evals), eval_fraction=s.eval_fraction),
        validation=Validation(
            train=split_validation(train_records, s.format),
            eval=split_validation(eval_records, s.format),
        ),
        started=started,
        warnings=warnings,
    )
    data = report.as_json()
    write_json(out / "report.json", data)
    from synthgen.run.job import shown_settings

    shown = shown_settings(s)
    card = dataset_card(report, command=shown.command or reproduce_command(shown, job.seeds.path))
    # Each line gets a newline after it, and the card already ends with one.
    write_text_lines(out / "README.md", [card.removesuffix("\n")])
    job.state.release()  # the run is over: the folder is free for the next one
    return Result(
        train=train,
        eval=evals,
        report=data,
        out_dir=out,
        complete=report.complete,
        typed_report=report,
    )


def build_report(
    job: Job,
    engine: Engine,
    *,
    sizes: Split,
    validation: Validation,
    started: float,
    warnings: list[str] | None = None,
) -> Report:
    """The run's report, checked against the Report model: a counter renamed in RunStats
    fails here instead of reaching report.json or the card under a stale name."""
    from synthgen.run.job import seeds_section, shown_settings
    from synthgen.teacher import host_of

    s = job.settings
    complete = engine.curator.done
    accepted = engine.curator.accepted
    # The structured-output step the endpoint accepted (teacher.base.FORMAT_MODES); the
    # step-down itself was logged as a warning when it happened.
    mode = getattr(engine.teacher, "response_format_mode", None)
    warnings = list(warnings or [])
    if isinstance(mode, str) and mode != "json_schema":
        warnings.append(
            f"the endpoint refused response_format json_schema; requests used {mode} instead"
        )
    stats = engine.stats.to_dict()
    resumed_from = stats["requests"].pop("resumed_from_request")
    stats["token_use"].update(_priced_apart(s.model, engine.stats))
    judge_teacher = getattr(getattr(engine.runner, "judge", None), "teacher", None)
    if "judge" in stats and judge_teacher is not None and judge_teacher is not engine.teacher:
        stats["judge"]["endpoint"] = (
            "demo (bundled placeholder teacher)"
            if s.judge == DEMO_MODEL
            else judge_teacher.endpoint
        )
    return Report(
        complete=complete,
        stop=Stop(
            reason="done" if complete else engine.stop_reason or "unknown",
            detail=engine.stop_detail,
        ),
        teacher=Teacher(
            model=s.model,
            endpoint="demo (bundled placeholder teacher)"
            if s.demo
            else host_of(engine.teacher.endpoint),
            templates=[
                TemplateUse(
                    name=t.name,
                    sha256=t.sha256,
                    weight=w,
                    temperature=job.temperature(t),
                    per_request=job.per_request(t),
                )
                for t, w in job.mix
            ],
            max_tokens=job.max_tokens,
            response_format=mode if isinstance(mode, str) else None,
        ),
        warnings=warnings or None,
        settings=RunSettings.model_validate(shown_settings(s).public()),
        seeds=Seeds.model_validate(seeds_section(job.seeds)),
        **stats,
        quotas={str(k) if k is not None else "all": v for k, v in job.quotas.items()},
        split=sizes,
        language=job.language,
        diversity=Diversity.model_validate(
            diversity_report(accepted, job.seeds.examples, seed=s.seed)
        ),
        validation=validation,
        run=RunInfo(
            out_dir=str(s.out_dir),
            resumed_from_request=resumed_from,
            **engine.stats.run_section(),
            wall_time_s=round(time.time() - started, 3),
        ),
    )


def _priced_apart(model: str, stats: RunStats) -> dict[str, Any]:
    """What ``token_use`` prices apart: the prompt cache's saving, and the reasoning tokens."""
    return {
        "cache_saving_usd": cache_saving_usd(model, stats.cached_tokens),
        "reasoning": reasoning_use(
            model,
            stats.reasoning_tokens,
            completion=stats.completion_tokens,
            accepted=stats.accepted,
        ),
    }


def split_validation(records: list[dict[str, Any]], fmt: str) -> SplitValidation:
    """The cookbook checks on our own output (an eval set under 10 lines is fine)."""
    from synthgen.data.validate import validate_records

    if not records:
        return SplitValidation(ok=True, n_examples=0)
    v = validate_records(enumerate(records, 1), fmt=fmt)
    errors = {k: c for k, c in v.errors.items() if c and k != "too_few_examples"}
    return SplitValidation(
        ok=not errors,
        n_examples=v.n_examples,
        errors=errors,
        n_over_limit=v.n_over_limit,
        n_epochs=v.n_epochs,
        billed_tokens=v.billed_tokens,
        warnings=v.warnings,
    )
