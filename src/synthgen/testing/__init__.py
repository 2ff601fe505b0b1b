"""Test helpers for synthgen and its users: FakeTeacher, a real OpenAI-compatible server.

Nothing in synthgen imports this package but tests (and benchmarks). ``demo_reply``, the
placeholder generator FakeTeacher serves, lives with the demo teacher in
:mod:`synthgen.teacher.demo` and is re-exported here."""

from synthgen.teacher.demo import demo_reply
from synthgen.testing.fake_teacher import FakeTeacher
from synthgen.testing.faults import RateLimit, Storm
from synthgen.testing.process import main
from synthgen.testing.scripting import FAULT_KINDS, Fault, Reply, ReplyItem

__all__ = [
    "FAULT_KINDS",
    "FakeTeacher",
    "Fault",
    "RateLimit",
    "Reply",
    "ReplyItem",
    "Storm",
    "demo_reply",
    "main",
]
