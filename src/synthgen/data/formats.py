"""Output formats, and atomic JSONL/JSON writers.

One record per example; metadata (category, origin, ...) is never written into a record.

- ``openai`` (default): ``{"messages": [...]}`` exactly as ``Example.to_chat()`` (keeps
  ``name`` and ``weight``).
- ``trl``: TRL's conversational format, ``{"messages": [{"role", "content"}]}`` only.
- ``sharegpt``: ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}]}``.
- ``prompt-completion``: the final assistant message is the completion; everything before it
  is the prompt. A single user turn is just its content. Several turns are a transcript of
  ``"User: ..."`` / ``"Assistant: ..."`` blocks separated by blank lines. A system prompt goes
  first, separated from the rest by a blank line.
- ``alpaca``: LLaMA-Factory's Alpaca columns. ``instruction`` is the last user message,
  ``output`` the final assistant message, ``input`` is "". Earlier turns go into
  ``history`` as ``[[user, assistant], ...]`` (consecutive messages of one role are joined
  by a blank line), and the system prompt into ``system``; both only when present.

``prompt-completion`` and ``alpaca`` need an example that ends with an assistant message.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import IO, Any, TypeVar

from synthgen.data.example import Example, Message
from synthgen.errors import ConfigError, InputError

FORMATS: tuple[str, ...] = ("openai", "prompt-completion", "sharegpt", "alpaca", "trl")

T = TypeVar("T")

SHAREGPT_FROM = {"system": "system", "user": "human", "assistant": "gpt"}
_LABEL = {"system": "System", "user": "User", "assistant": "Assistant"}


def _final_reply(example: Example, fmt: str) -> tuple[tuple[Message, ...], str]:
    """(turns before the final assistant message, its content)."""
    turns = example.turns
    if not turns or turns[-1].role != "assistant":
        raise InputError(f"cannot write as {fmt}: an example does not end with an assistant reply")
    return turns[:-1], turns[-1].content


def _prompt_completion(example: Example) -> dict[str, Any]:
    before, completion = _final_reply(example, "prompt-completion")
    if len(before) == 1 and before[0].role == "user":
        body = before[0].content
    else:
        body = "\n\n".join(f"{_LABEL[m.role]}: {m.content}" for m in before)
    system = example.system
    prompt = f"{system}\n\n{body}" if system is not None else body
    return {"prompt": prompt, "completion": completion}


def _merged(turns: Sequence[Message]) -> list[tuple[str, str]]:
    """(role, content) with consecutive same-role messages joined by a blank line."""
    out: list[tuple[str, str]] = []
    for m in turns:
        if out and out[-1][0] == m.role:
            out[-1] = (m.role, f"{out[-1][1]}\n\n{m.content}")
        else:
            out.append((m.role, m.content))
    return out


def _alpaca(example: Example) -> dict[str, Any]:
    before, output = _final_reply(example, "alpaca")
    turns = _merged(before)
    instruction = turns.pop()[1] if turns and turns[-1][0] == "user" else ""
    history: list[list[str]] = []
    pending_user = ""
    for role, content in turns:
        if role == "user":
            pending_user = content
        else:
            history.append([pending_user, content])
            pending_user = ""
    record: dict[str, Any] = {"instruction": instruction, "input": "", "output": output}
    if example.system is not None:
        record["system"] = example.system
    if history:
        record["history"] = history
    return record


def to_record(example: Example, fmt: str = "openai") -> dict[str, Any]:
    """The line written for ``example`` in output format ``fmt``."""
    if fmt == "openai":
        return example.to_chat()
    if fmt == "trl":
        return {"messages": [{"role": m.role, "content": m.content} for m in example.messages]}
    if fmt == "sharegpt":
        return {
            "conversations": [
                {"from": SHAREGPT_FROM[m.role], "value": m.content} for m in example.messages
            ]
        }
    if fmt == "prompt-completion":
        return _prompt_completion(example)
    if fmt == "alpaca":
        return _alpaca(example)
    raise ConfigError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def detect_format(record: object) -> str | None:
    """Which format a parsed line is in, judged by its keys. ``trl`` lines are a subset of
    ``openai`` ones, so both are reported as ``openai``."""
    if not isinstance(record, dict):
        return None
    if "messages" in record:
        return "openai"
    if "conversations" in record:
        return "sharegpt"
    if "instruction" in record and "output" in record:
        return "alpaca"
    if "prompt" in record and "completion" in record:
        return "prompt-completion"
    return None


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform (Windows), hence best effort.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@cache
def _umask() -> int:
    # os.umask can only be read by setting it; done once, then restored.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomic(path: str | os.PathLike[str], write: Callable[[IO[str]], T]) -> T:
    """Run ``write(file)`` on a temp file next to ``path``, then move it onto ``path``."""
    target = Path(path)
    folder = target.parent
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            # mkstemp makes the file 0600; give it the mode a plain open() would have.
            os.chmod(tmp, 0o666 & ~_umask())
            result = write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(folder)
    return result


def write_jsonl(path: str | os.PathLike[str], records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line (UTF-8, unescaped), atomically; returns the line count.
    If ``records`` raises, ``path`` keeps its previous content and no temp file is left."""

    def write(f: IO[str]) -> int:
        n = 0
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False))
            f.write("\n")
            n += 1
        return n

    return _write_atomic(path, write)


def write_text_lines(path: str | os.PathLike[str], lines: Iterable[str]) -> int:
    """Write lines as they are (a newline after each), atomically; returns the count."""

    def write(f: IO[str]) -> int:
        count = 0
        for line in lines:
            f.write(line)
            f.write("\n")
            count += 1
        return count

    return _write_atomic(path, write)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON with a trailing newline, atomically."""

    def write(f: IO[str]) -> None:
        f.write(json.dumps(obj, ensure_ascii=False, indent=2))
        f.write("\n")

    _write_atomic(path, write)


def write(examples: Iterable[Example], path: str | os.PathLike[str], *, fmt: str = "openai") -> int:
    """Write examples to ``path`` as JSONL in ``fmt``, atomically; returns the line count."""
    return write_jsonl(path, (to_record(e, fmt) for e in examples))
