"""What each setting means to the user, beside its type and default: a :class:`Spec` on every
field of :class:`~synthgen.settings.Settings`, and the one-line errors built from it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

Reproduce = Literal["never", "changed", "always"]

# Help groups: --help shows a section for each, and the README a table.
OUTPUT = "Output"
TEACHER = "Teacher"
STRATEGY = "Strategy"
FILTERS = "Filters"
PACING = "Pacing and budgets"
LARGE_RUNS = "Large runs"


@dataclass(frozen=True)
class Spec:
    """How a setting meets the user."""

    flags: tuple[str, ...]  # on the command line (the first in messages); () = library only
    help: str
    group: str
    # Another value makes another job: an output folder made with one value is not resumed
    # with another. Pacing and budgets are not: changing them mid-job is fine.
    identity: bool = False
    # Spelled out by the card's reproduce command: "changed" when not the default.
    reproduce: Reproduce = "never"
    default_text: str | None = None  # the default as help shows it, when it is not a value
    negated: bool = False  # the flag turns the setting off (--no-cache: cache=False)
    none_as: str | None = None  # the flag value that means None (--language off)


def flag(
    *flags: str,
    help: str,
    group: str,
    identity: bool = False,
    reproduce: Reproduce | None = None,
    default_text: str | None = None,
    negated: bool = False,
    none_as: str | None = None,
) -> Spec:
    """A field's Spec. An identity field is reproduced when changed unless told otherwise:
    running the card's command must make the same job."""
    if reproduce is None:
        reproduce = "changed" if identity else "never"
    return Spec(flags, help, group, identity, reproduce, default_text, negated, none_as)


def spec_of(info: FieldInfo) -> Spec:
    for item in info.metadata:
        if isinstance(item, Spec):
            return item
    raise TypeError(f"a Settings field has no Spec: {info!r}")


def error_line(error: ErrorDetails, fields: Mapping[str, FieldInfo], *, cli: bool) -> str:
    """One line naming the setting (its flag, for the CLI) from one pydantic error."""
    name = str(error["loc"][0]) if error["loc"] else "settings"
    info = fields.get(name)
    if info is None:
        return f"unknown setting {name!r}"
    flags = spec_of(info).flags
    label = flags[0] if cli and flags else name
    value = error.get("input")
    got = f" (got {value!r})" if isinstance(value, str) else f" (got {value})"
    kind = error["type"]
    if kind == "missing":
        return f"{label} is required"
    if kind in _RANGE_ERRORS:
        return f"{label} must be {allowed_range(info)}{got}"
    if kind == "literal_error":
        return f"{label} must be {error.get('ctx', {}).get('expected')}{got}"
    wanted = _TYPE_ERRORS.get(kind.split("_")[0])
    if wanted:
        return f"{label} must be {wanted}{got}"
    return f"{label}: {error['msg']}{got}"


_RANGE_ERRORS = ("greater_than", "greater_than_equal", "less_than", "less_than_equal")
_TYPE_ERRORS = {
    "int": "a whole number",
    "float": "a number",
    "finite": "a finite number",
    "string": "a string",
    "bool": "true or false",
    "path": "a path",
}


def allowed_range(info: FieldInfo) -> str:
    """The whole allowed range, not just the violated bound: "between 1 and 10",
    "in (0, 1]", "positive", "at least 1"."""
    low: object = None
    high: object = None
    low_open = high_open = False
    for item in info.metadata:
        if isinstance(item, Ge):
            low = item.ge
        elif isinstance(item, Gt):
            low, low_open = item.gt, True
        elif isinstance(item, Le):
            high = item.le
        elif isinstance(item, Lt):
            high, high_open = item.lt, True
    if high is None:
        if low_open:
            return "positive" if low == 0 else f"greater than {low}"
        return f"at least {low}"
    if low is None:
        return f"less than {high}" if high_open else f"at most {high}"
    if not low_open and not high_open:
        return f"between {low} and {high}"
    return f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
