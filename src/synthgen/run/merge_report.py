"""Writing a merge of shards (run.merge): the split and data files as ``expand`` writes them,
and one report.json and dataset card for the whole job.

The report sums the shards: requests, replies, candidates, rejections by reason, tokens and
cost are counted from all of their journals in one ledger (so token use and the judge's
histogram are the job's, not averages of averages), and ``requests.sent`` is the sum of the
shards' sent counts. Duplicates across shards that the merge dropped are counted as rejected
(``exact_duplicate`` / ``near_duplicate``) and said in a warning. Settings are shard 0's,
without ``shard``, with the merge's output folder and ``max_requests`` summed over the shards.
The run section's ``wall_time_s`` is the longest shard's (they run side by side); rate-limit
waits are summed. The card's reproduce block lists every shard's command and the merge.
"""

from __future__ import annotations

import shlex
from typing import TYPE_CHECKING, Any

from synthgen.data.formats import to_record, write_json, write_jsonl, write_text_lines
from synthgen.data.sidecar import write_metadata
from synthgen.data.split import split
from synthgen.report.card import dataset_card
from synthgen.report.diversity import diversity_report, inspired
from synthgen.report.model import (
    Diversity,
    RateLimited,
    Report,
    RunInfo,
    RunSettings,
    Split,
    Stop,
    Validation,
)
from synthgen.run.hints import eval_shortfall
from synthgen.run.merge import journal_rows
from synthgen.run.outdir import DATA_FILES
from synthgen.run.output import split_validation
from synthgen.run.result import Result
from synthgen.run.spend import cache_saving_usd
from synthgen.settings.naming import setting

if TYPE_CHECKING:
    from synthgen.data.example import Example
    from synthgen.run.journal import RunState
    from synthgen.run.merge import Merged, ShardRun

__all__ = ["write_merged"]

# The start of a shard's warning that another split would replace (run.hints.eval_shortfall).
_SPLIT_WARNING = "eval.jsonl has "


def write_merged(
    shards: list[ShardRun], merged: Merged, state: RunState, *, command: str | None
) -> Result:
    """Split ``merged`` and write OUT (``state``'s folder, checked): data, rejected and
    failed requests, report.json and the card."""
    first = shards[0].report
    settings = first.settings.model_dump()
    fmt, fraction = settings["format"], settings["eval_fraction"]
    examples = merged.examples
    train, evals = (
        split(
            examples,
            eval_fraction=fraction,
            seed=settings["seed"],
            balance_by=first.settings.balance_by,
        )
        if len(examples) >= 2
        else (list(examples), [])
    )
    train_records = [to_record(e, fmt) for e in train]
    eval_records = [to_record(e, fmt) for e in evals]
    out = state.out_dir
    state.open(resume=False)
    try:
        state.claim(DATA_FILES)  # in job.json before they exist: --force deletes only these
        write_jsonl(out / "train.jsonl", train_records)
        write_jsonl(out / "eval.jsonl", eval_records)
        write_metadata(out, train, evals)
        write_jsonl(state.rejected_path, journal_rows(shards, "rejected"))
        write_jsonl(state.failures_path, journal_rows(shards, "failures"))
        report = _report(
            shards,
            merged,
            out=str(out),
            command=command,
            sizes=Split(train=len(train), eval=len(evals), eval_fraction=fraction),
            validation=Validation(
                train=split_validation(train_records, fmt),
                eval=split_validation(eval_records, fmt),
            ),
            warnings=_warnings(shards, merged, examples, len(evals), fraction),
        )
        data = report.as_json()
        write_json(out / "report.json", data)
        card = dataset_card(report, command=_commands(shards, out=str(out), command=command))
        write_text_lines(out / "README.md", [card.removesuffix("\n")])
    finally:
        state.close()
        state.release()
        state.journal_path.unlink(missing_ok=True)  # a merge has no journal to resume
    return Result(
        train=train,
        eval=evals,
        report=data,
        out_dir=out,
        complete=report.complete,
        typed_report=report,
    )


def _warnings(
    shards: list[ShardRun], merged: Merged, examples: list[Example], evals: int, fraction: float
) -> list[str]:
    out: list[str] = []
    for shard in shards:
        for warning in shard.report.warnings or []:
            if not warning.startswith(_SPLIT_WARNING) and warning not in out:
                out.append(warning)
    dropped = sum(merged.dropped.values())
    if dropped:
        out.append(
            f"dropped {dropped} examples that duplicate another shard's: the shards did not "
            f"share a dedup index; give every shard the same "
            f"{setting('dedup_index', 'redis://HOST:PORT/DB')} so that none is written"
        )
    short = eval_shortfall(examples, evals, fraction)
    if short is not None:
        out.append(short)
    return out


def _stop(shards: list[ShardRun], merged: Merged, n: int) -> Stop:
    short = [s for s in shards if not s.report.complete]
    if short:
        return Stop(
            reason=short[0].report.stop.reason,
            detail="; ".join(
                f"shard {s.index}/{s.count}: {s.report.stop.reason}"
                + (f" ({s.report.stop.detail})" if s.report.stop.detail else "")
                for s in short
            ),
        )
    if len(merged.examples) < n:
        return Stop(
            reason="cross_shard_duplicates",
            detail=f"{n - len(merged.examples)} examples duplicated another shard's",
        )
    return Stop(reason="done", detail="")


def _report(
    shards: list[ShardRun],
    merged: Merged,
    *,
    out: str,
    command: str | None,
    sizes: Split,
    validation: Validation,
    warnings: list[str],
) -> Report:
    first = shards[0].report
    reports = [s.report for s in shards]
    settings = first.settings.model_dump()
    budgets = [s.settings.model_dump().get("max_requests") for s in reports]
    given = [int(b) for b in budgets if b is not None]
    settings.update(
        shard=None,
        out_dir=out,
        command=command,
        max_requests=sum(given) if len(given) == len(budgets) else None,
    )
    n = int(settings["n"])
    stats = merged.ledger.stats.to_dict()
    stats["requests"].pop("resumed_from_request")
    stats["token_use"]["cache_saving_usd"] = cache_saving_usd(
        first.teacher.model, merged.ledger.stats.cached_tokens
    )
    if "judge" in stats and first.judge is not None and first.judge.endpoint is not None:
        stats["judge"]["endpoint"] = first.judge.endpoint
    quotas: dict[str, int] = {}
    for r in reports:
        for key, value in r.quotas.items():
            quotas[key] = quotas.get(key, 0) + value
    # The step down any shard's endpoint took from json_schema, if one did.
    modes: list[str | None] = [r.teacher.response_format for r in reports]
    modes = [m for m in modes if m and m != "json_schema"] or modes
    stop = _stop(shards, merged, n)
    return Report(
        complete=stop.reason == "done",
        stop=stop,
        teacher=first.teacher.model_copy(update={"response_format": modes[0]}),
        warnings=warnings or None,
        settings=RunSettings.model_validate(settings),
        seeds=first.seeds,
        **stats,
        quotas=quotas,
        split=sizes,
        language=first.language,
        diversity=_diversity(merged.examples, first, seed=int(settings["seed"])),
        validation=validation,
        run=RunInfo(
            out_dir=out,
            resumed_from_request=0,
            rate_limited=_rate_limited(reports),
            wall_time_s=max(r.run.wall_time_s for r in reports),
        ),
    )


def _diversity(examples: list[Example], first: Report, *, seed: int) -> Diversity:
    """The merged examples' diversity; the seeds' own figures are every shard's."""
    data: dict[str, Any] = diversity_report(examples, [], seed=seed)
    data["seeds_distinct_1"] = first.diversity.seeds_distinct_1
    data["seeds_distinct_2"] = first.diversity.seeds_distinct_2
    data["inspired"] = inspired(examples, first.seeds.count)
    return Diversity.model_validate(data)


def _rate_limited(reports: list[Report]) -> RateLimited | None:
    waits = [r.run.rate_limited for r in reports if r.run.rate_limited is not None]
    if not waits:
        return None
    return RateLimited(
        pauses=sum(w.pauses for w in waits),
        waited_s=round(sum(w.waited_s for w in waits), 3),
        header_holds=sum(w.header_holds for w in waits),
    )


def _commands(shards: list[ShardRun], *, out: str, command: str | None) -> str:
    """The card's reproduce block: each shard's command, then the merge's."""
    from synthgen.errors import ConfigError
    from synthgen.settings import Settings, reproduce_command

    lines = []
    for shard in sorted(shards, key=lambda s: s.index):
        shown = shard.report.settings.model_dump()
        given = shown.get("command")
        if not given:  # run from the library: the command that makes the same shard
            try:
                settings = Settings.model_validate(
                    {k: v for k, v in shown.items() if k in Settings.model_fields}
                )
                given = reproduce_command(settings, shard.report.seeds.path)
            except ConfigError:  # settings of another version: say which folder it is
                given = f"# shard {shard.index}/{shard.count}: {shard.dir}"
        lines.append(given)
    merge = command or shlex.join(["synthgen", "merge", *(str(s.dir) for s in shards), "-o", out])
    lines.append(merge)
    return "\n".join(lines)
