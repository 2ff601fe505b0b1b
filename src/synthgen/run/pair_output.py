"""Writing a pairs run (``--pairs``): the pairs chosen from the scored responses, split on the
prompt (near-duplicate prompts never straddle train and eval), written as OpenAI DPO rows or
TRL preference rows, checked by ``synthgen validate``'s rules for them, and counted in
report.json's ``pairs`` section (kept, and dropped by reason) and the card."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from synthgen.data.formats import write_json, write_jsonl, write_text_lines
from synthgen.data.pair_records import PAIR_CHECKED_AS, pair_record
from synthgen.data.sidecar import write_metadata
from synthgen.data.split import split
from synthgen.report.card import dataset_card
from synthgen.report.model import Pairs, Split, Validation
from synthgen.run.hints import eval_shortfall, warn
from synthgen.run.outdir import DATA_FILES
from synthgen.run.output import build_report, split_validation
from synthgen.run.pair_choice import DROP_REASONS, Pair, choose
from synthgen.run.result import Result
from synthgen.settings import reproduce_command

if TYPE_CHECKING:
    from synthgen.data.example import Example
    from synthgen.run.engine import Engine
    from synthgen.run.job import Job
    from synthgen.run.pairs import PairRun

__all__ = ["write_pair_outputs"]


def write_pair_outputs(job: Job, engine: Engine, run: PairRun, *, started: float) -> Result:
    s = job.settings
    out = s.out_dir
    pairs, drops = choose(run.scored, s.min_margin)
    drops.update(
        duplicate_prompt=run.duplicates, unusable_prompt=run.unusable, not_sent=run.not_sent
    )
    # The prompt, with the scores, stands for its pair in the split and the sidecar.
    by_prompt: dict[int, Pair] = {}
    prompts: list[Example] = []
    for pair in pairs:
        prompt = pair.prompt.with_metadata(
            chosen_score=pair.chosen_score, rejected_score=pair.rejected_score
        )
        by_prompt[id(prompt)] = pair
        prompts.append(prompt)
    train, evals = (
        split(prompts, eval_fraction=s.eval_fraction, seed=s.seed, balance_by=s.balance_by)
        if len(prompts) >= 2
        else (prompts, [])
    )

    def rows(side: list[Example]) -> list[dict[str, object]]:
        return [
            pair_record(p, by_prompt[id(p)].chosen, by_prompt[id(p)].rejected, s.format)
            for p in side
        ]

    train_rows, eval_rows = rows(train), rows(evals)
    job.state.claim(DATA_FILES)
    write_jsonl(out / "train.jsonl", train_rows)
    write_jsonl(out / "eval.jsonl", eval_rows)
    write_metadata(out, train, evals)
    write_jsonl(job.state.rejected_path, job.state.rejected())
    write_jsonl(job.state.failures_path, job.state.failures())
    warnings = list(job.warnings)
    short = eval_shortfall(prompts, len(evals), s.eval_fraction)
    if short is not None:
        warn(warnings, short)
    # The judge's histogram is that of the responses it scored.
    scores = Counter(
        str(x.score) if x.score is not None else "unscored"
        for item in run.scored
        for x in item.samples
        if x.text
    )
    engine.stats.judge_scores.update(scores)
    checked_as = PAIR_CHECKED_AS[s.format]
    report = build_report(
        job,
        engine,
        sizes=Split(train=len(train), eval=len(evals), eval_fraction=s.eval_fraction),
        validation=Validation(
            train=split_validation(train_rows, checked_as),
            eval=split_validation(eval_rows, checked_as),
        ),
        started=started,
        warnings=warnings,
    ).model_copy(update={"pairs": _section(run, s.responses, s.min_margin, len(pairs), drops)})
    data = report.as_json()
    write_json(out / "report.json", data)
    from synthgen.run.job import shown_settings

    shown = shown_settings(s)
    card = dataset_card(report, command=shown.command or reproduce_command(shown, job.seeds.path))
    write_text_lines(out / "README.md", [card.removesuffix("\n")])
    job.state.release()
    return Result(
        train=[_chosen(by_prompt[id(p)]) for p in train],
        eval=[_chosen(by_prompt[id(p)]) for p in evals],
        report=data,
        out_dir=out,
        complete=report.complete,
        typed_report=report,
    )


def _section(run: PairRun, k: int, margin: int, kept: int, drops: Counter[str]) -> Pairs:
    asked = len(run.scored) + run.duplicates + run.unusable + run.not_sent
    return Pairs(
        prompts=asked,
        responses=k,
        min_margin=margin,
        kept=kept,
        dropped={reason: drops[reason] for reason in DROP_REASONS},
    )


def _chosen(pair: Pair) -> Example:
    """The pair as the library hands it back: the prompt answered with the chosen response,
    the rejected one and both scores in its metadata."""
    from synthgen.prompts.pair_prompt import with_response

    return with_response(pair.prompt, pair.chosen).with_metadata(
        rejected=pair.rejected,
        chosen_score=pair.chosen_score,
        rejected_score=pair.rejected_score,
    )
