"""Preference pairs (``--pairs``), after the engine has curated its conversations: the prompt
of each accepted conversation (deduplicated on the prompt) gets ``--responses`` replies from
the teacher, each a request of its own with a cache key of its own, and the judge scores each
reply. Requests go through a :class:`RequestRunner` of their own on the engine's pacing and
ledger, so retries, the cache, --max-requests, --max-cost and the report's counts work as
for the engine's requests; what they buy is settled (run.settled) as each prompt is done, and
each finished prompt is journaled (run.pair_journal), so a resumed run buys nothing twice."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthgen.data.dedup import dedup
from synthgen.data.example import Example
from synthgen.prompts.pair_prompt import prompt_of, response_request, with_response
from synthgen.prompts.plan import RequestPlan
from synthgen.run.deadline import Deadline
from synthgen.run.pair_journal import PairJournal, Sample, Scored, prompt_key
from synthgen.run.runner import Failure, Price, RequestRunner
from synthgen.run.sendlog import SendLog
from synthgen.run.spend import RESPONSE_ORDINALS
from synthgen.run.wiring import cache_key_for
from synthgen.teacher import Completion, Teacher

if TYPE_CHECKING:
    from synthgen.prompts.judge import Judge
    from synthgen.run.engine import Engine
    from synthgen.run.job import Job
    from synthgen.teacher.cache import ResponseCache

__all__ = ["PairRun", "check_pairs_job", "collect_pairs"]

log = logging.getLogger("synthgen")

# Stops after which nothing more is bought (a run that merely ran out of plans may go on).
_NO_MORE = frozenset({"interrupted", "rate_limited", "max_cost", "max_requests"})


def check_pairs_job(job: Job) -> None:
    """ConfigError before anything is sent: a response to a conversation with tools would
    have to call them, which pairs do not support."""
    if job.settings.pairs and job.toolbox.any:
        from synthgen.errors import ConfigError
        from synthgen.settings.naming import setting

        raise ConfigError(
            f"{setting('pairs', True)} does not support seeds with tools yet: their "
            "responses would have to call them"
        )


@dataclass
class PairRun:
    """What the pairs phase got: the prompts scored (in order), and those left out."""

    scored: list[Scored] = field(default_factory=list)
    duplicates: int = 0
    unusable: int = 0
    not_sent: int = 0


async def collect_pairs(
    job: Job,
    engine: Engine,
    teacher: Teacher,
    judge: Judge | None,
    cache: ResponseCache | None,
    price: Price | None = None,
    judge_price: Price | None = None,
) -> PairRun | None:
    """Responses and verdicts for the prompts of ``engine``'s accepted conversations; None
    without --pairs, or when the run was interrupted (it then writes nothing)."""
    if not job.settings.pairs or judge is None or engine.stop_reason == "interrupted":
        return None
    collector = _Collector(job, engine, teacher, judge, cache, price, judge_price)
    try:
        return await collector.run(engine.curator.accepted)
    finally:
        collector.close()


class _Collector:
    def __init__(
        self,
        job: Job,
        engine: Engine,
        teacher: Teacher,
        judge: Judge,
        cache: ResponseCache | None,
        price: Price | None,
        judge_price: Price | None,
    ) -> None:
        s, config = job.settings, engine.config
        self.job, self.engine = job, engine
        self.k = s.responses
        self.temperature = s.temperature if s.temperature is not None else 1.0
        self.sends = SendLog(job.state.dir)
        self.journal = PairJournal(job.state.dir)
        self.runner = RequestRunner(
            teacher=teacher,
            ledger=engine.ledger,
            cache=cache,
            cache_key=cache_key_for(s.seed),
            judge=judge,
            price=price,
            judge_price=judge_price,
            backoff=config.backoff,
            pacing=engine.runner.pacing,
            deadline=Deadline(config.timeout, floor=config.hedge_floor),
            seed=s.seed,
            on_purchase=self._check_cost,
            on_send=self._sending,
            on_give_up=self._rate_limited_out,
        )

    def close(self) -> None:
        self._settle()
        self.sends.close()
        self.journal.close()

    async def run(self, examples: list[Example]) -> PairRun:
        s = self.job.settings
        prompts = [prompt_of(e) for e in examples]
        usable = [p for p in prompts if p is not None]
        kept, dropped = dedup(usable, threshold=s.dedup_threshold)
        out = PairRun(duplicates=len(dropped), unusable=len(prompts) - len(usable))
        done = self.journal.read()
        gate = asyncio.Semaphore(max(1, s.concurrency))
        log.info("pairs: %d prompts, %d responses each", len(kept), self.k)

        async def one(i: int, prompt: Example) -> Scored | None:
            key = prompt_key(prompt)
            if key in done:
                return Scored(prompt, done[key])
            async with gate:
                samples = await asyncio.gather(*(self._sample(i, j, prompt) for j in range(self.k)))
            if any(sample is None for sample in samples):
                return None  # not all sent: the next run asks again
            finished = tuple(sample for sample in samples if sample is not None)
            self.journal.append(key, finished)
            self._settle()
            return Scored(prompt, finished)

        results = await asyncio.gather(*(one(i, p) for i, p in enumerate(kept)))
        out.scored = [r for r in results if r is not None]
        out.not_sent = len(results) - len(out.scored)
        return out

    async def _sample(self, i: int, j: int, prompt: Example) -> Sample | None:
        """Response ``j`` to prompt ``i``, judged; None when it may not be bought now."""
        request = response_request(
            prompt, temperature=self.temperature, max_tokens=self.job.max_tokens
        )
        # Keyed by j: the k responses to a prompt are k cache entries.
        key, hit = self.runner.lookup(request, j)
        engine = self.engine
        if hit is None and (engine.stop.reason in _NO_MORE or not engine.budgets.may_send(1)):
            return None
        plan = RequestPlan(ordinal=RESPONSE_ORDINALS + i * self.k + j, category=None, shots=())

        def worth(_: RequestPlan, reply: Completion) -> dict[int, Example]:
            text = _usable(reply)
            return {0: with_response(prompt, text)} if text else {}

        answer = await self.runner.answer(plan, request, key, hit, worth)
        result = answer.result
        if isinstance(result, Failure):
            return Sample(None, None, f"teacher failed: {result.kind}")
        assert isinstance(result, Completion)
        text = _usable(result)
        if not text:
            cut = result.finish_reason == "length"
            return Sample(None, None, "cut at the token limit" if cut else "empty reply")
        verdict = answer.judged.verdicts.get(0) if answer.judged is not None else None
        score, why = verdict if verdict is not None else (None, "not judged")
        return Sample(text, score, why)

    def _check_cost(self) -> None:
        self.engine.budgets.check_cost()  # --max-cost reached: _sample buys nothing more

    def _rate_limited_out(self, detail: str) -> None:
        self.engine.stop.end("rate_limited", f"{detail}; run the same command again to resume")

    def _sending(self, ordinal: int) -> None:
        self.sends.append(ordinal)
        self.engine.ledger.sent()

    def _settle(self) -> None:
        """Count what was bought so far, for this run's report and the next run's."""
        self.engine.settled_log.append(self.engine.ledger.settle())


def _usable(reply: Completion) -> str:
    return "" if reply.finish_reason == "length" else reply.text.strip()
