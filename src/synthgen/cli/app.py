"""The command line: a thin layer that turns flags into library calls and errors into exit
codes (0 done, 1 failed at run time, 2 bad input or usage). Heavy modules are imported
inside the commands so ``synthgen --help`` stays fast."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from synthgen.run.expand import Result

app = typer.Typer(
    name="synthgen",
    help="Turn a handful of seed examples into a clean, balanced fine-tuning dataset.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
cache_app = typer.Typer(
    help="The response cache: what it holds, and clearing it.", no_args_is_help=True
)
app.add_typer(cache_app, name="cache")

_verbose = False


def _fail(message: str, code: int) -> NoReturn:
    from synthgen.redact import redact

    typer.echo(f"synthgen: error: {redact(message)}", err=True)
    raise typer.Exit(code)


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Call the library; map its errors to one line on stderr and an exit code."""
    from synthgen.errors import SynthgenError

    try:
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


@app.command()
def expand(
    seeds: Annotated[Path, typer.Argument(help="Seed examples: .txt, .jsonl or .csv.")],
    n: Annotated[int, typer.Option("-n", "--n", help="How many examples to produce.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Output folder.")] = Path("out"),
    model: Annotated[
        str | None,
        typer.Option(
            help="Teacher model (env SYNTHGEN_MODEL; default gpt-4o-mini; 'demo' runs offline)."
        ),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(help="OpenAI-compatible endpoint (env SYNTHGEN_BASE_URL or OPENAI_BASE_URL)."),
    ] = None,
    template: Annotated[
        str, typer.Option(help="Built-in template name or a template file.")
    ] = "expand",
    system: Annotated[str | None, typer.Option(help="System prompt for every output line.")] = None,
    eval_fraction: Annotated[
        float, typer.Option(help="Share of examples held out for eval.")
    ] = 0.1,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same requests and split.")] = 0,
    concurrency: Annotated[int, typer.Option(help="Most requests in flight at once.")] = 16,
    balance_by: Annotated[
        str | None, typer.Option(help="Seed field whose values get equal quotas (e.g. category).")
    ] = None,
    dedup_threshold: Annotated[
        float, typer.Option(help="Jaccard similarity at which two examples are near-duplicates.")
    ] = 0.8,
    max_requests: Annotated[
        int | None,
        typer.Option(
            help="Stop after this many requests sent to the teacher (default: 5x the need)."
        ),
    ] = None,
    max_cost: Annotated[
        float | None, typer.Option(help="Stop when the estimated cost reaches USD.")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Seconds before one request is abandoned and retried.")
    ] = 120.0,
    retries: Annotated[int, typer.Option(help="Retries per request on 429, 5xx and timeouts.")] = 6,
    rpm: Annotated[float | None, typer.Option(help="Requests per minute limit.")] = None,
    tpm: Annotated[float | None, typer.Option(help="Tokens per minute limit.")] = None,
    temperature: Annotated[
        float | None, typer.Option(help="Sampling temperature (template default).")
    ] = None,
    per_request: Annotated[
        int | None, typer.Option(help="Conversations asked for per request (template default).")
    ] = None,
    attributes: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON lists to condition requests on (for --template persona)."),
    ] = None,
    frontier: Annotated[
        float | None,
        typer.Option(help="Share of shown examples taken from accepted ones (template default)."),
    ] = None,
    language: Annotated[
        str,
        typer.Option(help="Language replies must be in: auto (the seeds'), a code (pl), or off."),
    ] = "auto",
    decontaminate: Annotated[
        Path | None,
        typer.Option(help="Held-out JSONL: drop candidates sharing an n-gram with any of it."),
    ] = None,
    decontaminate_ngram: Annotated[
        int, typer.Option(help="n-gram length (words) for --decontaminate.")
    ] = 13,
    judge: Annotated[
        str | None, typer.Option(help="Judge model: score every candidate 1-10 with a rubric.")
    ] = None,
    min_score: Annotated[int, typer.Option(help="With --judge: drop candidates below this.")] = 6,
    transport: Annotated[
        str,
        typer.Option(help="For OpenAI-compatible endpoints: aiohttp (fast) or openai-sdk."),
    ] = "aiohttp",
    output_format: Annotated[
        str,
        typer.Option("--format", help="openai, prompt-completion, sharegpt, alpaca or trl."),
    ] = "openai",
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Neither read nor write the response cache.")
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the first prompts and the estimate; send nothing."),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the output folder of a different job.")
    ] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="No progress bar.")] = False,
    verbose: Annotated[
        bool, typer.Option("-v", "--verbose", help="Log retries and failures.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print report.json to stdout.")] = False,
) -> None:
    """Generate N examples from SEEDS with a teacher LLM: filtered, deduplicated, balanced,
    split into OUT/train.jsonl and OUT/eval.jsonl, with OUT/report.json."""
    global _verbose
    _verbose = verbose
    from synthgen.settings import env_base_url, env_model

    options: dict[str, Any] = dict(
        out_dir=out,
        model=model or env_model(),
        base_url=base_url or env_base_url(),
        template=template,
        system=system,
        eval_fraction=eval_fraction,
        seed=seed,
        concurrency=concurrency,
        balance_by=balance_by,
        dedup_threshold=dedup_threshold,
        max_requests=max_requests,
        max_cost=max_cost,
        timeout=timeout,
        retries=retries,
        rpm=rpm,
        tpm=tpm,
        temperature=temperature,
        per_request=per_request,
        attributes=attributes,
        frontier=frontier,
        language=language,
        decontaminate=decontaminate,
        decontaminate_ngram=decontaminate_ngram,
        judge=judge,
        min_score=min_score,
        format=output_format,
        command=_command_line(),
        transport=transport,
        cache=not no_cache,
        force=force,
    )
    if verbose:
        import logging

        logging.basicConfig(level=logging.INFO, format="synthgen: %(message)s", stream=sys.stderr)
    if dry_run:
        import asyncio

        from synthgen.run.expand import aexpand

        result = _run(asyncio.run, aexpand(seeds, n, dry_run=True, **options))
        _print_dry_run(result, as_json)
        return
    notice = None
    if options["model"] == "demo" and not quiet:
        notice = (
            "synthgen: --model demo: a bundled local teacher writes placeholder text, "
            "to show the pipeline offline; use a real model for real data."
        )
    from synthgen.cli.progress import run_with_progress

    show = not quiet and sys.stderr.isatty()
    result = _run(run_with_progress, seeds, n, options, show=show, notice=notice)
    if as_json:
        typer.echo(json.dumps(result.report, ensure_ascii=False, indent=2))
    if not quiet:
        _print_summary(result)
    if not result.complete:
        raise typer.Exit(1)


def _command_line() -> str:
    import shlex

    from synthgen.redact import redact

    return redact(shlex.join(["synthgen", *sys.argv[1:]]))


def _print_summary(result: Result) -> None:
    r = result.report
    rejected = r["rejected"]["by_reason"]
    reasons = ", ".join(f"{k} {v}" for k, v in rejected.items()) or "none"
    out, req, split = result.out_dir, r["requests"], r["split"]
    lines = [
        f"wrote {out}/train.jsonl ({split['train']}) and {out}/eval.jsonl ({split['eval']})",
        f"requests: {req['sent']} sent to the teacher, {req['cache_hits']} from cache, "
        f"{req['retries']} retries, {req['failed']} failed; {r['replies']} replies curated, "
        f"{r['candidates']} candidates, {r['accepted']} accepted",
        f"rejected {r['rejected']['total']}: {reasons}",
        f"tokens {r['tokens']['prompt']:,} in / {r['tokens']['completion']:,} out"
        + (f"; cost ≈ ${r['cost_usd']:.4f}" if r["cost_usd"] else "")
        + f"; {r['wall_time_s']:.1f}s",
    ]
    if not result.complete:
        lines.append(f"stopped early ({r['stop']['reason']}): {r['stop']['detail']}")
    typer.echo("\n".join(lines), err=True)


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
    est = result.report["estimate"]
    cost = (
        "unknown (no price for this model)"
        if est["cost_usd"] is None
        else f"≈ ${est['cost_usd']:.4f}"
    )
    typer.echo(
        "===== estimate =====\n"
        f"requests ≈ {est['requests']}, prompt tokens ≈ {est['prompt_tokens']:,}, "
        f"completion tokens ≈ {est['completion_tokens']:,}, cost {cost}\nnothing was sent."
    )


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
    as_json: Annotated[bool, typer.Option("--json", help="Print the findings as JSON.")] = False,
) -> None:
    """Check a fine-tuning file the way the OpenAI cookbook does; exit 1 on errors."""
    from synthgen.data.validate import format_report, validate_file

    report = _run(validate_file, file, model=model)
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
