"""A teacher that is a function in this process: a request in, a reply out. The demo runs on
it, and so do the engine's unit tests, with no server, port or socket in between."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from synthgen.teacher.base import ChatRequest, Completion

Answer = Completion | str
Respond = Callable[[ChatRequest], Answer | Awaitable[Answer]]


class InProcessTeacher:
    """A :class:`~synthgen.teacher.Teacher` that answers by calling ``respond``.

    ``respond`` may be a coroutine function, to answer after a delay of its choosing (so that
    replies complete out of order), and may raise ``TeacherError`` to fail as a server would.
    A ``str`` answer is a complete reply with no usage reported; return a ``Completion`` to
    set ``finish_reason`` or token counts.
    """

    def __init__(
        self, respond: Respond, *, model: str = "in-process", endpoint: str = "in-process"
    ) -> None:
        self.model = model
        self.endpoint = endpoint
        self.calls = 0  # complete() calls, answered or not
        self.closed = False
        self._respond = respond

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        answer = self._respond(request)
        if not isinstance(answer, str | Completion):
            answer = await answer
        if isinstance(answer, str):
            return Completion(text=answer, finish_reason="stop")
        return answer

    async def aclose(self) -> None:
        self.closed = True


__all__ = ["Answer", "InProcessTeacher", "Respond"]
