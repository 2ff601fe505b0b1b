"""Test helpers for synthgen and its users: FakeTeacher, a real OpenAI-compatible server.

Nothing in synthgen imports this package but tests (and benchmarks)."""

from synthgen.testing.fake_teacher import (
    FAULT_KINDS,
    FakeTeacher,
    Fault,
    Reply,
    ReplyItem,
    demo_reply,
    main,
)

__all__ = ["FAULT_KINDS", "FakeTeacher", "Fault", "Reply", "ReplyItem", "demo_reply", "main"]
