"""Hedging a request that outlives its deadline: a duplicate is sent, the first reply kept,
the other attempt cancelled.

The duplicate is the same request (same prompt, same cache key), so determinism holds: the
reply that arrives first is the one cached and curated, and a re-run from the cache gets it
back. What hedging costs is counted: duplicates sent, attempts abandoned unanswered, and the
replies that arrived but were not used (both were paid for; only one is curated).

The original attempt runs in the caller's own task (no task per request: at hundreds of
requests per second that costs CPU, and the request must start in the step that counts it
as sent); a timer starts the duplicate, and a duplicate that answers first (or fails) ends
the original by cancelling the caller, which tells that cancellation from any other.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict

from synthgen.run.deadline import Deadline
from synthgen.teacher import Completion

__all__ = ["HedgeRecord", "HedgeTally", "Hedger", "Send"]

_BY_HEDGE = "ended by its duplicate"

Send = Callable[[], Coroutine[object, object, Completion]]


class HedgeRecord(BaseModel):
    """What hedging a request cost, as its journal record keeps it: duplicates sent past its
    deadline, attempts abandoned unanswered, and the replies that arrived but were not
    curated (paid for all the same)."""

    model_config = ConfigDict(frozen=True)
    sent: int = 0
    abandoned: int = 0
    pt: int = 0
    ct: int = 0
    cost: float = 0.0


@dataclass
class HedgeTally:
    """What hedging one request's attempts cost."""

    sent: int = 0  # duplicates sent
    abandoned: int = 0  # attempts cancelled before they answered
    unused: list[Completion] = field(default_factory=list)  # paid for, not curated


class Hedger:
    def __init__(self, deadline: Deadline, may_hedge: Callable[[], bool] = lambda: True) -> None:
        self.deadline = deadline
        self.may_hedge = may_hedge  # False: not now (a 429 storm: one probe at a time)

    async def call(self, send: Send, tally: HedgeTally) -> Completion:
        """The first reply of ``send()`` or of its duplicate, sent past the deadline. When
        the duplicate fails first, both are abandoned and its error raised (the caller
        retries, as for any failure)."""
        race = _Race(self, send, tally)
        try:
            reply = await send()
        except asyncio.CancelledError as e:
            if race.ended_by is None or _also_cancelled(race.task, e):
                raise  # not (only) the duplicate's doing: the run is stopping
            tally.abandoned += 1  # the original, cut off by its duplicate
            return race.outcome(race.ended_by)
        except Exception:
            hedge = race.hedge
            if hedge is None or (hedge.done() and (hedge.cancelled() or hedge.exception())):
                raise
            race.waiting = True  # the original failed; its duplicate is out or answered
            await asyncio.wait({hedge})
            return race.outcome(hedge)
        finally:
            race.close()
        self.deadline.observe(race.loop.time() - race.started)
        return reply


class _Race:
    """One attempt and its duplicate, if one was sent."""

    def __init__(self, hedger: Hedger, send: Send, tally: HedgeTally) -> None:
        self.loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.deadline = hedger.deadline
        self.may_hedge = hedger.may_hedge
        self.send = send
        self.tally = tally
        self.started = self.loop.time()
        self.hedge: asyncio.Task[Completion] | None = None
        self.hedge_started = 0.0
        self.ended_by: asyncio.Task[Completion] | None = None  # the duplicate, when it won
        self.waiting = False  # the caller waits on the duplicate (the original failed)
        self.done = False
        self._timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        limit = self.deadline.seconds
        # Without a deadline yet, look again after a floor's worth: replies teach one.
        wait = self.deadline.floor if limit is None else limit
        self._timer = self.loop.call_at(self.started + wait, self._late)

    def _late(self) -> None:
        self._timer = None
        if self.done:
            return
        now, limit = self.loop.time(), self.deadline.seconds
        if limit is not None and now - self.started < limit:
            self._timer = self.loop.call_at(self.started + limit, self._late)
            return
        if limit is None or not self.may_hedge():
            self._timer = self.loop.call_at(now + self.deadline.floor, self._late)
            return
        self.hedge = self.loop.create_task(self.send())
        self.hedge_started = self.loop.time()
        self.tally.sent += 1
        self.hedge.add_done_callback(self._answered)

    def _answered(self, hedge: asyncio.Task[Completion]) -> None:
        if hedge.cancelled():
            return
        hedge.exception()  # retrieved here, whoever reads it later
        if self.done or self.waiting:
            return
        self.ended_by = hedge  # first to finish, with a reply or an error: end the original
        self.task.cancel(_BY_HEDGE)

    def outcome(self, hedge: asyncio.Task[Completion]) -> Completion:
        """The duplicate's reply, or its error raised."""
        error = hedge.exception()
        if error is not None:
            raise error
        self.deadline.observe(self.loop.time() - self.hedge_started)
        return hedge.result()

    def close(self) -> None:
        """The caller is done: stop the timer; a duplicate still out is abandoned, one that
        answered after the original did was paid for and goes unused."""
        self.done = True
        if self._timer is not None:
            self._timer.cancel()
        hedge = self.hedge
        if hedge is None or hedge is self.ended_by:
            return
        if not hedge.done():
            hedge.cancel()
            self.tally.abandoned += 1
        elif not hedge.cancelled() and hedge.exception() is None and not self.waiting:
            self.tally.unused.append(hedge.result())


def _also_cancelled(task: asyncio.Task[object], error: asyncio.CancelledError) -> bool:
    """Whether ``task`` was cancelled by someone else too, besides its duplicate."""
    if sys.version_info >= (3, 11):
        return task.uncancel() > 0
    # 3.10 counts no cancellations: the message tells whose it was (the latest one).
    return error.args != (_BY_HEDGE,)  # pragma: no cover
