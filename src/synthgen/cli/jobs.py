"""``synthgen jobs``: submit jobs to a synthgen server, follow them, fetch their datasets.

The commands speak the HTTP API through synthgen.service.client; the server is --server
($SYNTHGEN_SERVER, else http://127.0.0.1:8700) and the token $SYNTHGEN_TOKEN (an option would
put it in the shell history and the process list). Like app.py, only typer is imported here:
``submit`` takes expand's options from Settings and is built when it is invoked.
"""

from __future__ import annotations

import functools
import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

if TYPE_CHECKING:
    from synthgen.service.api_models import JobView
    from synthgen.service.client import Client

DEFAULT_SERVER = "http://127.0.0.1:8700"
ServerOption = Annotated[
    str,
    typer.Option(
        "--server",
        envvar="SYNTHGEN_SERVER",
        help="The synthgen server's URL.",
        show_envvar=True,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the API's JSON.")]


class _JobsCommands(TyperGroup):
    """The jobs commands; ``submit`` is listed by a stand-in until it runs (as expand is)."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        stand_in = TyperCommand("submit", help=inspect.getdoc(submit), rich_markup_mode=None)
        self.commands = {"submit": stand_in, **self.commands}

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[Any, Any, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name == "submit":
            command = _submit_command()
        return name, command, rest


jobs_app = typer.Typer(
    cls=_JobsCommands,
    help="Jobs on a synthgen server (synthgen serve): submit, list, show, watch, cancel, download.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    from synthgen.cli.app import _run

    return _run(fn, *args, **kwargs)


def _client(server: str) -> Client:
    from synthgen.service.client import Client

    client: Client = _run(Client, server)
    return client


def submit(
    seeds: Annotated[Path, typer.Argument(help="Seed examples: .txt, .jsonl or .csv.")],
    *,
    server: ServerOption = DEFAULT_SERVER,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            "--api-key-env",
            help="Send the teacher key held in this environment variable with the job (the "
            "server keeps it in memory only); left out, the server's own key is used.",
            show_default=False,
        ),
    ] = None,
    watch: Annotated[
        bool, typer.Option("--watch", help="Then follow the job until it ends, as watch.")
    ] = False,
    as_json: JsonOption = False,
    **flags: Any,
) -> None:
    """Upload SEEDS and submit a job with expand's options (less -o/--force, which are the
    server's); print the job's id."""
    import os

    from synthgen.errors import ConfigError

    settings = _run(_given_settings, flags)
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            _run(_raise, ConfigError(f"--api-key-env: ${api_key_env} is not set"))
    with _client(server) as client:
        job = _run(client.submit, seeds, api_key=api_key, **settings)
    typer.echo(job.view.model_dump_json(indent=2) if as_json else job.id)
    if not as_json:
        typer.echo(
            f"synthgen: submitted job {job.id} ({job.view.state}); "
            f"follow it with: synthgen jobs watch {job.id}",
            err=True,
        )
    if watch:
        watch_cmd(job.id, server=server)


def _raise(error: Exception) -> None:
    raise error


@functools.cache
def _submit_command() -> Any:
    """``submit``'s click command: its own parameters with one option per Settings field
    a job may set, named after the field."""
    import typer.main

    from synthgen.cli.expand_flags import SectionedCommand, settings_options
    from synthgen.service.job_settings import SERVER_FIELDS

    signature = inspect.signature(submit, eval_str=True)
    own = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    fields = [p for p in settings_options() if p.name not in SERVER_FIELDS]

    @functools.wraps(submit)
    def command(**values: Any) -> None:
        submit(**values)

    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[own[0], *fields, *own[1:]]
    )
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)
    app.command("submit", cls=SectionedCommand)(command)
    return typer.main.get_command(app)


def _given_settings(flags: dict[str, Any]) -> dict[str, Any]:
    """The settings the flags change from their defaults: the rest is the server's (its
    defaults are expand's, its environment names the model and endpoint)."""
    from synthgen.cli.expand_flags import settings_options
    from synthgen.settings import Settings

    specs = {name: spec for name, _, spec in Settings.specs()}
    given: dict[str, Any] = {}
    for option in settings_options():
        if option.name not in flags:
            continue
        value, spec = flags[option.name], specs[option.name]
        if spec.negated:
            if value:
                given[option.name] = False
        elif value is not None and value != option.default:
            given[option.name] = value  # as typed: "--language off" is "off" to Settings too
    return given


@jobs_app.command("list")
def list_cmd(
    server: ServerOption = DEFAULT_SERVER,
    state: Annotated[
        str | None,
        typer.Option(
            help="Only jobs in this state: queued, running, succeeded, failed, cancelled."
        ),
    ] = None,
    limit: Annotated[int, typer.Option(help="How many jobs, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """The jobs this token may see, newest first."""
    with _client(server) as client:
        page = _run(client.jobs, state=state, limit=limit)
    if as_json:
        typer.echo(page.model_dump_json(indent=2))
        return
    if not page.jobs:
        typer.echo("no jobs", err=True)
        return
    rows = [("ID", "STATE", "ACCEPTED", "MODEL", "CREATED")]
    for job in page.jobs:
        rows.append(
            (
                job.id,
                job.state,
                f"{job.progress.accepted}/{_n(job)}",
                str(job.settings.get("model") or ""),
                _time(job.created_at),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if page.total > len(page.jobs):
        typer.echo(f"({len(page.jobs)} of {page.total}; --limit shows more)", err=True)


@jobs_app.command("show")
def show_cmd(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    server: ServerOption = DEFAULT_SERVER,
    as_json: JsonOption = False,
) -> None:
    """A job's state, counts, drops by reason and files."""
    with _client(server) as client:
        view = _run(client.job, job_id).view
    typer.echo(view.model_dump_json(indent=2) if as_json else "\n".join(describe(view)))


def describe(view: JobView) -> list[str]:
    """``jobs show``: one fact a line."""
    from synthgen.cli.live import duration, rate_text

    p = view.progress
    times = [("created", view.created_at), ("started", view.started_at)]
    times.append(("finished", view.finished_at))
    lines = [f"job       {view.id}", f"state     {view.state}", f"owner     {view.owner}"]
    lines += [f"model     {view.settings.get('model', '?')}"]
    lines += [f"{name:<9} {_time(t)}" for name, t in times if t]
    lines.append(f"accepted  {p.accepted}/{_n(view)}")
    figures = [f"requests {p.requests}", f"retries {p.retries}"]
    figures.append(f"tokens {p.prompt_tokens + p.completion_tokens:,}")
    figures += [f"cost ${p.cost_usd:.4f}", rate_text(p.rate_per_s)]
    if view.state not in ("succeeded", "failed", "cancelled") and p.eta_s is not None:
        figures.append(f"ETA {duration(p.eta_s)}")
    lines.append("          " + " · ".join(figures))
    if p.rejected:
        reasons = sorted(p.rejected.items(), key=lambda kv: -kv[1])
        lines.append(
            f"rejected  {sum(p.rejected.values())}: " + ", ".join(f"{r} {c}" for r, c in reasons)
        )
    if p.per_category:
        lines.append(
            "category  " + ", ".join(f"{k} {v}" for k, v in sorted(p.per_category.items()))
        )
    if view.files:
        lines.append("files     " + ", ".join(view.files))
    if view.error:
        lines.append(f"error     {view.error}")
    return lines


@jobs_app.command("watch")
def watch_cmd(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    server: ServerOption = DEFAULT_SERVER,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="No progress: only the outcome.")
    ] = False,
) -> None:
    """Follow a job until it ends, with expand's progress view; exit 0 if it succeeded,
    1 if it failed or was cancelled. Ctrl-C stops watching, not the job."""
    from synthgen.cli.job_watch import watch

    view = _run(watch, server, job_id, quiet=quiet)
    if view.state != "succeeded":
        raise typer.Exit(1)


@jobs_app.command("cancel")
def cancel_cmd(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Cancel a queued or running job (what it made so far stays downloadable)."""
    with _client(server) as client:
        view = _run(lambda: client.job(job_id).cancel())
    typer.echo(f"job {view.id} {view.state}")


@jobs_app.command("download")
def download_cmd(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder to save the job's files in.")],
    server: ServerOption = DEFAULT_SERVER,
    force: Annotated[
        bool, typer.Option("--force", help="Replace files of the same names in OUT.")
    ] = False,
) -> None:
    """Save a job's files (train.jsonl, eval.jsonl, report.json, ...) into OUT."""
    from synthgen.errors import OutputExistsError

    with _client(server) as client:
        job = _run(client.job, job_id)
        names = job.view.files
        if not names:
            _run(_raise, OutputExistsError(f"job {job_id} has no files yet ({job.view.state})"))
        taken = [n for n in names if (out / n).exists()]
        if taken and not force:
            _run(_raise, OutputExistsError(f"{out / taken[0]} exists: --force replaces it"))
        if out.exists() and not out.is_dir():
            _run(_raise, OutputExistsError(f"{out}: not a folder"))
        saved = _run(job.download, out, names)
    for path in saved:
        typer.echo(str(path))


@jobs_app.command("delete")
def delete_cmd(
    job_id: Annotated[str, typer.Argument(metavar="ID", help="The job's id.")],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Delete a job and its files (a running job is cancelled first)."""
    with _client(server) as client:
        _run(lambda: client.job(job_id).delete())
    typer.echo(f"job {job_id} deleted", err=True)


def _n(view: JobView) -> Any:
    return view.progress.n or view.settings.get("n", "?")


def _time(seconds: float | None) -> str:
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds)) if seconds else "-"
