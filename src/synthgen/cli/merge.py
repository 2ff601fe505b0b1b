"""``synthgen merge SHARD_DIR... -o OUT``: the folders of a job's shards joined into one
dataset (run.merge). Only typer here: the library is imported when the command runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["merge"]


def merge(
    shard_dirs: Annotated[
        list[Path],
        typer.Argument(
            help="The output folders of every shard (expand --shard I/N).",
            show_default=False,
            metavar="SHARD_DIR",
        ),
    ],
    out: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for the merged dataset.", show_default=False)
    ],
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output folder of a different job.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("-q", "--quiet", help="Only errors and why the merge is short.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json to stdout.")] = False,
) -> None:
    """Join the output folders of a job's shards into one dataset in OUT: the job's n
    examples, one leakage-free stratified split, one report.json and card. Exit 1 when a
    shard stopped short (what there is is written)."""
    from synthgen.cli.app import _command_line, _run
    from synthgen.cli.summary import stop_line, summary_lines, warning_lines
    from synthgen.run.merge import merge as merge_shards

    result = _run(merge_shards, shard_dirs, out, force=force, command=_command_line())
    if as_json:
        typer.echo(json.dumps(result.report, ensure_ascii=False, indent=2))
    lines = [] if quiet else summary_lines(result.report, result.out_dir)
    if not quiet:
        lines += warning_lines(result.report)
    stopped = stop_line(result.report)
    if stopped:
        lines.append(stopped)
    if lines:
        typer.echo("\n".join(lines), err=True)
    if not result.complete:
        raise typer.Exit(1)
