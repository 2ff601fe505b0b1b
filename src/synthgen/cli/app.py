"""The command line: a thin layer that turns flags into library calls and errors into exit
codes (0 done, 1 failed at run time, 2 bad input or usage). Heavy modules are imported
inside the commands so ``synthgen --help`` stays fast."""

from __future__ import annotations

import inspect
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from typer.core import TyperCommand, TyperGroup

from synthgen.cli.jobs import jobs_app
from synthgen.cli.merge import merge
from synthgen.cli.serve import serve

if TYPE_CHECKING:
    from synthgen.run.expand import Result
    from synthgen.settings import Settings


class _Commands(TyperGroup):
    """synthgen's commands. ``expand`` takes its options from Settings, and importing that
    (pydantic) would double what ``synthgen --help`` costs: the listing shows a stand-in
    with expand's summary, and the real command is built when ``expand`` is invoked."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        stand_in = TyperCommand("expand", help=inspect.getdoc(expand), rich_markup_mode=None)
        self.commands = {"expand": stand_in, **self.commands}

    # Untyped: the click these come from is typer's own copy in newer typers.
    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name == "expand":
            from synthgen.cli.expand_flags import expand_command

            command = expand_command(expand)
        return name, command, rest


app = typer.Typer(
    name="synthgen",
    cls=_Commands,
    help="Turn a handful of seed examples into a clean, balanced fine-tuning dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    # Subcommands inherit these from the group's context: -h works everywhere.
    context_settings={"help_option_names": ["-h", "--help"]},
)
cache_app = typer.Typer(
    help="The response cache: what it holds, and clearing it.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")
app.command("serve")(serve)
app.command("merge")(merge)
app.add_typer(jobs_app, name="jobs")

_verbose = False


def _print_version(value: bool) -> None:
    if value:
        from synthgen._version import __version__

        typer.echo(f"synthgen {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    """Turn a handful of seed examples into a clean, balanced fine-tuning dataset."""
    from synthgen.cli.logs import setup_logging

    setup_logging()  # warnings of every command reach stderr; expand's -v / -q change it


def _fail(message: str, code: int) -> NoReturn:
    from synthgen.redact import redact

    typer.echo(f"synthgen: error: {redact(message)}", err=True)
    raise typer.Exit(code)


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the library, its messages naming flags (not parameters); map its errors to one
    line on stderr and an exit code."""
    from synthgen.errors import SynthgenError
    from synthgen.settings.naming import flag_names

    try:
        with flag_names():
            return fn(*args, **kwargs)
    except SynthgenError as e:
        _fail(str(e), e.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    except Exception as e:  # an unexpected bug: one line, unless -v asks for the traceback
        if _verbose:
            import traceback

            from synthgen.redact import redact

            typer.echo(redact(traceback.format_exc()), err=True)
        _fail(f"unexpected {type(e).__name__}: {e} (run with -v for the traceback)", 1)


def expand(
    seeds: Annotated[Path, typer.Argument(help="Seed examples: .txt, .jsonl or .csv.")],
    *,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the first prompts and the estimate; send nothing."),
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "-q",
            "--quiet",
            help="No progress, summary or warnings: only errors and why the run stopped.",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log retries and failures.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json to stdout.")] = False,
    **flags: Any,
) -> None:
    """Generate N examples from SEEDS with a teacher LLM: filtered, deduplicated, balanced,
    split into OUT/train.jsonl and OUT/eval.jsonl, with OUT/report.json."""
    # ``flags``: one per Settings field, added by cli/expand_flags.py.
    global _verbose
    _verbose = verbose
    from synthgen.cli.expand_flags import settings_from_flags
    from synthgen.cli.logs import setup_logging

    setup_logging(verbose=verbose, quiet=quiet)
    settings: Settings = _run(settings_from_flags, flags, command=_command_line())
    if dry_run:
        from synthgen.run.expand import dry_run_result, prepare

        result = _run(lambda: dry_run_result(prepare(seeds, settings)))
        _print_dry_run(result, as_json)
        return
    notice = None
    if settings.demo and not quiet:
        notice = (
            "synthgen: --model demo: a bundled local teacher writes placeholder text, "
            "to show the pipeline offline; use a real model for real data."
        )
    from synthgen.cli.logs import printed
    from synthgen.cli.progress import run_with_progress
    from synthgen.cli.summary import stop_line, summary_lines, warning_lines

    view = "off" if quiet else "bar" if sys.stderr.isatty() else "lines"
    if settings.executor == "ray":
        from synthgen.run.ray_exec import run_on_ray

        if notice:
            typer.echo(notice, err=True)
        say = None if quiet else lambda line: typer.echo(f"synthgen: {line}", err=True)
        result = _run(run_on_ray, seeds, settings, say=say)
    else:
        result = _run(run_with_progress, seeds, settings, view=view, notice=notice)
    if as_json:
        typer.echo(json.dumps(result.report, ensure_ascii=False, indent=2))
    lines = [] if quiet else summary_lines(result.report, result.out_dir)
    if not quiet:
        lines += warning_lines(result.report, shown=printed())
    stopped = stop_line(result.report)  # printed even with -q: why there is less than n
    if stopped:
        lines.append(stopped)
    if lines:
        typer.echo("\n".join(lines), err=True)
    if not result.complete:
        raise typer.Exit(1)


def _command_line() -> str:
    import shlex

    from synthgen.redact import redact

    return redact(shlex.join(["synthgen", *sys.argv[1:]]))


def _print_dry_run(result: Result, as_json: bool) -> None:
    if as_json:
        typer.echo(
            json.dumps({**result.report, "previews": result.previews}, ensure_ascii=False, indent=2)
        )
        return
    for i, messages in enumerate(result.previews, 1):
        typer.echo(f"===== request {i} =====")
        for m in messages:
            typer.echo(f"--- {m['role']} ---\n{m['content']}")
    from synthgen.cli.summary import estimate_lines

    lines = estimate_lines(result.report["estimate"])
    typer.echo("\n".join(["===== estimate =====", *lines, "nothing was sent."]))


@app.command("templates")
def templates_cmd() -> None:
    """List the built-in prompt templates."""
    from synthgen.prompts.templates import list_templates

    for t in _run(list_templates):
        typer.echo(
            f"{t.name:<12} {t.description}  (temperature {t.temperature}, {t.per_request}/request)"
        )


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(help="A JSONL dataset.")],
    model: Annotated[
        str, typer.Option(help="Model the data is for (token limit, encoding).")
    ] = "gpt-4o-mini",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="The file's format: openai, trl, prompt-completion, sharegpt, alpaca, "
            "openai-dpo or trl-preference (left out: the format of its first line).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check a fine-tuning file against the rules of its format (the OpenAI cookbook's
    checks for openai chat files); exit 1 on errors."""
    from synthgen.data.validate import format_report, validate_file

    report = _run(validate_file, file, model=model, fmt=fmt)
    typer.echo(
        json.dumps(report.to_dict(), ensure_ascii=False, indent=2)
        if as_json
        else format_report(report)
    )
    if not report.ok:
        raise typer.Exit(1)


@app.command("dedup")
def dedup_cmd(
    source: Annotated[Path, typer.Argument(help="A JSONL dataset (any supported record shape).")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the kept lines.")],
    threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at which two examples are near-duplicates.")
    ] = 0.8,
    force: Annotated[bool, typer.Option("--force", help="Replace OUT if it exists.")] = False,
) -> None:
    """Drop exact and near-duplicate examples from a dataset, keeping first occurrences."""
    from synthgen.data.fileops import dedup_file, summary

    result = _run(dedup_file, source, out, threshold=threshold, force=force)
    typer.echo("\n".join(summary(result)), err=True)


@app.command("split")
def split_cmd(
    source: Annotated[Path, typer.Argument(help="A JSONL dataset (any supported record shape).")],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for train.jsonl and eval.jsonl.")
    ],
    eval_fraction: Annotated[
        float, typer.Option(help="Share of examples held out for eval.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same split.")] = 0,
    balance_by: Annotated[
        str | None, typer.Option(help="Field to stratify by (e.g. category).")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace existing train/eval files.")
    ] = False,
) -> None:
    """Split a dataset into train and eval: stratified, deterministic, and leakage-free
    (near-duplicates never straddle the two)."""
    from synthgen.data.fileops import split_file, summary

    result = _run(
        split_file,
        source,
        out,
        eval_fraction=eval_fraction,
        seed=seed,
        balance_by=balance_by,
        force=force,
    )
    typer.echo("\n".join(summary(result)), err=True)


@cache_app.command("info")
def cache_info() -> None:
    """Where the cache is, how many responses it holds, its size and hits."""
    from synthgen.teacher.cache import ResponseCache

    with _run(ResponseCache) as cache:
        info = cache.info()
    typer.echo(f"path     {info.path}\nentries  {info.entries}")
    typer.echo(f"size     {info.size_bytes / 1e6:.2f} MB\nhits     {info.hits}")


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached response."""
    from synthgen.errors import ConfigError
    from synthgen.teacher.cache import ResponseCache, delete_cache

    try:
        with ResponseCache() as cache:
            removed = cache.clear()
    except ConfigError:  # unreadable: it cannot be opened to be cleared, so remove the file
        _run(delete_cache)
        typer.echo("removed the unreadable cache file")
        return
    typer.echo(f"removed {removed} cached responses")


def main() -> None:
    import gc

    # A run keeps every accepted example and the dedup index alive: with the default
    # thresholds the cyclic collector rescans that growing heap thousands of times a run.
    # The CLI (not the library: that is the application's call) collects far less often.
    gc.set_threshold(50_000, 50, 100)
    app()


if __name__ == "__main__":
    main()
