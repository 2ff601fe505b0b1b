"""The Settings model's first fields, from ``n`` to ``min_score``: what a job makes and how it
filters. model.py adds the rest and the checks across fields."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AllowInfNan, Field

from synthgen.settings.base import SettingsBase
from synthgen.settings.spec import (
    FILTERS,
    OUTPUT,
    PACING,
    STRATEGY,
    TEACHER,
    flag,
)

if TYPE_CHECKING:
    pass  # typing.Self is Python 3.11+

DEFAULT_MODEL = "gpt-4o-mini"
DEMO_MODEL = "demo"
TEMPLATE_DEFAULT = "the template's"
MIN_RPM = 0.001
MIN_TPM = 1
# Replies over this many bytes are abandoned (teacher.base.DEFAULT_MAX_REPLY_BYTES; settings
# import no stage, so the value is repeated here and a test keeps the two equal).
DEFAULT_MAX_REPLY_BYTES = 8 * 1024 * 1024

Transport = Literal["aiohttp", "openai-sdk"]


def env_model() -> str:
    return os.environ.get("SYNTHGEN_MODEL") or DEFAULT_MODEL


def env_base_url() -> str | None:
    return os.environ.get("SYNTHGEN_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None


class JobFields(SettingsBase):
    """The Settings fields from ``n`` to ``min_score``, in the order report.json and --help
    show them."""

    n: Annotated[
        int,
        Ge(1),
        flag(
            "-n",
            "--n",
            help="How many examples to produce.",
            group=OUTPUT,
            identity=True,
            reproduce="always",
        ),
    ]
    out_dir: Annotated[
        Path, flag("-o", "--out", help="Output folder.", group=OUTPUT, reproduce="always")
    ] = Path("out")
    model: Annotated[
        str,
        flag(
            "--model",
            help="Teacher model; 'demo' runs a bundled offline teacher.",
            group=TEACHER,
            default_text=f"$SYNTHGEN_MODEL or {DEFAULT_MODEL}",
            identity=True,
        ),
    ] = Field(default_factory=env_model)
    base_url: Annotated[
        str | None,
        flag(
            "--base-url",
            help="OpenAI-compatible endpoint.",
            group=TEACHER,
            default_text="$SYNTHGEN_BASE_URL or $OPENAI_BASE_URL",
            identity=True,
        ),
    ] = Field(default_factory=env_base_url)
    # Not identity by name: the job fingerprint holds each template's content hash.
    template: Annotated[
        str,
        flag(
            "--template",
            help="Built-in template name, a template file, or a weighted mix (a:3,b:1).",
            group=STRATEGY,
            reproduce="changed",
        ),
    ] = "expand"
    # Not identity by itself: it is part of the seeds' digest.
    system: Annotated[
        str | None,
        flag(
            "--system",
            help="System prompt for every output line.",
            group=OUTPUT,
            reproduce="changed",
        ),
    ] = None
    eval_fraction: Annotated[
        float,
        Gt(0),
        Lt(1),
        flag(
            "--eval-fraction",
            help="Share of examples held out for eval.",
            group=OUTPUT,
            identity=True,
        ),
    ] = 0.1
    seed: Annotated[
        int,
        flag(
            "--seed",
            help="Random seed: same seed, same requests and split.",
            group=STRATEGY,
            identity=True,
        ),
    ] = 0
    concurrency: Annotated[
        int, Ge(1), flag("--concurrency", help="Most requests in flight at once.", group=PACING)
    ] = 16
    balance_by: Annotated[
        str | None,
        flag(
            "--balance-by",
            help="Seed field whose values get equal quotas (e.g. category).",
            group=OUTPUT,
            identity=True,
        ),
    ] = None
    dedup_threshold: Annotated[
        float,
        Gt(0),
        Le(1),
        flag(
            "--dedup-threshold",
            help="Jaccard similarity at which two examples are near-duplicates.",
            group=FILTERS,
            identity=True,
        ),
    ] = 0.8
    # Not identity: where the index lives is not what the data is (its keys are the job's).
    dedup_index: Annotated[
        str | None,
        flag(
            "--dedup-index",
            help="Near-duplicate index shared by workers: redis://HOST:PORT/DB[?prefix=NAME].",
            group=FILTERS,
        ),
    ] = None
    max_requests: Annotated[
        int | None,
        Ge(1),
        flag(
            "--max-requests",
            help="Stop after this many requests sent to the teacher.",
            group=PACING,
            default_text="5x the need",
        ),
    ] = None
    max_cost: Annotated[
        float | None,
        Gt(0),
        AllowInfNan(False),
        flag("--max-cost", help="Stop when the estimated cost reaches USD.", group=PACING),
    ] = None
    timeout: Annotated[
        float,
        Gt(0),
        AllowInfNan(False),
        flag(
            "--timeout", help="Seconds before one request is abandoned and retried.", group=PACING
        ),
    ] = 120.0
    retries: Annotated[
        int,
        Ge(0),
        flag("--retries", help="Retries per request on 429, 5xx and timeouts.", group=PACING),
    ] = 6
    rate_limit_patience: Annotated[
        float,
        Gt(0),
        AllowInfNan(False),
        flag("--rate-limit-patience", help="Seconds to wait out a 429 storm.", group=PACING),
    ] = 600.0
    # A rate far below these waits for days per request: a typo, not a limit.
    rpm: Annotated[
        float | None,
        Ge(MIN_RPM),
        AllowInfNan(False),
        flag("--rpm", help="Requests per minute limit.", group=PACING),
    ] = None
    tpm: Annotated[
        float | None,
        Ge(MIN_TPM),
        AllowInfNan(False),
        flag("--tpm", help="Tokens per minute limit.", group=PACING),
    ] = None
    temperature: Annotated[
        float | None,
        Ge(0),
        Le(2),
        flag(
            "--temperature",
            help="Sampling temperature.",
            group=STRATEGY,
            default_text=TEMPLATE_DEFAULT,
            identity=True,
        ),
    ] = None
    per_request: Annotated[
        int | None,
        Ge(1),
        flag(
            "--per-request",
            help="Conversations asked for per request.",
            group=STRATEGY,
            default_text=TEMPLATE_DEFAULT,
            identity=True,
        ),
    ] = None
    shots: Annotated[
        int | None,
        Ge(1),
        flag(
            "--shots",
            help="Examples shown to the teacher per request.",
            group=STRATEGY,
            default_text=TEMPLATE_DEFAULT,
            identity=True,
        ),
    ] = None
    min_yield: Annotated[
        float,
        Ge(0),
        Le(1),
        flag(help="Stop when fewer than this share of the last 200 candidates pass.", group=PACING),
    ] = 0.05
    # Not identity by path: the job fingerprint holds the lists it contains.
    attributes: Annotated[
        Path | None,
        flag(
            "--attributes",
            help="YAML/JSON lists to condition requests on (for --template persona).",
            group=STRATEGY,
            reproduce="changed",
        ),
    ] = None
    frontier: Annotated[
        float | None,
        Ge(0),
        Lt(1),
        flag(
            "--frontier",
            help="Share of shown examples taken from accepted ones.",
            group=STRATEGY,
            default_text=TEMPLATE_DEFAULT,
            identity=True,
        ),
    ] = None
    language: Annotated[
        str | None,
        flag(
            "--language",
            help="Language replies must be in: auto (the seeds'), a code (pl), or off.",
            group=FILTERS,
            none_as="off",
            identity=True,
        ),
    ] = "auto"
    decontaminate: Annotated[
        Path | None,
        flag(
            "--decontaminate",
            help="Held-out JSONL: drop candidates sharing an n-gram with any of it.",
            group=FILTERS,
            identity=True,
        ),
    ] = None
    decontaminate_ngram: Annotated[
        int,
        Ge(1),
        flag(
            "--decontaminate-ngram",
            help="n-gram length (words) for --decontaminate.",
            group=FILTERS,
            identity=True,
        ),
    ] = 13
    judge: Annotated[
        str | None,
        flag(
            "--judge",
            help="Judge model: scores each candidate 1-10 on a rubric; cached like the teacher.",
            group=FILTERS,
            identity=True,
        ),
    ] = None
    # Identity through the job's "judge" key (run.job.job_identity), when given.
    judge_base_url: Annotated[
        str | None,
        flag(
            "--judge-base-url",
            help="OpenAI-compatible endpoint for --judge (default: the teacher's).",
            group=FILTERS,
            identity=True,
        ),
    ] = None
    min_score: Annotated[
        int,
        Ge(1),
        Le(10),
        flag(
            "--min-score",
            help="With --judge: drop candidates scored below this.",
            group=FILTERS,
            identity=True,
        ),
    ] = 6
