"""Which request a teacher call is for, for backends that must name each request themselves
(a provider's batch API matches replies to requests by a ``custom_id``).

The runner sets it before each call, in the task making the call: the request's response
cache key, or ``#<ordinal>`` when the run has no cache. A backend that has no use for it
never reads it."""

from __future__ import annotations

from contextvars import ContextVar

__all__ = ["request_id"]

request_id: ContextVar[str] = ContextVar("synthgen_request_id", default="")
