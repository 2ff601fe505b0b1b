"""The data synthgen moves around: messages and examples (OpenAI chat fine-tuning shape)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]


class Message(BaseModel):
    """One chat message, as the OpenAI fine-tuning format has it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    content: str
    name: str | None = None
    weight: int | None = None


class Example(BaseModel):
    """One training conversation plus metadata (category, origin, ...) that is not written
    into the chat line itself."""

    model_config = ConfigDict(frozen=True)

    messages: tuple[Message, ...]
    metadata: dict[str, Any] = Field(default_factory=dict)

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
        a shared system prompt would make every pair look alike."""
        return "\n".join(m.content for m in self.turns)

    def to_chat(self) -> dict[str, Any]:
        """The OpenAI chat fine-tuning line: ``{"messages": [...]}``."""
        return {"messages": [_message_dict(m) for m in self.messages]}


def _message_dict(m: Message) -> dict[str, Any]:
    # model_dump(exclude_none=True) by hand: this runs for every accepted example.
    d: dict[str, Any] = {"role": m.role, "content": m.content}
    if m.name is not None:
        d["name"] = m.name
    if m.weight is not None:
        d["weight"] = m.weight
    return d
