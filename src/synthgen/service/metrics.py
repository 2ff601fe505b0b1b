"""/metrics: Prometheus text from prometheus_client, one registry per app (so two apps in
one process, as in tests, do not collide)."""

from __future__ import annotations

from typing import Any

from synthgen.service.api_models import JOB_STATES

__all__ = ["ServiceMetrics"]


class ServiceMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        r = self.registry
        self.jobs = Gauge("synthgen_jobs", "Jobs in the store by state", ["state"], registry=r)
        self.queue = Gauge("synthgen_queue_length", "Jobs waiting to run", registry=r)
        self.running = Gauge("synthgen_jobs_running_here", "Jobs this process runs", registry=r)
        self.http = Counter(
            "synthgen_http_requests",
            "API requests by method and status",
            ["method", "status"],
            registry=r,
        )
        self.requests = Counter(
            "synthgen_teacher_requests", "Teacher requests processed by jobs", registry=r
        )
        self.tokens = Counter(
            "synthgen_teacher_tokens", "Teacher tokens used by jobs", ["kind"], registry=r
        )
        self.cost = Counter("synthgen_teacher_cost_usd", "Estimated teacher cost", registry=r)
        self.retries = Counter("synthgen_teacher_retries", "Teacher request retries", registry=r)

    def count_progress(self, counted: dict[str, float], progress: dict[str, Any]) -> None:
        """Add what a job did since ``counted`` (updated in place)."""
        pairs = (
            ("requests", self.requests),
            ("prompt_tokens", self.tokens.labels("prompt")),
            ("completion_tokens", self.tokens.labels("completion")),
            ("cost_usd", self.cost),
            ("retries", self.retries),
        )
        for key, counter in pairs:
            now = float(progress.get(key, 0) or 0)
            if now > counted.get(key, 0.0):
                counter.inc(now - counted.get(key, 0.0))
                counted[key] = now

    def render(self, by_state: dict[str, int], running_here: int) -> bytes:
        from prometheus_client import generate_latest

        for state in JOB_STATES:
            self.jobs.labels(state).set(by_state.get(state, 0))
        self.queue.set(by_state.get("queued", 0))
        self.running.set(running_here)
        return generate_latest(self.registry)
