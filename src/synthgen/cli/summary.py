"""What ``synthgen expand`` prints when a run ends: what was written, what this run did (and,
after a resume, what the journal replayed: earlier runs' traffic, not this one's), where the
tokens went (prompt caching, per accepted example, the costliest drops), what the judge did,
the report's warnings, and why the run stopped early."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__ = [
    "batch_lines",
    "estimate_lines",
    "spend_line",
    "stall_lines",
    "stop_line",
    "summary_lines",
    "warning_lines",
]


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
    spend = spend_line(report)
    if spend:
        lines.append(spend)
    lines += stall_lines(report)
    lines += batch_lines(report)
    judge = _judge_line(report)
    if judge:
        lines.append(judge)
    return lines


def spend_line(report: dict[str, Any], *, top: int = 3) -> str | None:
    """Tokens bought per accepted example and the drops that cost the most tokens (the
    report's token_use), or None when nothing was bought (or the report predates it)."""
    use = report.get("token_use")
    if not use or not use.get("by_outcome"):
        return None
    per = use.get("per_accepted")
    head = (
        f"tokens per accepted example: {per['prompt']:,.0f} in / {per['completion']:,.0f} out"
        if per
        else "tokens per accepted example: none accepted"
    )
    kept = ("accepted", "pair_responses")  # what the dataset is made of, not drops
    drops = [(k, v) for k, v in use["by_outcome"].items() if k not in kept and v["share"]]
    if not drops:
        return f"{head}; no tokens went to dropped candidates"
    costliest = ", ".join(f"{k} {v['share']:.0%}" for k, v in drops[:top])
    return f"{head}; costliest drops (share of tokens): {costliest}"


def stall_lines(report: dict[str, Any]) -> list[str]:
    """Hung requests hedged past their deadline, and the waits for a rate-limited teacher
    (none: no line)."""
    lines = []
    hedging = report["requests"].get("hedging")
    if hedging:
        unused = hedging["unused_tokens"]
        paid = f"{unused['prompt']:,} in / {unused['completion']:,} out"
        lines.append(
            f"slow requests: {hedging['sent']} duplicates sent past the deadline, "
            f"{hedging['abandoned']} attempts abandoned; second replies paid for, not used: "
            f"{paid} tokens, ${hedging['unused_cost_usd']:.4f}"
        )
    waited = report["run"].get("rate_limited")
    if waited:
        lines.append(
            f"rate limited: {waited['pauses']} pauses (429 to every request), "
            f"{waited['waited_s']:.0f}s waiting; {waited['header_holds']} holds asked for "
            "by the rate-limit headers"
        )
    return lines


def estimate_lines(est: dict[str, Any]) -> list[str]:
    """The dry-run estimate (run.estimate), with and without prompt caching."""
    cost = est["cost_usd"]
    lines = [
        f"requests ≈ {est['requests']}, prompt tokens ≈ {est['prompt_tokens']:,}, "
        f"completion tokens ≈ {est['completion_tokens']:,}, cost "
        + ("unknown (no price for this model)" if cost is None else f"≈ ${cost:.4f}")
    ]
    prompt = est["prompt_tokens"] or 1
    cached, cacheable = est.get("cached_prompt_tokens", 0), est.get("cacheable_prompt_tokens", 0)
    without = est.get("cost_usd_without_caching")
    if cached:
        lines.append(
            f"prompt caching: ≈ {cached:,} prompt tokens ({cached / prompt:.0%}) served from the "
            f"provider's cache; cost without caching ≈ ${without or 0:.4f}"
        )
    elif cacheable:
        lines.append(
            f"prompt caching: ≈ {cacheable:,} prompt tokens ({cacheable / prompt:.0%}) are a "
            "repeated prefix, but this model's provider is not known to cache them unasked "
            "(not counted in the cost)"
        )
    else:
        lines.append(
            "prompt caching: none expected (the part every prompt shares is under 1,024 tokens)"
        )
    batch = est.get("cost_usd_batch")
    if batch is not None:
        source = (
            "litellm's batch prices"
            if est.get("batch_price") == "listed"
            else "half the live price: the table has no batch price"
        )
        live = f"≈ ${cost:.4f} live, " if cost is not None else ""
        lines.append(f"batch API (--batch): cost {live}≈ ${batch:.4f} in batches ({source})")
    return lines


def batch_lines(report: dict[str, Any]) -> list[str]:
    """What --batch did (none: no line); the run's cost is then at batch prices."""
    batch = report["run"].get("batch")
    if not batch:
        return []
    resumed = batch["resumed"]
    resumed = f", waited for {resumed} an earlier run submitted" if resumed else ""
    return [
        f"batches: {batch['submitted']} submitted ({batch['requests']} requests){resumed}, "
        f"{batch['polls']} polls, {batch['failed_lines']} lines failed or not run (retried), "
        f"{batch['expired']} expired; cost at batch prices"
    ]


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
        f"tokens {_tokens(r['tokens'])}{_cost(r['cost_usd'], _saved(r), _reasoning_cost(r))}; "
        f"{r['run']['wall_time_s']:.1f}s",
    )


def _reasoning_cost(r: dict[str, Any]) -> float | None:
    cost = ((r.get("token_use") or {}).get("reasoning") or {}).get("cost_usd")
    return cost if isinstance(cost, (int, float)) else None


def _saved(r: dict[str, Any]) -> float | None:
    saved = (r.get("token_use") or {}).get("cache_saving_usd")
    return saved if isinstance(saved, (int, float)) else None


def _resumed(r: dict[str, Any], old: dict[str, Any]) -> list[str]:
    req = r["requests"]
    sent = req["sent"] - old["sent"]
    cached = req["cache_hits"] - old["cache_hits"]
    replies = r["replies"] - old["replies"]
    tokens = {
        k: r["tokens"].get(k, 0) - old["tokens"].get(k, 0)
        for k in ("prompt", "completion", "cached", "reasoning")
    }
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
    pairs = r.get("pairs")
    if pairs is not None:  # --pairs: the judge scored responses, and pairs were chosen
        dropped = ", ".join(f"{k} {v}" for k, v in pairs["dropped"].items() if v) or "none"
        return (
            f"pairs: {pairs['kept']} kept of {pairs['prompts']} prompts ({pairs['responses']} "
            f"responses each, {judge['scored']} scored, {judge['unscored']} unscored); "
            f"dropped: {dropped}"
        )
    line = (
        f"judge {model}: {judge['scored']} scored"
        + (f" (mean {mean:.1f})" if mean is not None else "")
        + f", {low} below {min_score} dropped"
    )
    if judge["unscored"]:
        line += f", {judge['unscored']} unscored (the verdict was unreadable: kept)"
    return line


def _tokens(t: dict[str, int]) -> str:
    cached = t.get("cached", 0)
    share = f" ({cached:,} cached, {cached / t['prompt']:.0%})" if cached and t["prompt"] else ""
    reasoning = t.get("reasoning") or 0
    thought = f" ({reasoning:,} reasoning)" if reasoning else ""
    return f"{t['prompt']:,} in{share} / {t['completion']:,} out{thought}"


def _cost(usd: float, saved: float | None = None, reasoning: float | None = None) -> str:
    if not usd:
        return ""
    notes = [f"reasoning ${reasoning:.4f}"] if reasoning else []
    notes += [f"prompt caching saved ${saved:.4f}"] if saved else []
    return f"; cost ≈ ${usd:.4f}" + (f" ({', '.join(notes)})" if notes else "")
