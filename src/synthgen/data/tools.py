"""Tool definitions (OpenAI function definitions) and the rules a tool-calling conversation
follows, shared by the seed reader (a broken seed is a one-line error), the curation filters
(a broken candidate is a counted drop) and ``synthgen validate``.

A definition is ``{"type": "function", "function": {"name", "description", "parameters"}}``
with ``parameters`` a JSON Schema; the bare ``{"name", "parameters"}`` form (LLaMA-Factory's
ShareGPT ``tools``) is read into it. The rules, each with its drop reason:

- ``unknown_tool``: a call names a function the example does not define;
- ``invalid_arguments``: a call's arguments are not a JSON object, or fail the function's
  ``parameters`` schema (checked with ``jsonschema``);
- ``orphan_tool_message``: a ``tool`` message answers no call made before it (an unknown
  ``tool_call_id``, or none);
- ``unanswered_tool_call``: a conversation moves on (a user turn, an assistant turn) before
  every call has its ``tool`` result;
- ``parallel_tool_calls``: several calls in one message where ``parallel_tool_calls`` is false;
- ``duplicate_call_id``: two calls of one conversation share an id;
- ``missing_final_answer``: the conversation ends on calls or results, not on the assistant's
  answer (required of generated conversations; a seed may end on the call it teaches).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from synthgen.data.tool_call import parse_arguments
from synthgen.errors import SeedError

if TYPE_CHECKING:
    from jsonschema.protocols import Validator

    from synthgen.data.example import Example, Message

__all__ = [
    "TOOLS_LINE",
    "TOOL_DROP_REASONS",
    "Toolbox",
    "argument_problem",
    "definition_problem",
    "merge_tools",
    "read_tools",
    "tool_name",
    "tool_use_problem",
]

# How a request's prompt lists the tools (prompts.tool_prompt), one line of JSON after it:
# the offline demo teacher reads them back from there.
TOOLS_LINE = "TOOLS (OpenAI function definitions, JSON): "

TOOL_DROP_REASONS = (
    "unknown_tool",
    "invalid_arguments",
    "orphan_tool_message",
    "unanswered_tool_call",
    "parallel_tool_calls",
    "duplicate_call_id",
    "missing_final_answer",
)


def tool_name(tool: Mapping[str, Any]) -> str:
    """The function name of a (normalised) definition."""
    return str(tool["function"]["name"])


def _normalised(item: object) -> object:
    """The bare ``{"name", "parameters"}`` form wrapped as OpenAI writes a definition."""
    if isinstance(item, Mapping) and "type" not in item and "name" in item:
        return {"type": "function", "function": dict(item)}
    return item


def definition_problem(item: object) -> str | None:
    """What is wrong with one tool definition, or None."""
    if not isinstance(item, Mapping):
        return "is not an object"
    if item.get("type") != "function":
        return f"has type {item.get('type')!r}, expected 'function'"
    function = item.get("function")
    if not isinstance(function, Mapping):
        return "has no 'function' object"
    name = function.get("name")
    if not isinstance(name, str) or not name.strip():
        return "has no function name"
    if "description" in function and not isinstance(function["description"], str):
        return f"function {name!r}: description must be a string"
    params = function.get("parameters")
    if params is None:
        return None
    if not isinstance(params, Mapping):
        return f"function {name!r}: parameters must be a JSON Schema object"
    why = _schema_problem(params)
    return (
        None if why is None else f"function {name!r}: parameters is not a valid JSON Schema: {why}"
    )


def read_tools(raw: object, where: str) -> tuple[dict[str, Any], ...]:
    """A record's ``tools`` (a list, or JSON text of one) as normalised definitions, or a
    ``SeedError`` naming ``where`` and the first bad one."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise SeedError(f"{where}: 'tools' is a string that is not JSON") from None
    if not isinstance(raw, list):
        raise SeedError(f"{where}: 'tools' must be a list of function definitions")
    tools: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, item in enumerate(raw, 1):
        item = _normalised(item)
        why = definition_problem(item)
        if why is not None:
            raise SeedError(f"{where}: tool {n} {why}")
        assert isinstance(item, Mapping)
        name = tool_name(item)
        if name in seen:
            raise SeedError(f"{where}: tool {n}: function {name!r} is defined twice")
        seen.add(name)
        tools.append(dict(item))
    return tuple(tools)


def merge_tools(groups: Iterable[Sequence[dict[str, Any]]]) -> tuple[dict[str, Any], ...]:
    """The definitions of several examples, each name once (the first definition wins)."""
    out: dict[str, dict[str, Any]] = {}
    for tools in groups:
        for tool in tools:
            out.setdefault(tool_name(tool), tool)
    return tuple(out.values())


def _schema_key(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, sort_keys=True, ensure_ascii=False, default=str)


@lru_cache(maxsize=256)
def _checker(key: str) -> tuple[Validator | None, str | None]:
    """A validator for a schema given as canonical JSON, or why the schema is invalid."""
    import jsonschema
    from jsonschema.exceptions import SchemaError

    schema = json.loads(key)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except SchemaError as e:
        where = "/".join(str(p) for p in e.path)
        return None, f"{e.message}" + (f" (at {where})" if where else "")
    return cls(schema), None


def _schema_problem(schema: Mapping[str, Any]) -> str | None:
    return _checker(_schema_key(schema))[1]


def argument_problem(tool: Mapping[str, Any], arguments: object) -> str | None:
    """Why ``arguments`` (JSON text or an object) do not fit the tool's ``parameters``."""
    value = parse_arguments(arguments)
    if not isinstance(value, dict):
        return "arguments are not a JSON object"
    params = tool["function"].get("parameters")
    if not params:
        return None
    validator, _ = _checker(_schema_key(params))
    if validator is None:
        return None  # the definition was checked when it was read
    import jsonschema.exceptions

    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    at = "/".join(str(p) for p in error.absolute_path)
    return f"{error.message}" + (f" (at {at})" if at else "")


def tool_use_problem(
    messages: Sequence[Message],
    tools: Sequence[Mapping[str, Any]],
    *,
    parallel: bool | None = None,
    final_answer: bool = True,
) -> tuple[str, str] | None:
    """The first rule (see the module doc) ``messages`` break, as ``(reason, detail)``;
    message numbers count from 1 over ``messages``."""
    defined = {tool_name(t): t for t in tools}
    pending: dict[str, str] = {}  # call id -> tool name, awaiting its result
    answered: set[str] = set()
    for n, m in enumerate(messages, 1):
        if m.role == "tool":
            call = m.tool_call_id
            if call is None or call not in pending:
                said = "no tool_call_id" if call is None else f"tool_call_id {call!r}"
                return "orphan_tool_message", f"message {n} (tool) has {said}: it answers no call"
            answered.add(call)
            del pending[call]
            continue
        if pending:
            missed = ", ".join(sorted(pending))
            return (
                "unanswered_tool_call",
                f"message {n} ({m.role}) comes before results of {missed}",
            )
        for call_problem in _calls_problems(m, n, defined, parallel, answered):
            return call_problem
        pending = {c.id: c.name for c in m.tool_calls or ()}
    last = messages[-1] if messages else None
    if final_answer and (last is None or last.role != "assistant" or last.tool_calls):
        ends = "no message" if last is None else "calls" if last and last.tool_calls else "a result"
        return "missing_final_answer", f"the conversation ends on {ends}, not on an answer"
    return None


def _calls_problems(
    m: Message,
    n: int,
    defined: Mapping[str, Mapping[str, Any]],
    parallel: bool | None,
    answered: set[str],
) -> Iterable[tuple[str, str]]:
    calls = m.tool_calls or ()
    if calls and m.role != "assistant":
        yield "orphan_tool_message", f"message {n} ({m.role}) makes tool calls"
    if parallel is False and len(calls) > 1:
        yield (
            "parallel_tool_calls",
            f"message {n} makes {len(calls)} calls: parallel_tool_calls is false",
        )
    ids = [c.id for c in calls]
    for c in calls:
        if c.name not in defined:
            known = ", ".join(defined) or "none"
            yield "unknown_tool", f"message {n} calls {c.name!r}, not a defined tool ({known})"
            continue
        if ids.count(c.id) > 1 or c.id in answered:
            yield "duplicate_call_id", f"message {n}: call id {c.id!r} is used twice"
        why = argument_problem(defined[c.name], c.function.arguments)
        if why is not None:
            yield "invalid_arguments", f"message {n}: {c.name}: {why}"


class Toolbox:
    """The tools a request offers the teacher: those of the seeds it shows (each name once),
    and ``parallel_tool_calls`` as they set it (false if any of them says false)."""

    def __init__(self, seeds: Sequence[Example]) -> None:
        self._tools = [s.tools for s in seeds]
        self._parallel = [s.parallel_tool_calls for s in seeds]
        self._cache: dict[tuple[int, ...], tuple[tuple[dict[str, Any], ...], bool | None]] = {}
        self.any = any(self._tools)

    def offers(self, shots: Iterable[int], example: Example) -> bool:
        """Whether every tool ``example`` has is offered to a request showing ``shots``."""
        offered = {tool_name(t) for t in self(shots)[0]}
        return all(tool_name(t) in offered for t in example.tools)

    def check_format(self, fmt: str) -> None:
        """A ``ConfigError`` when the seeds carry tools and ``fmt`` has no place for them."""
        if self.any and fmt == "alpaca":
            from synthgen.errors import ConfigError
            from synthgen.settings.naming import setting

            raise ConfigError(
                f"{setting('format', 'alpaca')} has no place for tool calls, and the seeds"
                " carry tools: use openai, trl, prompt-completion or sharegpt"
            )

    def __call__(self, shots: Iterable[int]) -> tuple[tuple[dict[str, Any], ...], bool | None]:
        key = tuple(i for i in shots if 0 <= i < len(self._tools))
        if not self.any:
            return (), None
        found = self._cache.get(key)
        if found is None:
            said = {self._parallel[i] for i in key} - {None}
            parallel = False if False in said else (True if said else None)
            found = merge_tools(self._tools[i] for i in key), parallel
            self._cache[key] = found
        return found
