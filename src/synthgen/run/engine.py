"""The async engine: bounded, adaptive concurrency; cache first; retries; strictly ordered
curation; journaling; stop at exactly n; budgets and the yield guard.

Requests are numbered (ordinals). Their content depends only on the ordinal, and replies are
curated in ordinal order through a small reorder buffer, while up to ``concurrency``
requests are in flight. Every reply goes into the response cache the moment it arrives, so a
response that was paid for is never bought again, even if the run dies before curating it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from synthgen.data.example import Example
from synthgen.errors import TeacherError, TeacherFatalError
from synthgen.prompts.plan import Planner, RequestPlan
from synthgen.run.stats import RunStats
from synthgen.teacher import ChatRequest, Completion, Teacher
from synthgen.teacher.pacing import AdaptiveLimit, Backoff, RateLimiter

if TYPE_CHECKING:
    from synthgen.curate.curator import Curator, Outcome
    from synthgen.prompts.judge import Judge
    from synthgen.run.journal import RunState
    from synthgen.teacher.cache import ResponseCache


@dataclass(frozen=True)
class EngineConfig:
    concurrency: int = 16
    max_requests: int | None = None  # requests sent to the teacher, across resumes
    max_cost: float | None = None
    timeout: float = 120.0
    backoff: Backoff = field(default_factory=Backoff)
    rpm: float | None = None
    tpm: float | None = None
    yield_window: int = 200
    min_yield: float = 0.05
    seed: int = 0
    lag: int | None = None  # requests may only run this far ahead of curation (frontier)
    per_request: float = 5.0  # conversations a request asks for (mean over the mix)


@dataclass(frozen=True)
class Failure:
    kind: str
    status: int | None
    message: str


Price = Callable[[int, int], float | None]
# Judge verdicts by conversation index, with the judge call's (prompt, completion, sent) usage.
Usage = tuple[int, int, bool]
Scores = dict[int, tuple[tuple[int | None, str], Usage]]
# (plan, request, reply or failure or None when skipped, served from the cache, judge scores)
Ready = tuple[RequestPlan, ChatRequest | None, "Completion | Failure | None", bool, Scores | None]
log = logging.getLogger("synthgen")


class Engine:
    def __init__(
        self,
        *,
        config: EngineConfig,
        planner: Planner,
        build_request: Callable[[RequestPlan], ChatRequest],
        cache_key: Callable[[ChatRequest, int], str],
        teacher: Teacher,
        curator: Curator,
        state: RunState,
        cache: ResponseCache | None = None,
        price: Price | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
        judge: Judge | None = None,
        judge_price: Price | None = None,
    ) -> None:
        self.judge = judge
        self.judge_price = judge_price
        self.config = config
        self.planner = planner
        self.build_request = build_request
        self.cache_key = cache_key
        self.teacher = teacher
        self.curator = curator
        self.state = state
        self.cache = cache
        self.price = price
        self.on_progress = on_progress
        self.stats = RunStats()
        self.limit = AdaptiveLimit(config.concurrency)
        self.rate = RateLimiter(config.rpm, config.tpm)
        self.stop_reason: str | None = None
        self.stop_detail = ""
        self._frontier = 0  # next ordinal to curate
        self._recent: deque[str] = deque(maxlen=config.yield_window)
        self._rng = random.Random(config.seed)
        self._done: asyncio.Queue[
            tuple[
                RequestPlan, ChatRequest, Completion | Failure | BaseException, bool, Scores | None
            ]
            | None
        ]
        self._done = asyncio.Queue()

    # -- resume -----------------------------------------------------------------------
    def restore(self) -> None:
        """Replay the journal: counts, dedup index, accepted examples and the frontier."""
        from synthgen.curate.curator import Outcome

        for rec in self.state.replay():
            plan = self.planner.plan(rec["i"])
            accepted = [Example.model_validate(e) for e in rec.get("acc", [])]
            for j, ex in enumerate(accepted):
                self.curator.restore(ex, plan.category, f"{rec['i']}:r{j}")
            outcome = Outcome(accepted=[], drops=rec.get("rej", []), candidates=rec.get("cand", 0))
            self._count(rec, outcome, len(accepted), replay=True)
            self._frontier = rec["i"] + 1
        self.stats.resumed_from = self._frontier

    def interrupt(self) -> None:
        """Stop soon (Ctrl-C): in-flight requests are cancelled, curated work is kept."""
        self.stop_reason = self.stop_reason or "interrupted"
        self._done.put_nowait(None)

    # -- the loop -----------------------------------------------------------------------
    async def run(self) -> list[Example]:
        inflight: dict[int, asyncio.Task[None]] = {}
        ready: dict[int, Ready] = {}
        next_ordinal = self._frontier
        window = max(4 * self.config.concurrency, 64)
        if self.config.lag is not None:
            # A request may show examples accepted from requests >= lag before it: those
            # must be curated before it is rendered, whatever the timing.
            window = min(window, self.config.lag)
        try:
            while not self.curator.done and self.stop_reason is None:
                while (
                    len(inflight) < min(self.limit.value, self._still_needed())
                    and next_ordinal - self._frontier < window
                    and self.stop_reason is None
                    and not self.curator.done
                ):
                    plan = self.planner.plan(next_ordinal)
                    if not self.curator.full(plan.category) and self._over_request_budget(
                        len(inflight)
                    ):
                        break
                    next_ordinal += 1
                    if self.curator.full(plan.category):
                        ready[plan.ordinal] = (plan, None, None, False, None)  # nothing to ask
                        self._drain(ready)
                        continue
                    request = self.build_request(plan)
                    key = self.cache_key(request, plan.ordinal) if self.cache is not None else ""
                    got = self.cache.get(key) if self.cache is not None else None
                    hit = Completion.from_dict(got) if got is not None else None
                    if hit is not None and self.judge is None:
                        ready[plan.ordinal] = (plan, request, hit, True, None)
                        self._drain(ready)
                        continue
                    inflight[plan.ordinal] = asyncio.create_task(
                        self._fetch(plan, request, key, hit)
                    )
                if not inflight:
                    break
                item = await self._done.get()
                if item is None:  # interrupt()
                    continue
                plan, request, result, cached, scores = item
                if isinstance(result, BaseException):
                    raise result
                del inflight[plan.ordinal]
                ready[plan.ordinal] = (plan, request, result, cached, scores)
                self._drain(ready)
        finally:
            for task in inflight.values():
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight.values(), return_exceptions=True)
            self.state.sync()
        if self.stop_reason is None and not self.curator.done:
            self.stop_reason = "exhausted"
        return self.curator.accepted

    def _still_needed(self) -> int:
        """Requests worth having in flight for what is left: a run that needs 10 more
        examples should not buy 16 replies because --concurrency is 16. Estimated from the
        yield so far (optimistic at first), with a margin for rejects."""
        remaining = sum(q - self.curator.filled[c] for c, q in self.curator.quotas.items())
        s = self.stats
        per_reply = s.accepted / s.replies if s.replies >= 3 else 0.8 * self.config.per_request
        return max(1, math.ceil(1.25 * remaining / max(per_reply, 0.1)) + 1)

    def _over_request_budget(self, in_flight: int) -> bool:
        cap = self.config.max_requests
        if cap is not None and self.stats.sent + self.stats.failed + in_flight >= cap:
            if in_flight == 0:
                self._end("max_requests", f"--max-requests {cap} reached")
            return True
        return False

    def _end(self, reason: str, detail: str) -> None:
        if self.stop_reason is None:
            self.stop_reason, self.stop_detail = reason, detail

    # -- one request, with retries --------------------------------------------------------
    async def _fetch(
        self, plan: RequestPlan, request: ChatRequest, key: str, hit: Completion | None
    ) -> None:
        scores = None
        try:
            result: Completion | Failure | BaseException = hit or await self._attempts(
                self.teacher, plan.ordinal, request, key
            )
            if self.judge is not None and isinstance(result, Completion):
                scores = await self._judge_reply(plan, result)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # a fatal teacher error ends the whole run
            result = e
        self._done.put_nowait((plan, request, result, hit is not None, scores))

    async def _judge_reply(self, plan: RequestPlan, completion: Completion) -> Scores:
        """The judge's verdict on every candidate of a reply that could still be accepted;
        judge replies are cached and retried like the teacher's."""
        assert self.judge is not None
        judge = self.judge
        worth = self.curator.worth_judging(plan, completion)

        async def one(j: int, example: Example) -> tuple[int, tuple[int | None, str], Usage]:
            from synthgen.prompts.judge import verdict_of

            request = judge.request(example)
            # Judging is deterministic (temperature 0): the key has no ordinal.
            key = self.cache_key(request, -1) if self.cache is not None else ""
            got = self.cache.get(key) if self.cache is not None else None
            if got is not None:
                return j, verdict_of(Completion.from_dict(got)), (0, 0, False)
            result = await self._attempts(judge.teacher, plan.ordinal, request, key, judge=True)
            if isinstance(result, Failure):
                return j, (None, f"judge failed: {result.message}"), (0, 0, False)
            usage = (result.prompt_tokens, result.completion_tokens, True)
            return j, verdict_of(result), usage

        results = await asyncio.gather(*(one(j, ex) for j, ex in worth.items()))
        return {j: (verdict, usage) for j, verdict, usage in results}

    async def _attempts(
        self, teacher: Teacher, ordinal: int, request: ChatRequest, key: str, judge: bool = False
    ) -> Completion | Failure:
        backoff = self.config.backoff
        est_tokens = sum(len(m["content"]) for m in request.messages) // 3
        attempt = 0
        while True:
            await self.rate.acquire(est_tokens)
            try:
                # Every backend enforces --timeout itself (a second timer per request here
                # costs measurable CPU at hundreds of requests per second).
                completion = await teacher.complete(request)
            except TeacherFatalError:
                raise
            except (TeacherError, asyncio.TimeoutError) as e:
                err = (
                    e if isinstance(e, TeacherError) else TeacherError("timed out", kind="timeout")
                )
                self.stats.faults[err.kind] += 1
                if err.kind == "rate_limit":
                    self.limit.on_rate_limit()
                if not err.retryable or attempt >= backoff.retries:
                    log.warning(
                        "request %d failed after %d attempts: %s", ordinal, attempt + 1, err
                    )
                    return Failure(err.kind, err.status, str(err))
                self.stats.retries += 1
                wait = backoff.delay(attempt, err.retry_after, self._rng)
                log.info("request %d: %s; retry %d in %.1fs", ordinal, err, attempt + 1, wait)
                await asyncio.sleep(wait)
                attempt += 1
                continue
            self.limit.on_success()
            if self.cache is not None:
                self.cache.put(key, completion.to_dict())
            self._bought(completion, judge=judge)
            return completion

    # -- ordered curation ---------------------------------------------------------------
    def _drain(self, ready: dict[int, Ready]) -> None:
        while self._frontier in ready and self.stop_reason is None:
            plan, request, result, cached, scores = ready.pop(self._frontier)
            self._frontier += 1
            if result is None or self.curator.done:
                continue
            self._curate_one(plan, request, result, cached, scores)
        if self.on_progress is not None:
            self.on_progress(self.stats)

    def _curate_one(
        self,
        plan: RequestPlan,
        request: ChatRequest | None,
        result: Completion | Failure,
        cached: bool,
        scores: Scores | None = None,
    ) -> None:
        from synthgen.curate.curator import Outcome

        rec: dict[str, Any] = {"i": plan.ordinal}
        if isinstance(result, Failure):
            rec["fail"] = {"kind": result.kind, "status": result.status, "message": result.message}
            outcome = Outcome()
        else:
            verdicts = None if scores is None else {j: v for j, (v, _) in scores.items()}
            outcome = self.curator.curate(plan, result, request, verdicts)
            rec.update(
                src="cache" if cached else "sent",
                pt=result.prompt_tokens,
                ct=result.completion_tokens,
                cand=outcome.candidates,
                acc=[{**e.to_chat(), "metadata": e.metadata} for e in outcome.accepted],
                rej=outcome.drops,
            )
            if outcome.surplus:
                rec["sur"] = outcome.surplus
            if scores:
                rec["judge"] = self._judge_record(scores)
            if not cached and self.price is not None:
                rec["cost"] = self.price(result.prompt_tokens, result.completion_tokens) or 0.0
        self.state.append(rec)
        self._count(rec, outcome, len(outcome.accepted))
        self._check_budgets()

    def _count(
        self, rec: dict[str, Any], outcome: Outcome, accepted: int, *, replay: bool = False
    ) -> None:
        """Count a curated record. What was bought (requests sent, tokens, cost) is counted
        when it arrives, curated or not; on replay it comes from the journal instead."""
        s = self.stats
        s.requests += 1
        if "fail" in rec:
            s.failed += 1
            return
        s.replies += 1
        if rec.get("src") == "cache":
            s.cache_hits += 1
        elif replay:
            s.sent += 1
            s.prompt_tokens += rec.get("pt", 0)
            s.completion_tokens += rec.get("ct", 0)
            s.cost_usd += rec.get("cost", 0.0)
        s.candidates += outcome.candidates
        s.accepted += accepted
        s.surplus += rec.get("sur", 0)
        judged = rec.get("judge")
        if judged:
            if replay:
                s.judge_calls += judged["sent"]
                s.judge_tokens += judged["pt"] + judged["ct"]
                s.cost_usd += judged["cost"]
            s.judge_scores.update(str(x) if x is not None else "unscored" for x in judged["scores"])
        reasons = Counter(d["reason"] for d in outcome.drops)
        s.rejected.update(reasons)
        for e in rec.get("acc", []):
            cat = (
                e.get("metadata", {}).get(self.curator.balance_by)
                if self.curator.balance_by
                else None
            )
            s.per_category[str(cat) if cat is not None else "all"] += 1
        for reason in reasons.elements():
            if reason not in ("unparseable", "truncated") or outcome.candidates == 0:
                self._recent.append(reason)
        self._recent.extend(["accepted"] * accepted)

    def _bought(self, completion: Completion, *, judge: bool) -> None:
        pt, ct = completion.prompt_tokens, completion.completion_tokens
        price = self.judge_price if judge else self.price
        cost = (price(pt, ct) or 0.0) if price is not None else 0.0
        s = self.stats
        s.cost_usd += cost
        if judge:
            s.judge_calls += 1
            s.judge_tokens += pt + ct
        else:
            s.sent += 1
            s.prompt_tokens += pt
            s.completion_tokens += ct
        self._check_cost()

    def _judge_record(self, scores: Scores) -> dict[str, Any]:
        sent = [u for _, u in scores.values() if u[2]]
        pt, ct = sum(u[0] for u in sent), sum(u[1] for u in sent)
        cost = (self.judge_price(pt, ct) or 0.0) if self.judge_price and sent else 0.0
        return {
            "scores": [v[0] for v, _ in scores.values()],
            "sent": len(sent),
            "pt": pt,
            "ct": ct,
            "cost": cost,
        }

    def _check_cost(self) -> None:
        cap = self.config.max_cost
        if cap is not None and self.stats.cost_usd >= cap and self.stop_reason is None:
            self._end("max_cost", f"--max-cost ${cap:g} reached")
            self._done.put_nowait(None)  # wake the loop: stop buying now

    def _check_budgets(self) -> None:
        cfg = self.config
        self._check_cost()
        if self.stop_reason is not None:
            return
        window = self._recent
        if len(window) >= cfg.yield_window and not self.curator.done:
            accepted = window.count("accepted")
            if accepted / len(window) < cfg.min_yield:
                reason, count = Counter(r for r in window if r != "accepted").most_common(1)[0]
                self._end("low_yield", diagnose(reason, count, len(window)))


_ADVICE = {
    "near_duplicate": "raise the temperature, add more varied seeds, or use another template",
    "exact_duplicate": "raise the temperature, add more varied seeds, or use another template",
    "seed_copy": "the teacher copies the seeds: use another template or a stronger teacher",
    "unparseable": "the teacher does not return the JSON asked for: try a stronger model",
    "truncated": "replies hit the token limit: ask for fewer conversations per request",
    "refusal": "the teacher refuses the task: reword the seeds or the system prompt",
    "schema": "the teacher's conversations are malformed: try a stronger model",
}


def diagnose(reason: str, count: int, window: int) -> str:
    share = round(100 * count / window)
    what = reason.replace("_", " ")
    advice = _ADVICE.get(reason, "check rejected.jsonl for what the teacher returns")
    return f"{share}% of the last {window} candidates were rejected as {what}: {advice}"


__all__ = ["Engine", "EngineConfig", "Failure", "diagnose"]
