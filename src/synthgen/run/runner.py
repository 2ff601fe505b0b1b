"""One request, from prompt to reply: the response cache first, then the teacher, paced
(--rpm/--tpm, adaptive concurrency) and retried with backoff; then, with --judge, a verdict on
each candidate still worth one (judge calls are cached and retried the same way). Every reply
goes into the cache the moment it arrives, so a response that was paid for is never bought
again, even if the run dies before curating it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from synthgen.data.example import Example
from synthgen.errors import TeacherError, TeacherFatalError
from synthgen.prompts.plan import RequestPlan
from synthgen.run.deadline import Deadline
from synthgen.run.hedge import Hedger, HedgeRecord, HedgeTally
from synthgen.run.journal import JudgeRecord
from synthgen.run.ledger import Ledger, Purchase
from synthgen.run.probe import unreachable
from synthgen.teacher import ChatRequest, Completion, Teacher
from synthgen.teacher.pacing import Backoff, Pacing, PatienceExhausted
from synthgen.teacher.request_id import request_id

if TYPE_CHECKING:
    from synthgen.prompts.judge import Judge
    from synthgen.teacher.cache import ResponseCache

__all__ = ["Answer", "CacheKey", "Failure", "Judged", "Price", "RequestRunner"]

log = logging.getLogger("synthgen")

# USD for (prompt, completion, cached) tokens, cached being the prompt tokens the provider
# served from its prompt cache; None: no price.
Price = Callable[[int, int, int], float | None]
# The response cache key of a request to a teacher, with the request's ordinal (-1 for
# judge calls, which are deterministic).
CacheKey = Callable[[Teacher, ChatRequest, int], str]
# (score or None, reason) by conversation index
Verdicts = dict[int, tuple[int | None, str]]


@dataclass(frozen=True)
class Failure:
    """A request that failed for good: not retryable, or out of retries."""

    kind: str
    status: int | None
    message: str


@dataclass(frozen=True)
class Judged:
    """The judge's verdicts on a reply's candidates, and the judge calls that were paid for."""

    verdicts: Verdicts
    purchases: tuple[Purchase, ...] = ()

    def record(self) -> JudgeRecord:
        return JudgeRecord(
            scores=[score for score, _ in self.verdicts.values()],
            sent=len(self.purchases),
            pt=sum(p.prompt_tokens for p in self.purchases),
            ct=sum(p.completion_tokens for p in self.purchases),
            cost=math.fsum(p.cost for p in self.purchases),
        )


@dataclass(frozen=True)
class Answer:
    """What came back for a request. ``result`` is None when it was skipped (its category
    filled up before it was sent); ``cost`` is None when nothing was bought or there is no
    price; ``judged`` is None without a judge. ``retries`` and ``faults`` count the
    request's teacher and judge calls together, and ``hedge`` what hedging them cost."""

    plan: RequestPlan
    request: ChatRequest | None = None
    result: Completion | Failure | None = None
    cached: bool = False
    cost: float | None = None
    judged: Judged | None = None
    retries: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    hedge: HedgeRecord | None = None


@dataclass
class _Tally:
    """The retries, faults and hedges of one request's calls, for its journal record."""

    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    hedge: HedgeTally = field(default_factory=HedgeTally)
    unused: list[Purchase] = field(default_factory=list)

    def hedge_record(self) -> HedgeRecord | None:
        h = self.hedge
        if not (h.sent or h.abandoned or self.unused):
            return None
        return HedgeRecord(
            sent=h.sent,
            abandoned=h.abandoned,
            pt=sum(p.prompt_tokens for p in self.unused),
            ct=sum(p.completion_tokens for p in self.unused),
            cost=math.fsum(p.cost for p in self.unused),
        )


class RequestRunner:
    def __init__(
        self,
        *,
        teacher: Teacher,
        ledger: Ledger,
        cache: ResponseCache | None = None,
        cache_key: CacheKey | None = None,
        judge: Judge | None = None,
        price: Price | None = None,
        judge_price: Price | None = None,
        backoff: Backoff | None = None,
        concurrency: int = 16,
        rpm: float | None = None,
        tpm: float | None = None,
        pacing: Pacing | None = None,
        deadline: Deadline | None = None,
        seed: int = 0,
        on_purchase: Callable[[], None] = lambda: None,
        on_send: Callable[[int], None] = lambda ordinal: None,
        on_give_up: Callable[[str], None] = lambda detail: None,
    ) -> None:
        """``pacing`` may be shared by runs on the same endpoint and key (default: this
        runner's own, from ``concurrency``, ``rpm`` and ``tpm``); ``deadline`` says when an
        attempt is hedged (default: learnt, at most 120 s); ``on_give_up`` is told when a
        429 storm outlasts its patience."""
        if cache is not None and cache_key is None:
            raise ValueError("a cache needs a cache_key")
        self.teacher = teacher
        self.judge = judge
        self.ledger = ledger
        self.pacing = pacing or Pacing(concurrency, rpm=rpm, tpm=tpm)
        self.limit = self.pacing.limit
        # No duplicates while the endpoint is paused or held: they would only add 429s.
        self._hedger = Hedger(
            deadline or Deadline(120.0), may_hedge=lambda: not self.pacing.waiting
        )
        if hasattr(teacher, "on_headers"):  # the transports that can show x-ratelimit-*
            teacher.on_headers = self.pacing.observe
        self._cache = cache
        self._cache_key = cache_key
        self._prices = (price, judge_price)
        self._backoff = backoff or Backoff()
        self._rng = random.Random(seed)
        self._on_purchase = on_purchase  # after each purchase: the cost budget
        self._on_send = on_send  # before a request is first sent: it counts from then
        self._on_give_up = on_give_up
        self.cache_write_failed = False
        self._reached: set[str] = set()  # endpoints that have answered in this run
        self.draining = False  # the run is stopping: no request is retried
        self._stopping = asyncio.Event()  # set with draining: ends the backoff waits

    def stop_retrying(self) -> None:
        """The run is stopping gracefully: requests that failed are not sent again, and those
        waiting to retry stop waiting."""
        self.draining = True
        self._stopping.set()

    def lookup(
        self, request: ChatRequest, ordinal: int, teacher: Teacher | None = None
    ) -> tuple[str, Completion | None]:
        """The cache key ("" without a cache) of ``request`` to ``teacher`` (default: the
        run's), and its cached reply, if any."""
        if self._cache is None or self._cache_key is None:
            return "", None
        key = self._cache_key(teacher or self.teacher, request, ordinal)
        # A row that is not a completion (damaged, hand-edited, another version's) is a miss.
        return key, self._cache.get_completion(key)

    async def answer(
        self,
        plan: RequestPlan,
        request: ChatRequest,
        key: str,
        hit: Completion | None,
        worth_judging: Callable[[RequestPlan, Completion], dict[int, Example]],
    ) -> Answer:
        """The reply to ``request`` (``hit`` when the cache had it), judged if there is a
        judge. A fatal teacher error (bad key, unknown model) propagates."""
        cost = None
        tally = _Tally()
        result: Completion | Failure
        if hit is not None:
            result = hit
        else:
            result = await self._attempts(
                self.teacher, plan.ordinal, request, key, tally, count=True
            )
            if isinstance(result, Completion):
                purchase = self._buy(plan.ordinal, result, judge=False)
                cost = purchase.cost if self._prices[0] is not None else None
        judged = None
        if self.judge is not None and isinstance(result, Completion):
            worth = worth_judging(plan, result)
            judged = await self._judge(plan.ordinal, self.judge, worth, tally)
        return Answer(
            plan,
            request,
            result,
            hit is not None,
            cost,
            judged,
            tally.retries,
            dict(tally.faults),
            tally.hedge_record(),
        )

    async def _judge(
        self, ordinal: int, judge: Judge, worth: dict[int, Example], tally: _Tally
    ) -> Judged:
        from synthgen.prompts.judge import verdict_of

        async def one(
            j: int, example: Example
        ) -> tuple[int, tuple[int | None, str], Purchase | None]:
            request = judge.request(example)
            # Judging is deterministic (temperature 0): the key has no ordinal. It names the
            # judge's model, so verdicts of one judge model never serve another.
            key, hit = self.lookup(request, -1, judge.teacher)
            if hit is not None:
                return j, verdict_of(hit), None
            result = await self._attempts(judge.teacher, ordinal, request, key, tally)
            if isinstance(result, Failure):
                return j, (None, f"judge failed: {result.message}"), None
            return j, verdict_of(result), self._buy(ordinal, result, judge=True)

        results = await asyncio.gather(*(one(j, ex) for j, ex in worth.items()))
        return Judged(
            verdicts={j: verdict for j, verdict, _ in results},
            purchases=tuple(p for _, _, p in results if p is not None),
        )

    def _buy(
        self, ordinal: int, completion: Completion, *, judge: bool, unused: bool = False
    ) -> Purchase:
        pt, ct, cached = (
            completion.prompt_tokens,
            completion.completion_tokens,
            completion.cached_tokens,
        )
        price = self._prices[1 if judge else 0]
        cost = (price(pt, ct, cached) or 0.0) if price is not None else 0.0
        purchase = Purchase(
            pt,
            ct,
            cost,
            judge=judge,
            unused=unused,
            cached_tokens=cached,
            reasoning_tokens=completion.reasoning_tokens,
        )
        self.ledger.bought(ordinal, purchase)
        self._on_purchase()
        return purchase

    async def _attempts(
        self,
        teacher: Teacher,
        ordinal: int,
        request: ChatRequest,
        key: str,
        tally: _Tally,
        *,
        count: bool = False,
    ) -> Completion | Failure:
        """The reply to ``request``, paced, hedged past its deadline and retried with
        backoff; with ``count``, on_send is told just before it is first sent (retries and
        duplicates are not new requests). In a 429 storm, waiting for the endpoint to
        recover does not use up the request's retries; the storm's patience bounds it."""
        backoff = self._backoff
        # This task's calls are for this request: a batch names its lines by it.
        request_id.set(key or f"#{ordinal}")
        estimate = sum(len(m["content"]) for m in request.messages) // 3 + (request.max_tokens or 0)
        attempt = 0
        sent = False
        while True:
            try:
                probe = await self.pacing.acquire(estimate)
            except PatienceExhausted as e:
                self._on_give_up(str(e))
                return Failure("rate_limit", 429, str(e))
            if count and not sent:
                sent = True
                if not _submitted_before(teacher, request):
                    self._on_send(ordinal)
            try:
                completion = await self._call(teacher, ordinal, request, tally, probe)
            except TeacherFatalError:
                raise
            except (TeacherError, asyncio.TimeoutError) as e:
                err = (
                    e if isinstance(e, TeacherError) else TeacherError("timed out", kind="timeout")
                )
                await self._first_contact(teacher, err)
                self.ledger.fault(ordinal, err.kind)
                tally.faults[err.kind] += 1
                storm = False
                if err.kind == "rate_limit":
                    self.pacing.rate_limited(err.retry_after, probe=probe)
                    storm = self.pacing.storm.active
                else:
                    self.pacing.failed(probe=probe)
                if not err.retryable or (attempt >= backoff.retries and not storm) or self.draining:
                    log.warning(
                        "request %d failed after %d attempts: %s", ordinal, attempt + 1, err
                    )
                    return Failure(err.kind, err.status, str(err))
                self.ledger.retry(ordinal)
                tally.retries += 1
                if storm:  # the storm's gate paces the retry
                    continue
                wait = backoff.delay(attempt, err.retry_after, self._rng)
                log.info("request %d: %s; retry %d in %.1fs", ordinal, err, attempt + 1, wait)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), timeout=wait)
                if self.draining:
                    return Failure(err.kind, err.status, str(err))
                attempt += 1
                continue
            except BaseException:
                self.pacing.failed(probe=probe)  # cancelled: another may probe
                raise
            self.pacing.succeeded(
                estimated=estimate, used=completion.prompt_tokens + completion.completion_tokens
            )
            self._reached.add(teacher.endpoint)
            if self._cache is not None and not self._cache.put(key, completion.to_dict()):
                # The cache cannot be written (full disk, locked): it has said so once; the
                # run goes on, and the journal still holds this reply once it is curated.
                self.cache_write_failed = True
            return completion

    async def _call(
        self, teacher: Teacher, ordinal: int, request: ChatRequest, tally: _Tally, probe: bool
    ) -> Completion:
        """One attempt, hedged past the adaptive deadline (a storm's probe is not: it is
        meant to be the only request out). Every backend enforces --timeout itself."""
        if probe:
            return await teacher.complete(request)
        hedge = tally.hedge
        before = (hedge.sent, hedge.abandoned, len(hedge.unused))
        try:
            return await self._hedger.call(lambda: teacher.complete(request), hedge)
        finally:
            if hedge.sent > before[0] or hedge.abandoned > before[1]:
                self.ledger.hedged(
                    ordinal, sent=hedge.sent - before[0], abandoned=hedge.abandoned - before[1]
                )
            for extra in hedge.unused[before[2] :]:
                # Both replies arrived: both were paid for; only the first is curated.
                judge = teacher is not self.teacher
                tally.unused.append(self._buy(ordinal, extra, judge=judge, unused=True))

    async def _first_contact(self, teacher: Teacher, err: TeacherError) -> None:
        if err.kind == "connection" and teacher.endpoint not in self._reached:
            # Nothing answered yet: a server that is not there stops the run now.
            fatal = await unreachable(teacher.endpoint)
            if fatal is not None:
                raise fatal from None


def _submitted_before(teacher: Teacher, request: ChatRequest) -> bool:
    """Whether ``request`` is in a batch an earlier run submitted (teacher.batch): waiting for
    that batch sends nothing, so the request is not counted as sent again."""
    check = getattr(teacher, "already_submitted", None)
    return bool(check(request)) if check is not None else False
