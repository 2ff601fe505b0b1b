"""What ``synthgen expand`` prints when a run ends: what was written, what this run did (and,
after a resume, what the journal replayed: earlier runs' traffic, not this one's), what the
judge did, the report's warnings, and why the run stopped early."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = ["stop_line", "summary_lines", "warning_lines"]


def summary_lines(report: dict[str, Any], out_dir: object) -> list[str]:
    split = report["split"]
    lines = [
        f"wrote {out_dir}/train.jsonl ({split['train']}) and {out_dir}/eval.jsonl ({split['eval']})"
    ]
    rejected = report["rejected"]
    reasons = ", ".join(f"{k} {v}" for k, v in rejected["by_reason"].items()) or "none"
    rejected_line = f"rejected {rejected['total']}: {reasons}"
    replayed = report["run"].get("replayed")
    if replayed is None:
        requests, tokens = _fresh(report)
        lines += [requests, rejected_line, tokens]
    else:
        lines += [*_resumed(report, replayed), rejected_line]
    judge = _judge_line(report)
    if judge:
        lines.append(judge)
    return lines


def warning_lines(report: dict[str, Any], *, shown: Collection[str] = ()) -> list[str]:
    """The report's warnings (a short eval split, a balance hint, ...), one line each, but
    those already ``shown`` (logged as they happened)."""
    from synthgen.cli.logs import one_line

    lines = [one_line(w) for w in report.get("warnings") or ()]
    return [f"synthgen: warning: {w}" for w in lines if w not in shown]


def stop_line(report: dict[str, Any]) -> str | None:
    """Why the run stopped before n, or None when it finished."""
    if report.get("complete", True):
        return None
    stop = report["stop"]
    return f"stopped early ({stop['reason']}): {stop['detail']}"


def _fresh(r: dict[str, Any]) -> tuple[str, str]:
    req = r["requests"]
    return (
        f"requests: {req['sent']} sent to the teacher, {req['cache_hits']} from cache, "
        f"{req['retries']} retries, {req['failed']} failed; {r['replies']} replies curated, "
        f"{r['candidates']} candidates, {r['accepted']} accepted",
        f"tokens {_tokens(r['tokens'])}{_cost(r['cost_usd'])}; {r['run']['wall_time_s']:.1f}s",
    )


def _resumed(r: dict[str, Any], old: dict[str, Any]) -> list[str]:
    req = r["requests"]
    sent = req["sent"] - old["sent"]
    cached = req["cache_hits"] - old["cache_hits"]
    replies = r["replies"] - old["replies"]
    tokens = {k: r["tokens"][k] - old["tokens"][k] for k in ("prompt", "completion")}
    if sent or cached or replies or req["failed"] > old["failed"]:
        this_run = (
            f"this run: {sent} sent to the teacher, {cached} from cache, "
            f"{req['retries'] - old['retries']} retries, {req['failed'] - old['failed']} failed; "
            f"{replies} replies curated, {r['candidates'] - old['candidates']} candidates, "
            f"{r['accepted'] - old['accepted']} accepted; tokens {_tokens(tokens)}"
            f"{_cost(r['cost_usd'] - old['cost_usd'])}; {r['run']['wall_time_s']:.1f}s"
        )
    else:
        this_run = (
            f"this run: nothing sent to the teacher (the journal already held the job's "
            f"work); {r['run']['wall_time_s']:.1f}s"
        )
    return [
        this_run,
        f"replayed from the journal (earlier runs, not sent again): {old['requests']} requests, "
        f"{old['accepted']} accepted; tokens {_tokens(old['tokens'])}{_cost(old['cost_usd'])}",
    ]


def _judge_line(r: dict[str, Any]) -> str | None:
    model = r["settings"].get("judge")
    if not model:
        return None
    judge = r.get("judge")
    low = r["rejected"]["by_reason"].get("low_score", 0)
    min_score = r["settings"].get("min_score")
    if judge is None or not judge["scored"] + judge["unscored"]:
        return (
            f"judge {model}: scored nothing (no candidate was judged), so none was dropped "
            "for its score"
        )
    mean = judge["mean_score"]
    line = (
        f"judge {model}: {judge['scored']} scored"
        + (f" (mean {mean:.1f})" if mean is not None else "")
        + f", {low} below {min_score} dropped"
    )
    if judge["unscored"]:
        line += f", {judge['unscored']} unscored (the verdict was unreadable: kept)"
    return line


def _tokens(t: dict[str, int]) -> str:
    return f"{t['prompt']:,} in / {t['completion']:,} out"


def _cost(usd: float) -> str:
    return f"; cost ≈ ${usd:.4f}" if usd else ""
