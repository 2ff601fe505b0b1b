"""Counting what a run did and what it bought, one way for live runs and for resume.

Counts move into :class:`RunStats` only through :meth:`Ledger.count`, from a journal record:
the record just written, or the same record replayed on resume. So a resumed run starts from
exactly the counts the interrupted one had reached, with no second path to drift.

What a reply costs is known earlier than its record, when it arrives (replies are curated in
request order, so an early arrival waits for those before it). The budgets must see that
spending at once, so a purchase is held under its request's ordinal until the record takes it
over; :meth:`Ledger.settle` counts the purchases of requests that were never curated (their
replies arrived while the run was stopping: paid for, and in the cache for the next run),
and the settled log (run.settled) keeps them for the runs after it.
Retries and faults are held and handed over the same way, so they too survive a resume.

The one count that is not the journal's: requests *sent*, which move when a request is sent
(:meth:`Ledger.sent`) and are restored from the send log (run.sendlog), so that a request
whose reply a kill lost is still counted, and budgets hold across kills.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from synthgen.run.journal import JournalRecord
from synthgen.run.spend import RESPONSE_ORDINALS
from synthgen.run.stats import RunStats

__all__ = ["Ledger", "Purchase"]

# Rejections that say the reply as a whole was unusable; they count towards the yield guard
# only when the reply had no candidates at all (a reply is one vote, not one per candidate).
_WHOLE_REPLY = ("unparseable", "truncated")
# Conversations past what a request asked for say nothing of the teacher's yield.
_NOT_A_VOTE = ("over_asked",)


@dataclass(frozen=True)
class Purchase:
    """One reply paid for: a teacher reply, or one judge verdict."""

    prompt_tokens: int
    completion_tokens: int
    cost: float
    judge: bool = False
    unused: bool = False  # a hedged request's second reply: paid for, not curated
    cached_tokens: int = 0  # of prompt_tokens, from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, the teacher's reasoning


@dataclass
class _Open:
    """What a request has done before its record is counted."""

    purchases: list[Purchase] = field(default_factory=list)
    retries: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    hedged: int = 0
    abandoned: int = 0


class Ledger:
    def __init__(self, *, balance_by: str | None = None, yield_window: int = 200) -> None:
        self.stats = RunStats()
        # The outcomes of the latest candidates ("accepted" or a drop reason), for the
        # yield guard; rebuilt on resume like every other count.
        self.recent: deque[str] = deque(maxlen=yield_window)
        self.settled: list[Purchase] = []  # purchases counted by settle(), not journaled
        self._balance_by = balance_by
        self._open: dict[int, _Open] = {}
        # Requests the replayed journal says were sent (replies not from the cache, and
        # failures): the count of journals older than the send log (run.sendlog).
        self._journal_sends = 0

    # -- as requests are answered ---------------------------------------------------------
    def sent(self) -> None:
        """A request is about to be sent to the teacher: it counts from now (run.sendlog)."""
        self.stats.sent += 1

    def restored(self, logged: int | None) -> None:
        """The journal has been replayed; ``logged`` requests were sent by earlier runs
        (None: no send log, so the journal's count stands)."""
        self.stats.sent = self._journal_sends if logged is None else logged

    def bought(self, ordinal: int, purchase: Purchase) -> None:
        self._open.setdefault(ordinal, _Open()).purchases.append(purchase)

    def fault(self, ordinal: int, kind: str) -> None:
        self._open.setdefault(ordinal, _Open()).faults[kind] += 1
        self.stats.live_faults[kind] += 1  # for the live view: this run's, at once

    def hedged(self, ordinal: int, *, sent: int, abandoned: int) -> None:
        """Duplicates of a request sent past its deadline, attempts of it abandoned."""
        entry = self._open.setdefault(ordinal, _Open())
        entry.hedged += sent
        entry.abandoned += abandoned
        self.stats.live_hedged += sent

    def retry(self, ordinal: int) -> None:
        self._open.setdefault(ordinal, _Open()).retries += 1
        self.stats.live_retries += 1

    @property
    def requests_used(self) -> int:
        """Teacher requests sent, by this run and the earlier runs of its job, answered or
        not (counted when sent: see run.sendlog)."""
        return self.stats.sent

    @property
    def spent(self) -> float:
        """Money spent so far, curated or waiting."""
        waiting = sum(p.cost for entry in self._open.values() for p in entry.purchases)
        return self.stats.cost_usd + waiting

    # -- the one counting path ------------------------------------------------------------
    def count(self, record: JournalRecord) -> None:
        """Count a journal record, live or replayed; it takes over what its request did."""
        self._open.pop(record.i, None)
        s = self.stats
        s.requests += 1
        s.retries += record.retries
        s.faults.update(record.faults)
        if record.hedge is not None:
            h = record.hedge
            s.hedge.count(h.sent, h.abandoned, h.pt, h.ct, h.cost)
            s.cost_usd += h.cost
        if record.fail is not None:
            s.failed += 1
            self._journal_sends += 1
            return
        s.replies += 1
        if record.src == "cache":
            s.cache_hits += 1
        else:
            self._journal_sends += 1
            s.prompt_tokens += record.pt
            s.completion_tokens += record.ct
            s.cached_tokens += record.cpt
            s.reasoning_tokens += record.rt
            s.cost_usd += record.cost or 0.0
            s.token_use.count(record)
        s.candidates += record.cand
        s.accepted += len(record.acc)
        s.surplus += record.sur
        if record.judge is not None:
            s.judge_calls += record.judge.sent
            s.judge_tokens += record.judge.pt + record.judge.ct
            s.cost_usd += record.judge.cost
            s.judge_cost += record.judge.cost
            s.judge_scores.update(
                str(x) if x is not None else "unscored" for x in record.judge.scores
            )
        self._count_candidates(record)

    def _count_candidates(self, record: JournalRecord) -> None:
        s = self.stats
        reasons: Counter[str] = Counter()
        for row in record.rej:  # a row may stand for several candidates (over_asked)
            reasons[row["reason"]] += row.get("count", 1)
        s.rejected.update(reasons)
        for example in record.acc:
            category = example.metadata.get(self._balance_by) if self._balance_by else None
            s.per_category[str(category) if category is not None else "all"] += 1
        for reason in reasons.elements():
            if reason in _NOT_A_VOTE:
                continue
            if reason not in _WHOLE_REPLY or record.cand == 0:
                self.recent.append(reason)
        self.recent.extend(["accepted"] * len(record.acc))

    def settle(self) -> list[dict[str, Any]]:
        """Count what requests that will not be curated in this run did: their replies were
        paid for (and are in the cache), their retries happened. Returns them as entries
        for the settled log (run.settled), so later runs of the job count them too."""
        entries = [_entry(i, self._open[i]) for i in sorted(self._open)]
        for entry in entries:
            self.count_settled(entry)
        for opened in self._open.values():
            self.settled.extend(opened.purchases)
        self._open.clear()
        return entries

    def count_settled(self, entry: dict[str, Any]) -> None:
        """Count one settled entry: this run's at its end, or an earlier run's on resume."""
        s = self.stats
        s.retries += entry.get("retries", 0)
        s.faults.update(entry.get("faults", {}))
        s.hedge.count(entry.get("hedged", 0), entry.get("abandoned", 0), 0, 0, 0.0)
        for p in entry.get("bought", []):
            s.cost_usd += p.get("cost", 0.0)
            if p.get("unused"):
                s.hedge.count(0, 0, p["pt"], p["ct"], p.get("cost", 0.0))
            elif p.get("judge"):
                s.judge_calls += 1
                s.judge_tokens += p["pt"] + p["ct"]
                s.judge_cost += p.get("cost", 0.0)
            else:
                s.prompt_tokens += p["pt"]
                s.completion_tokens += p["ct"]
                s.cached_tokens += p.get("cpt", 0)
                s.reasoning_tokens += p.get("rt", 0)
                if entry.get("i", 0) >= RESPONSE_ORDINALS:
                    s.token_use.response(p["pt"], p["ct"], p.get("cost", 0.0))


def _entry(ordinal: int, opened: _Open) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "i": ordinal,
        "bought": [
            {"pt": p.prompt_tokens, "ct": p.completion_tokens, "cost": p.cost}
            | ({"judge": True} if p.judge else {})
            | ({"unused": True} if p.unused else {})
            | ({"cpt": p.cached_tokens} if p.cached_tokens else {})
            | ({"rt": p.reasoning_tokens} if p.reasoning_tokens and not p.judge else {})
            for p in opened.purchases
        ],
    }
    if opened.retries:
        entry["retries"] = opened.retries
    if opened.faults:
        entry["faults"] = dict(opened.faults)
    if opened.hedged:
        entry["hedged"] = opened.hedged
    if opened.abandoned:
        entry["abandoned"] = opened.abandoned
    return entry
