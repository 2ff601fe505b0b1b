"""When a run stops early: --max-requests, --max-cost, a collapsed yield (with a diagnosis of
why), the same failure again and again, or an interrupt. The first reason wins; the partial
output is still written."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from synthgen.run.ledger import Ledger
from synthgen.run.runner import Failure
from synthgen.settings.naming import setting

__all__ = ["REPEATED_FAILURES", "Budgets", "Stop", "diagnose"]

# This many requests in a row failing the same way (kind, status, message) stop the run: the
# next one will fail the same way too (a wrong URL, a prompt over the context, a refused
# parameter), and retrying every request until the budget only burns time.
REPEATED_FAILURES = 3
_NUMBER = re.compile(r"\d+")


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
        repeated_failures: int = REPEATED_FAILURES,
    ) -> None:
        self.ledger = ledger
        self.stop = stop
        self.max_requests = max_requests
        self.max_cost = max_cost
        self.min_yield = min_yield
        self.repeated_failures = repeated_failures
        self._streak: tuple[tuple[str, int | None, str], int] | None = None

    def answered(self, result: object, *, fresh: bool) -> None:
        """A request came back: a failure extends the streak of identical failures (and stops
        the run at ``repeated_failures``), a reply from the teacher ends it."""
        if not isinstance(result, Failure):
            if fresh and result is not None:
                self._streak = None
            return
        # Numbers aside: "2600 tokens exceed the context of 2048" is the same failure for
        # every prompt, whatever its length.
        same = (result.kind, result.status, _NUMBER.sub("#", result.message))
        count = self._streak[1] + 1 if self._streak and self._streak[0] == same else 1
        self._streak = (same, count)
        if count >= self.repeated_failures:
            self.stop.end(
                "repeated_failure",
                f"{count} requests in a row failed the same way: {result.message}",
            )

    def may_send(self, in_flight: int, *, pending: int = 0) -> bool:
        """Whether one more request fits under --max-requests: requests are counted when
        sent (so those in flight are in), and ``pending`` more are started but not sent yet.
        At the cap, the run ends once the requests in flight are back (their replies are
        curated first)."""
        cap = self.max_requests
        if cap is None or self.ledger.requests_used + pending < cap:
            return True
        if in_flight == 0:
            self.stop.end("max_requests", f"{setting('max_requests', cap)} reached")
        return False

    def check_cost(self) -> bool:
        """Stop at --max-cost; True if this call stopped the run (so buying stops now)."""
        cap = self.max_cost
        if cap is None or self.ledger.spent < cap:
            return False
        return self.stop.end("max_cost", f"{setting('max_cost', cap)} reached")

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
    "semantic_duplicate": "the teacher repeats itself in other words: raise the temperature, "
    "add more varied seeds, or raise {semantic_dedup}",
    "seed_copy": "the teacher copies the seeds: use another template or a stronger teacher",
    "unparseable": "the teacher does not return the JSON asked for: try a stronger model",
    "truncated": "replies hit the token limit: raise {max_tokens}, or ask for fewer "
    "conversations per request ({per_request})",
    "refusal": "the teacher refuses the task: reword the seeds or the system prompt",
    "schema": "the teacher's conversations are malformed: try a stronger model",
}


def diagnose(reason: str, count: int, window: int) -> str:
    share = round(100 * count / window)
    what = reason.replace("_", " ")
    advice = _ADVICE.get(
        reason, "check .synthgen/rejected.jsonl for what the teacher returns"
    ).format(
        max_tokens=setting("max_tokens"),
        per_request=setting("per_request"),
        semantic_dedup=setting("semantic_dedup"),
    )
    return f"{share}% of the last {window} candidates were rejected as {what}: {advice}"
