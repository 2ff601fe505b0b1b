"""The data synthgen moves around: messages and examples (OpenAI chat fine-tuning shape)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from synthgen.data.tool_call import ToolCall

Role = Literal["system", "user", "assistant", "tool"]


class Message(BaseModel):
    """One chat message, as the OpenAI fine-tuning format has it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str = ""  # "" on an assistant turn that only calls tools
    name: str | None = None
    weight: int | None = None
    tool_calls: tuple[ToolCall, ...] | None = None  # assistant turns
    tool_call_id: str | None = None  # tool turns: the call this result answers
    # Assistant turns: the reasoning before the answer (--reasoning keep), under the key
    # chat templates such as Qwen3's and DeepSeek-R1's read.
    reasoning_content: str | None = None


class Example(BaseModel):
    """One training conversation plus metadata (category, origin, ...) that is not written
    into the chat line itself."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    metadata: dict[str, Any] = Field(default_factory=dict)
    # OpenAI function definitions the conversation may call, kept per example.
    tools: tuple[dict[str, Any], ...] = ()
    parallel_tool_calls: bool | None = None

    @classmethod
    def from_pairs(
        cls,
        pairs: list[tuple[str, str]],
        *,
        system: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Example:
        """Build an example from (role, content) pairs, with an optional system prompt first."""
        msgs = [Message(role="system", content=system)] if system is not None else []
        msgs += [Message(role=r, content=c) for r, c in pairs]  # type: ignore[arg-type]
        return cls(messages=tuple(msgs), metadata=metadata or {})

    @property
    def system(self) -> str | None:
        """The system prompt, if the first message is one."""
        if self.messages and self.messages[0].role == "system":
            return self.messages[0].content
        return None

    @property
    def turns(self) -> tuple[Message, ...]:
        """The conversation without its system prompt."""
        return self.messages[1:] if self.system is not None else self.messages

    def with_system(self, system: str | None) -> Example:
        """The same conversation with ``system`` as its only system prompt (None: no prompt)."""
        head = (Message(role="system", content=system),) if system is not None else ()
        return self.model_copy(update={"messages": head + self.turns})

    def with_metadata(self, **extra: Any) -> Example:
        return self.model_copy(update={"metadata": {**self.metadata, **extra}})

    def dedup_text(self) -> str:
        """The text near-duplicate detection compares: user and assistant turns only, because
        a shared system prompt would make every pair look alike. Tool calls count as their
        name and canonical arguments: the same call is the same intent."""
        return "\n".join(_dedup_piece(m) for m in self.turns)

    def to_chat(self) -> dict[str, Any]:
        """The OpenAI chat fine-tuning line: ``{"messages": [...]}``, plus ``tools`` and
        ``parallel_tool_calls`` when the example has them."""
        line: dict[str, Any] = {"messages": [_message_dict(m) for m in self.messages]}
        if self.tools:
            line["tools"] = list(self.tools)
        if self.parallel_tool_calls is not None:
            line["parallel_tool_calls"] = self.parallel_tool_calls
        return line


def _dedup_piece(m: Message) -> str:
    if not m.tool_calls:
        return m.content
    return "\n".join([m.content, *(c.dedup_text() for c in m.tool_calls)]).strip()


def _message_dict(m: Message) -> dict[str, Any]:
    # model_dump(exclude_none=True) by hand: this runs for every accepted example.
    d: dict[str, Any] = {"role": m.role}
    if m.content or not m.tool_calls:
        d["content"] = m.content
    if m.reasoning_content is not None:
        d["reasoning_content"] = m.reasoning_content
    if m.name is not None:
        d["name"] = m.name
    if m.tool_calls:
        d["tool_calls"] = [c.to_dict() for c in m.tool_calls]
    if m.tool_call_id is not None:
        d["tool_call_id"] = m.tool_call_id
    if m.weight is not None:
        d["weight"] = m.weight
    return d
