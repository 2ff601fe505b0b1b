"""The options of ``synthgen expand``, generated from the Specs of the Settings fields, and
the way back from parsed flags to Settings.

Settings is a pydantic model, and importing pydantic would double what ``synthgen --help``
costs; so app.py lists ``expand`` with a stand-in and asks :func:`expand_command` for the
real command only when ``expand`` runs or shows its help.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any, Literal, get_origin

import typer
import typer.main
from pydantic.fields import FieldInfo
from typer.core import TyperCommand

from synthgen.settings import Settings, Spec

# The options of expand that are about this invocation, not the job (app.py declares them).
RUN_OPTIONS = ("dry_run", "quiet", "verbose", "as_json")
RUN_GROUP = "Run"


class SectionedCommand(TyperCommand):
    """A command whose --help shows its options in sections, one per help group."""

    # Untyped: the click these come from is typer's own copy, at a path that differs
    # between typer versions.
    def format_options(self, ctx: Any, formatter: Any) -> None:
        sections: dict[str, list[tuple[str, str]]] = {}
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                title = "Arguments"
            else:
                title = getattr(param, "rich_help_panel", None) or RUN_GROUP
            sections.setdefault(title, []).append(record)
        for title, rows in sections.items():
            with formatter.section(title):
                formatter.write_dl(rows)


@functools.cache
def expand_command(callback: Callable[..., None]) -> Any:
    """The click command of ``synthgen expand``: ``callback``'s own parameters (the seeds
    argument, then the run options) with an option per Settings field in between, which
    reach ``callback`` as keyword arguments named after the fields."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command("expand", cls=SectionedCommand)(_with_settings_options(callback))
    return typer.main.get_command(app)


def settings_from_flags(values: Mapping[str, Any], *, command: str | None) -> Settings:
    """Settings from the parsed flags of ``expand``; an error names the flag."""
    given: dict[str, Any] = {"command": command}
    for name, _, spec in Settings.specs():
        if spec.flags:
            given[name] = not values[name] if spec.negated else values[name]
    return Settings.from_parameters(given, cli=True)


def settings_options() -> Iterator[inspect.Parameter]:
    """One keyword parameter per Settings field that has flags, annotated for typer."""
    for name, info, spec in Settings.specs():
        if spec.flags:
            yield inspect.Parameter(
                name,
                inspect.Parameter.KEYWORD_ONLY,
                default=_default(info, spec),
                annotation=Annotated[_flag_type(info, spec), _typer_option(spec)],
            )


def _with_settings_options(callback: Callable[..., None]) -> Callable[..., None]:
    signature = inspect.signature(callback, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    positional = [p for p in own if p.kind is not p.KEYWORD_ONLY]
    keyword = [p for p in own if p.kind is p.KEYWORD_ONLY]

    @functools.wraps(callback)
    def command(**values: Any) -> None:
        callback(**values)

    # typer reads the options from the signature.
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*positional, *settings_options(), *keyword]
    )
    return command


def _typer_option(spec: Spec) -> Any:
    help = spec.help
    if spec.default_text:
        # typer would show a text default in parentheses, unlike every other default.
        help = f"{help}  [default: {spec.default_text}]"
    return typer.Option(*spec.flags, help=help, rich_help_panel=spec.group)


def _flag_type(info: FieldInfo, spec: Spec) -> Any:
    if spec.negated:
        return bool
    kind: Any = info.annotation
    if get_origin(kind) is Literal:
        kind = str  # Settings names the allowed values in its own one-line error
    if info.default_factory is not None:
        kind = kind | None  # left out, the environment decides
    return kind


def _default(info: FieldInfo, spec: Spec) -> Any:
    if spec.negated:
        return False
    if info.is_required():
        return inspect.Parameter.empty
    if info.default_factory is not None:
        return None
    return info.default
