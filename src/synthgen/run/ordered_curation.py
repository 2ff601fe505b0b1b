"""Ordered curation: replies finish in any order, but are curated, journaled and shown to later
prompts strictly in request order, through a small reorder buffer; so the accepted set is a
function of the replies alone and a re-run from the cache is byte-identical.

Curation runs on the event loop, or, for large runs at high concurrency, in a worker process
(:mod:`synthgen.run.curation_worker`): replies are fed to it in order and its outcomes are
journaled in that order, each mirrored into the engine's curator and frontier pool. Either
way :attr:`OrderedCuration.frontier` is the next request whose outcome is journaled, so a
request that may show examples accepted ``lag`` requests before it is only rendered once
those are in the pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from synthgen.curate.curator import Curator, Outcome
from synthgen.run.budgets import Budgets, Stop
from synthgen.run.curation_worker import CurationWorker
from synthgen.run.excerpt import bounded
from synthgen.run.frontier import FrontierPool
from synthgen.run.journal import FailRecord, JournalRecord, RunState
from synthgen.run.ledger import Ledger
from synthgen.run.runner import Answer, Failure
from synthgen.teacher import Completion

__all__ = ["OrderedCuration"]

log = logging.getLogger("synthgen")


class OrderedCuration:
    def __init__(
        self,
        *,
        curator: Curator,
        state: RunState,
        pool: FrontierPool,
        ledger: Ledger,
        budgets: Budgets,
        stop: Stop,
        after: Callable[[], None],
    ) -> None:
        """``after``: called whenever curation moved on (the live view)."""
        self.curator = curator
        self.state = state
        self.pool = pool
        self.ledger = ledger
        self.budgets = budgets
        self.stop = stop
        self.after = after
        self.frontier = 0  # the next request whose outcome is journaled
        self.ready: dict[int, Answer] = {}  # finished, waiting for their turn
        self._worker: CurationWorker[Answer] | None = None
        self._cut = False  # a curation stopped the run: nothing after it is journaled
        self._cached: set[int] = set()  # replies from the cache handed to the worker

    @property
    def pending(self) -> int:
        """Answers handed to the worker whose outcomes are not journaled yet (their requests
        are as good as in flight: what they bring is not counted yet)."""
        return 0 if self._worker is None else self._worker.pending

    @property
    def holds_cached(self) -> bool:
        """Whether replies from the cache wait for the worker: a run served from the cache
        sends nothing until they are curated, as on the loop (where they are curated at once),
        for they may be all it needs."""
        return bool(self._cached)

    def put(self, answer: Answer) -> None:
        """A request finished (or was settled at once): curate what is next in order."""
        self.ready[answer.plan.ordinal] = answer
        if answer.cached and self._worker is not None:
            self._cached.add(answer.plan.ordinal)
        if self._worker is None:
            self._curate_ready()
        else:
            self._worker.feed(self.ready)
            self._apply(self._worker.take())
        self.after()

    def poll(self) -> None:
        """Journal the outcomes the worker has sent back (nothing without a worker)."""
        if self._worker is not None:
            self._apply(self._worker.take())
            self.after()

    # -- the worker -----------------------------------------------------------------------
    def start_worker(self, wake: Callable[[], None]) -> bool:
        """Curate in a worker process from :attr:`frontier` on (call inside the running loop,
        after the journal is replayed); ``wake`` is called when outcomes are back. False when
        the curator cannot be copied to another process (a shared dedup index, a check that
        does not pickle): curation stays on the loop."""
        self._worker = CurationWorker.start(self.curator, first=self.frontier, wake=wake)
        if self._worker is None:
            log.debug("curating on the event loop: the curator cannot go to a worker process")
        return self._worker is not None

    async def finish(self) -> None:
        """The run is ending: journal the replies handed to the worker before it stopped, as
        curating on the loop would have (it curates each as it comes in order), unless a
        curation stopped it or the quotas are full."""
        worker = self._worker
        if worker is None or self._cut or self.curator.done:
            return
        await worker.finished()
        self._apply(worker.take())
        self.after()

    async def aclose(self) -> None:
        """Stop the worker; what it has not sent back stays uncurated (and is settled)."""
        self._cached.clear()
        if self._worker is not None:
            worker, self._worker = self._worker, None
            await worker.aclose()

    def _apply(self, taken: list[tuple[Answer, Outcome | None]]) -> None:
        """Journal the worker's outcomes in order. A stop raised by one of them (a budget
        checked as it is counted) ends it there, as on the loop; one raised elsewhere
        (Ctrl-C, --max-cost as replies are bought) does not: those replies were in before it."""
        before = self.stop.reason
        for k, (answer, outcome) in enumerate(taken):
            self._cached.discard(answer.plan.ordinal)
            if self.stop.reason != before:
                self._cut = True
                self._cached.clear()
                if self._worker is not None:
                    self._worker.discard()
                log.debug("%d curated replies not journaled: the run stopped", len(taken) - k)
                return
            self.frontier = answer.plan.ordinal + 1
            if answer.result is None or self.curator.done:
                continue
            self._curate(answer, outcome)

    # -- on the loop ----------------------------------------------------------------------
    def _curate_ready(self) -> None:
        ready = self.ready
        while self.frontier in ready and self.stop.reason is None:
            answer = ready.pop(self.frontier)
            self.frontier += 1
            if answer.result is None or self.curator.done:
                continue
            self._curate(answer, None)

    def _curate(self, answer: Answer, outcome: Outcome | None) -> None:
        """Journal one answer and count it; ``outcome``: the worker's (None: curate here)."""
        plan, result = answer.plan, answer.result
        if isinstance(result, Failure):
            record = JournalRecord(
                i=plan.ordinal,
                fail=FailRecord(kind=result.kind, status=result.status, message=result.message),
                retries=answer.retries,
                faults=answer.faults,
                hedge=answer.hedge,
            )
        else:
            assert result is not None
            record = self._reply_record(answer, result, outcome)
        self.state.append(record)
        for example in record.acc:
            self.pool.add(example, plan.category)
        self.ledger.count(record)
        self.budgets.check_cost()
        if not self.curator.done:
            self.budgets.check_yield()

    def _reply_record(
        self, answer: Answer, result: Completion, outcome: Outcome | None
    ) -> JournalRecord:
        judged = answer.judged
        if outcome is None:
            outcome = self.curator.curate(
                answer.plan, result, answer.request, None if judged is None else judged.verdicts
            )
        else:  # curated in the worker: the engine's curator counts what it accepted
            for example in outcome.accepted:
                self.curator.admit(example, answer.plan.category)
        return JournalRecord(
            i=answer.plan.ordinal,
            src="cache" if answer.cached else "sent",
            pt=result.prompt_tokens,
            ct=result.completion_tokens,
            cpt=result.cached_tokens,
            rt=result.reasoning_tokens,
            cand=outcome.candidates,
            acc=outcome.accepted,
            rej=[bounded(row) for row in outcome.drops],
            sur=outcome.surplus,
            judge=judged.record() if judged is not None and judged.verdicts else None,
            cost=answer.cost,
            retries=answer.retries,
            faults=answer.faults,
            hedge=answer.hedge,
        )
