"""The async engine: bounded, adaptive concurrency; strictly ordered curation; journaling;
stop at exactly n.

Requests are numbered (ordinals). Their content depends only on the ordinal and on what was
curated before it, and replies are curated in ordinal order through a small reorder buffer,
while up to ``concurrency`` requests are in flight. The parts: :class:`RequestRunner` gets a
reply (cache, retries, pacing, judge), :class:`Ledger` counts, :class:`Budgets` says when to
stop early, :class:`FrontierPool` holds what later prompts may show.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthgen.curate.curator import Curator, Outcome
from synthgen.data.example import Example
from synthgen.prompts.plan import Planner, RequestPlan
from synthgen.run.budgets import Budgets, Stop, diagnose
from synthgen.run.frontier import FrontierPool
from synthgen.run.journal import FailRecord, JournalRecord, RunState
from synthgen.run.ledger import Ledger
from synthgen.run.runner import Answer, CacheKey, Failure, Price, RequestRunner
from synthgen.run.stats import RunStats
from synthgen.teacher import ChatRequest, Completion, Teacher
from synthgen.teacher.pacing import Backoff

if TYPE_CHECKING:
    from synthgen.prompts.judge import Judge
    from synthgen.run.job import Job
    from synthgen.teacher.cache import ResponseCache

__all__ = [
    "Engine",
    "EngineConfig",
    "Failure",
    "cache_key_for",
    "curator_for",
    "diagnose",
    "engine_config",
]


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


BuildRequest = Callable[[RequestPlan, FrontierPool], ChatRequest]


class Engine:
    def __init__(
        self,
        *,
        config: EngineConfig,
        planner: Planner,
        build_request: BuildRequest,
        cache_key: CacheKey,
        teacher: Teacher,
        curator: Curator,
        state: RunState,
        cache: ResponseCache | None = None,
        price: Price | None = None,
        on_progress: Callable[[RunStats], None] | None = None,
        judge: Judge | None = None,
        judge_price: Price | None = None,
    ) -> None:
        self.config = config
        self.planner = planner
        self.build_request = build_request
        self.curator = curator
        self.state = state
        self.on_progress = on_progress
        self.pool = FrontierPool(curator.quotas)
        self.ledger = Ledger(balance_by=curator.balance_by, yield_window=config.yield_window)
        self.stop = Stop()
        self.budgets = Budgets(
            self.ledger,
            self.stop,
            max_requests=config.max_requests,
            max_cost=config.max_cost,
            min_yield=config.min_yield,
        )
        self.runner = RequestRunner(
            teacher=teacher,
            ledger=self.ledger,
            cache=cache,
            cache_key=cache_key,
            judge=judge,
            price=price,
            judge_price=judge_price,
            backoff=config.backoff,
            concurrency=config.concurrency,
            rpm=config.rpm,
            tpm=config.tpm,
            seed=config.seed,
            on_purchase=self._after_purchase,
        )
        self._frontier = 0  # next ordinal to curate
        # Finished requests (or a fatal error to re-raise), and None to wake the loop.
        self._done: asyncio.Queue[Answer | BaseException | None] = asyncio.Queue()

    @property
    def stats(self) -> RunStats:
        return self.ledger.stats

    @property
    def stop_reason(self) -> str | None:
        return self.stop.reason

    @property
    def stop_detail(self) -> str:
        return self.stop.detail

    @property
    def teacher(self) -> Teacher:
        return self.runner.teacher

    # -- resume -----------------------------------------------------------------------
    def restore(self) -> None:
        """Replay the journal: counts, dedup index, accepted examples and the frontier."""
        for record in self.state.replay():
            plan = self.planner.plan(record.i)
            for j, example in enumerate(record.acc):
                self.curator.restore(example, plan.category, f"{record.i}:r{j}")
                self.pool.add(example, plan.category)
            self.ledger.count(record)
            self._frontier = record.i + 1
        self.stats.resumed_from = self._frontier

    def interrupt(self) -> None:
        """Stop soon (Ctrl-C): in-flight requests are cancelled, curated work is kept."""
        self.stop.end("interrupted")
        self._done.put_nowait(None)

    # -- the loop -----------------------------------------------------------------------
    async def run(self) -> list[Example]:
        inflight: dict[int, asyncio.Task[None]] = {}
        ready: dict[int, Answer] = {}
        next_ordinal = self._frontier
        window = max(4 * self.config.concurrency, 64)
        if self.config.lag is not None:
            # A request may show examples accepted from requests >= lag before it: those
            # must be curated before it is rendered, whatever the timing.
            window = min(window, self.config.lag)
        try:
            while not self.curator.done and self.stop.reason is None:
                while (
                    len(inflight) < min(self.runner.limit.value, self._still_needed())
                    and next_ordinal - self._frontier < window
                    and self.stop.reason is None
                    and not self.curator.done
                ):
                    plan = self.planner.plan(next_ordinal)
                    if not self.curator.full(plan.category) and not self.budgets.may_send(
                        len(inflight)
                    ):
                        break
                    next_ordinal += 1
                    task = self._start(plan, ready)
                    if task is not None:
                        inflight[plan.ordinal] = task
                if not inflight:
                    break
                item = await self._done.get()
                if item is None:  # interrupt(), or a budget reached
                    continue
                if isinstance(item, BaseException):
                    raise item
                del inflight[item.plan.ordinal]
                ready[item.plan.ordinal] = item
                self._drain(ready)
        finally:
            for task in inflight.values():
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight.values(), return_exceptions=True)
            self.ledger.settle()
            self.state.sync()
        if not self.curator.done:
            self.stop.end("exhausted")
        return self.curator.accepted

    def _start(self, plan: RequestPlan, ready: dict[int, Answer]) -> asyncio.Task[None] | None:
        """Send the request of ``plan``, or settle it at once: nothing to ask (its category is
        full), or its reply is in the cache and needs no judge."""
        if self.curator.full(plan.category):
            ready[plan.ordinal] = Answer(plan)
            self._drain(ready)
            return None
        request = self.build_request(plan, self.pool)
        key, hit = self.runner.lookup(request, plan.ordinal)
        if hit is not None and self.runner.judge is None:
            ready[plan.ordinal] = Answer(plan, request, hit, cached=True)
            self._drain(ready)
            return None
        return asyncio.create_task(self._fetch(plan, request, key, hit))

    async def _fetch(
        self, plan: RequestPlan, request: ChatRequest, key: str, hit: Completion | None
    ) -> None:
        try:
            answer = await self.runner.answer(plan, request, key, hit, self.curator.worth_judging)
        except asyncio.CancelledError:
            raise
        except BaseException as e:  # a fatal teacher error ends the whole run
            self._done.put_nowait(e)
            return
        self._done.put_nowait(answer)

    def _still_needed(self) -> int:
        """Requests worth having in flight for what is left: a run that needs 10 more
        examples should not buy 16 replies because --concurrency is 16. Estimated from the
        yield so far (optimistic at first), with a margin for rejects."""
        remaining = sum(q - self.curator.filled[c] for c, q in self.curator.quotas.items())
        s = self.stats
        per_reply = s.accepted / s.replies if s.replies >= 3 else 0.8 * self.config.per_request
        return max(1, math.ceil(1.25 * remaining / max(per_reply, 0.1)) + 1)

    def _after_purchase(self) -> None:
        if self.budgets.check_cost():
            self._done.put_nowait(None)  # wake the loop: stop buying now

    # -- ordered curation ---------------------------------------------------------------
    def _drain(self, ready: dict[int, Answer]) -> None:
        while self._frontier in ready and self.stop.reason is None:
            answer = ready.pop(self._frontier)
            self._frontier += 1
            if answer.result is None or self.curator.done:
                continue
            self._curate(answer)
        if self.on_progress is not None:
            self.on_progress(self.stats)

    def _curate(self, answer: Answer) -> None:
        plan, result = answer.plan, answer.result
        if isinstance(result, Failure):
            record = JournalRecord(
                i=plan.ordinal,
                fail=FailRecord(kind=result.kind, status=result.status, message=result.message),
                retries=answer.retries,
                faults=answer.faults,
            )
        else:
            assert result is not None
            record = self._reply_record(answer, result)
        self.state.append(record)
        for example in record.acc:
            self.pool.add(example, plan.category)
        self.ledger.count(record)
        self.budgets.check_cost()
        if not self.curator.done:
            self.budgets.check_yield()

    def _reply_record(self, answer: Answer, result: Completion) -> JournalRecord:
        judged = answer.judged
        outcome: Outcome = self.curator.curate(
            answer.plan, result, answer.request, None if judged is None else judged.verdicts
        )
        return JournalRecord(
            i=answer.plan.ordinal,
            src="cache" if answer.cached else "sent",
            pt=result.prompt_tokens,
            ct=result.completion_tokens,
            cand=outcome.candidates,
            acc=outcome.accepted,
            rej=outcome.drops,
            sur=outcome.surplus,
            judge=judged.record() if judged is not None and judged.verdicts else None,
            cost=answer.cost,
            retries=answer.retries,
            faults=answer.faults,
        )


# -- wiring a prepared job ----------------------------------------------------------------
def engine_config(job: Job) -> EngineConfig:
    s = job.settings
    return EngineConfig(
        concurrency=s.concurrency,
        max_requests=s.max_requests,
        max_cost=s.max_cost,
        timeout=s.timeout,
        backoff=Backoff(retries=s.retries),
        rpm=s.rpm,
        tpm=s.tpm,
        min_yield=s.min_yield,
        seed=s.seed,
        lag=job.lag,
        per_request=job.mean_per_request,
    )


def curator_for(job: Job) -> Curator:
    """A fresh curator for ``job``: its seeds, filters, quotas and dedup threshold."""
    from synthgen.curate.filters import QualityFilter
    from synthgen.text.index import DedupIndex

    s = job.settings
    return Curator(
        system=job.seeds.system,
        quality=QualityFilter.from_seeds(job.seeds.examples),
        index=DedupIndex(threshold=s.dedup_threshold),
        quotas=job.quotas,
        balance_by=s.balance_by,
        seeds=job.seeds.examples,
        checks=job.checks,
        min_score=s.min_score if s.judge else 0,
    )


def cache_key_for(seed: int) -> CacheKey:
    """The response cache key of a request: everything that determines its reply (the
    teacher's endpoint and model, the request, its ordinal and the run's seed), no secret."""
    from synthgen.teacher.cache import cache_key

    def key(teacher: Teacher, request: ChatRequest, ordinal: int) -> str:
        return cache_key(
            {
                "endpoint": teacher.endpoint,
                "model": teacher.model,
                "messages": request.messages,
                "temperature": request.temperature,
                "max_tokens": request.max_tokens,
                "response_format": request.response_format,
                "extra": request.extra,
                "ordinal": ordinal,
                "seed": seed,
            }
        )

    return key
