"""When a run stops early: --max-requests, --max-cost, a collapsed yield (with a diagnosis of
why), or an interrupt. The first reason wins; the partial output is still written."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from synthgen.run.ledger import Ledger

__all__ = ["Budgets", "Stop", "diagnose"]


@dataclass
class Stop:
    """Why the run is stopping (None while it is not), and what to tell the user."""

    reason: str | None = None
    detail: str = ""

    def end(self, reason: str, detail: str = "") -> bool:
        """Stop for ``reason`` unless already stopping; True if this call stopped the run."""
        if self.reason is not None:
            return False
        self.reason, self.detail = reason, detail
        return True


class Budgets:
    """The limits a run checks as it spends and as it curates, read from its :class:`Ledger`."""

    def __init__(
        self,
        ledger: Ledger,
        stop: Stop,
        *,
        max_requests: int | None = None,
        max_cost: float | None = None,
        min_yield: float = 0.05,
    ) -> None:
        self.ledger = ledger
        self.stop = stop
        self.max_requests = max_requests
        self.max_cost = max_cost
        self.min_yield = min_yield

    def may_send(self, in_flight: int) -> bool:
        """Whether one more request fits under --max-requests. At the cap, the run ends
        once the requests in flight are back (their replies are curated first)."""
        cap = self.max_requests
        if cap is None or self.ledger.requests_used + in_flight < cap:
            return True
        if in_flight == 0:
            self.stop.end("max_requests", f"--max-requests {cap} reached")
        return False

    def check_cost(self) -> bool:
        """Stop at --max-cost; True if this call stopped the run (so buying stops now)."""
        cap = self.max_cost
        if cap is None or self.ledger.spent < cap:
            return False
        return self.stop.end("max_cost", f"--max-cost ${cap:g} reached")

    def check_yield(self) -> None:
        """Stop when under ``min_yield`` of the latest candidates (a full window) were
        accepted, naming the most common reason they were not."""
        window = self.ledger.recent
        if self.stop.reason is not None or len(window) < (window.maxlen or 0):
            return
        if window.count("accepted") / len(window) < self.min_yield:
            reason, count = Counter(r for r in window if r != "accepted").most_common(1)[0]
            self.stop.end("low_yield", diagnose(reason, count, len(window)))


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
