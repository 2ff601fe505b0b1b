"""The adaptive per-request deadline: how long a request may go unanswered before it is
hedged, learnt from the latencies this run has observed.

A fixed --timeout (120 s by default) is the wrong wait for a request that hangs: replies are
curated in order, so one hung request holds every reply after it. The deadline is a high
quantile of the recent latencies times a margin, never below a floor (a teacher answering in
20 ms still gets seconds) and never above --timeout.
"""

from __future__ import annotations

from collections import deque

__all__ = ["HEDGE_FLOOR", "Deadline"]

# The shortest deadline, in seconds: a teacher answering in 20 ms still gets this long.
HEDGE_FLOOR = 2.0


class Deadline:
    def __init__(
        self,
        timeout: float,
        *,
        floor: float = HEDGE_FLOOR,
        margin: float = 3.0,
        quantile: float = 0.95,
        window: int = 256,
        min_samples: int = 8,
    ) -> None:
        self.timeout = timeout
        self.floor = min(floor, timeout)
        self._margin = margin
        self._quantile = quantile
        self._min_samples = min_samples
        self._seen: deque[float] = deque(maxlen=window)
        self._fresh = 0  # observations since the deadline was last worked out
        self._value: float | None = None

    def observe(self, seconds: float) -> None:
        """A reply arrived ``seconds`` after its request was sent."""
        self._seen.append(seconds)
        self._fresh += 1

    @property
    def seconds(self) -> float | None:
        """The deadline now, or None until enough replies have been seen to know one."""
        if self._fresh >= 16 or (self._value is None and len(self._seen) >= self._min_samples):
            # Sorting the window is cheap, but not per request at hundreds per second.
            ordered = sorted(self._seen)
            high = ordered[min(len(ordered) - 1, int(self._quantile * len(ordered)))]
            self._value = min(self.timeout, max(self.floor, high * self._margin))
            self._fresh = 0
        return self._value
