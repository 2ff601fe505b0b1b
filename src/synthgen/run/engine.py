"""The async engine: bounded, adaptive concurrency; strictly ordered curation; journaling;
stop at exactly n.

Requests are numbered (ordinals). Their content depends only on the ordinal and on what was
curated before it, and replies are curated in ordinal order (:class:`OrderedCuration`, on the
loop or in a worker process), while up to ``concurrency`` requests are in flight. The other
parts: :class:`RequestRunner` gets a reply (cache, retries, pacing, judge), :class:`Ledger`
counts, :class:`Budgets` says when to stop early, :class:`FrontierPool` holds what later
prompts may show.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from synthgen.curate.curator import Curator
from synthgen.data.example import Example
from synthgen.prompts.plan import Planner, RequestPlan
from synthgen.run.budgets import Budgets, Stop, diagnose
from synthgen.run.curation_worker import wanted
from synthgen.run.deadline import Deadline
from synthgen.run.engine_config import EngineConfig
from synthgen.run.excerpt import EXCERPT_CHARS
from synthgen.run.frontier import FrontierPool
from synthgen.run.journal import RunState
from synthgen.run.ledger import Ledger
from synthgen.run.ordered_curation import OrderedCuration
from synthgen.run.runner import Answer, CacheKey, Failure, Price, RequestRunner
from synthgen.run.sendlog import SendLog
from synthgen.run.settled import SettledLog
from synthgen.run.stats import RunStats
from synthgen.teacher import ChatRequest, Completion, Teacher
from synthgen.teacher.pacing import Pacing

if TYPE_CHECKING:
    from synthgen.prompts.judge import Judge
    from synthgen.teacher.cache import ResponseCache

__all__ = ["EXCERPT_CHARS", "Engine", "EngineConfig", "Failure", "diagnose"]


log = logging.getLogger("synthgen")

# What _start answers for a request that would be sent with --max-requests reached.
_OVER_BUDGET = object()
# ... and for one that would be sent while replies from the cache wait for the curation
# worker: they may be all the run needs, and on the loop they would have been curated first.
_HOLD = object()
# The longest the loop curates replies from the cache before it lets other tasks run.
_SLICE = 0.02


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
        pacing: Pacing | None = None,
    ) -> None:
        """``pacing``: shared with other runs on the same endpoint and key (default: this
        run's own, from the config's concurrency, rpm, tpm and rate-limit patience)."""
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
            repeated_failures=config.repeated_failures,
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
            pacing=pacing
            or Pacing(
                config.concurrency,
                rpm=config.rpm,
                tpm=config.tpm,
                patience=config.rate_limit_patience,
            ),
            deadline=Deadline(config.timeout, floor=config.hedge_floor),
            seed=config.seed,
            on_purchase=self._after_purchase,
            on_send=self._sending,
            on_give_up=self._rate_limited_out,
        )
        self.curation = OrderedCuration(
            curator=curator,
            state=state,
            pool=self.pool,
            ledger=self.ledger,
            budgets=self.budgets,
            stop=self.stop,
            after=self._progress,
        )
        # Finished requests (or a fatal error to re-raise), and None to wake the loop.
        self._done: asyncio.Queue[Answer | BaseException | None] = asyncio.Queue()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        # Requests started that will be sent (no cached reply), not sent yet: they hold a
        # place under --max-requests until they are sent (then they count) or cancelled.
        self._reserved: set[int] = set()
        self._next = 0  # next ordinal to start
        self._draining = False  # drain(): replies in flight may land before the run ends
        self.sends = SendLog(state.dir)
        self.settled_log = SettledLog(state.dir)

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
            self.curation.frontier = record.i + 1
        for entry in self.settled_log.read():
            self.ledger.count_settled(entry)
        self.ledger.restored(self.sends.count())
        self.stats.resume(self.curation.frontier)

    def drain(self) -> None:
        """Stop gracefully (the first Ctrl-C, SIGTERM, SIGHUP): send nothing more, and give
        the replies in flight, which are paid for, up to ``drain_timeout`` seconds to land
        in the cache, so that the resumed run does not buy them again."""
        if self.stop.end("interrupted"):
            self._draining = True
            self.runner.stop_retrying()  # no retries either
            for ordinal in self._reserved:  # started, but not sent yet: never sent
                task = self._inflight.get(ordinal)
                if task is not None:
                    task.cancel()
        self._done.put_nowait(None)

    def interrupt(self) -> None:
        """Stop now (a second Ctrl-C): in-flight requests are cancelled, curated work is
        kept."""
        self.stop.end("interrupted")
        self._draining = False
        for task in self._inflight.values():
            task.cancel()
        self._done.put_nowait(None)

    # -- the loop -----------------------------------------------------------------------
    async def run(self) -> list[Example]:
        inflight = self._inflight
        self._next = self.curation.frontier
        listeners = self.runner.pacing.storm.listeners
        listeners.append(self._storm_changed)
        try:
            self._curate_in_worker()
            while not self.curator.done and self.stop.reason is None:
                if self._send_more():
                    await asyncio.sleep(0)  # replies from the cache: let other tasks run
                    continue
                if not inflight and not self.curation.pending:
                    break
                item = await self._done.get()
                if item is None:  # drain(), interrupt(), a budget, the worker's outcomes
                    self.curation.poll()
                    continue
                if isinstance(item, BaseException):
                    raise item
                del inflight[item.plan.ordinal]
                self.curation.put(item)
                self.budgets.answered(item.result, fresh=not item.cached)
            await self.curation.finish()
            if self._draining and inflight:
                await self._let_land()
        finally:
            for task in inflight.values():
                task.cancel()
            if inflight:
                await asyncio.gather(*inflight.values(), return_exceptions=True)
            inflight.clear()
            await self.curation.aclose()  # what it has not sent back is settled below
            self.sends.close()
            listeners.remove(self._storm_changed)
            self._note_waits()
            self.settled_log.append(self.ledger.settle())
            self.state.sync()
        if not self.curator.done:
            self.stop.end("exhausted")
        return self.curator.accepted

    def _send_more(self) -> bool:
        """Start requests while the limits allow: the concurrency, what is still needed, the
        window ahead of curation, and --max-requests. True when it stopped only to give the
        event loop back: replies from the cache are curated here, and a resumed run can
        take thousands in a row."""
        give_back = asyncio.get_running_loop().time() + _SLICE
        window = max(4 * self.config.concurrency, 64)
        if self.config.lag is not None:
            # A request may show examples accepted from requests >= lag before it: those
            # must be curated before it is rendered, whatever the timing.
            window = min(window, self.config.lag)
        while (
            len(self._inflight) < self.runner.limit.value
            # Replies with the worker count as in flight: what they bring is not known yet.
            and len(self._inflight) + self.curation.pending < self._still_needed()
            and self._next - self.curation.frontier < window
            and self.stop.reason is None
            and not self.curator.done
        ):
            plan = self.planner.plan(self._next)
            task = self._start(plan)
            if task is _OVER_BUDGET or task is _HOLD:
                break
            self._next += 1
            if isinstance(task, asyncio.Task):
                self._inflight[plan.ordinal] = task
            elif asyncio.get_running_loop().time() > give_back:
                return True
        return False

    def _curate_in_worker(self) -> None:
        """Curate in a worker process when the loop would otherwise be the limit (a large
        plan at high concurrency, curation_worker.wanted) and nothing reads curation's
        results before a request is sent: no judge (it asks the dedup index), an in-memory
        index (OrderedCuration.start_worker). The frontier's lag holds as on the loop: the
        window ahead is counted from the last outcome journaled."""
        if wanted(
            concurrency=self.config.concurrency,
            requests=self._still_needed(),
            judge=self.runner.judge is not None,
        ):
            self.curation.start_worker(lambda: self._done.put_nowait(None))

    async def _let_land(self) -> None:
        """Wait (bounded; interrupt() ends it) for the requests in flight after drain()."""
        tasks = list(self._inflight.values())
        wait = self.config.drain_timeout
        log.warning(
            "stopping: waiting up to %gs for %d paid replies in flight to reach the cache "
            "(interrupt again to stop at once)",
            wait,
            len(tasks),
        )
        await asyncio.wait(tasks, timeout=wait)

    def _start(self, plan: RequestPlan) -> asyncio.Task[None] | object | None:
        """Send the request of ``plan``; or settle it at once: nothing to ask (its category
        is full), or its reply is in the cache and needs no judge; or _OVER_BUDGET when it
        would be sent and --max-requests is reached (it is counted once sent: SendLog), or
        _HOLD until the worker has curated the replies from the cache."""
        if self.curator.full(plan.category):
            self.curation.put(Answer(plan))
            return None
        request = self.build_request(plan, self.pool)
        key, hit = self.runner.lookup(request, plan.ordinal)
        if hit is not None and self.runner.judge is None:
            self.curation.put(Answer(plan, request, hit, cached=True))
            return None
        if hit is None:
            if self.curation.holds_cached:
                return _HOLD
            if not self.budgets.may_send(len(self._inflight), pending=len(self._reserved)):
                return _OVER_BUDGET
            self._reserved.add(plan.ordinal)
        return asyncio.create_task(self._fetch(plan, request, key, hit))

    def _sending(self, ordinal: int) -> None:
        """Request ``ordinal`` is about to be sent: logged first, so a kill cannot lose it."""
        self._reserved.discard(ordinal)
        self.sends.append(ordinal)
        self.ledger.sent()

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
        finally:
            self._reserved.discard(plan.ordinal)  # cancelled before it was sent
        self._done.put_nowait(answer)

    def _still_needed(self) -> int:
        """Requests worth having in flight for what is left: a run that needs 10 more
        examples should not buy 16 replies because --concurrency is 16. Estimated from the
        yield so far (optimistic at first), with a margin for rejects."""
        remaining = sum(q - self.curator.filled[c] for c, q in self.curator.quotas.items())
        s = self.stats
        per_reply = s.accepted / s.replies if s.replies >= 3 else 0.8 * self.config.per_request
        return max(1, math.ceil(1.25 * remaining / max(per_reply, 0.1)) + 1)

    def _rate_limited_out(self, detail: str) -> None:
        """A 429 storm outlasted its patience: the run ends, its curated work written."""
        if self.stop.end("rate_limited", f"{detail}; run the same command again to resume"):
            self._done.put_nowait(None)

    def _after_purchase(self) -> None:
        if self.budgets.check_cost():
            self._done.put_nowait(None)  # wake the loop: stop buying now

    # -- the live view -------------------------------------------------------------------
    def _progress(self) -> None:
        if self.on_progress is not None:
            self._note_waits()
            self.on_progress(self.stats)

    def _storm_changed(self) -> None:
        """A 429 storm began or ended: nothing may be curated for a while, so say so now."""
        self._progress()

    def _note_waits(self) -> None:
        """The concurrency in use and this run's rate-limit waits, from its pacing (a shared
        pacing: the endpoint's)."""
        pacing, s = self.runner.pacing, self.stats
        s.concurrency, s.concurrency_max = pacing.limit.value, pacing.limit.maximum
        storm = pacing.storm
        s.waiting_since = storm.started if storm.active else None
        s.rate_limit_pauses = pacing.storm.storms
        s.rate_limited_s = pacing.waited
        s.header_holds = pacing.headers.holds
