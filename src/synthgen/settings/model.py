"""The Settings model: each field's type, default, range and Spec, in one declaration."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from annotated_types import Ge, Gt, Le, Lt
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.fields import FieldInfo

from synthgen.errors import ConfigError
from synthgen.settings.spec import (
    FILTERS,
    OUTPUT,
    PACING,
    STRATEGY,
    TEACHER,
    Spec,
    error_line,
    flag,
    spec_of,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

DEFAULT_MODEL = "gpt-4o-mini"
DEMO_MODEL = "demo"
TEMPLATE_DEFAULT = "the template's"

Transport = Literal["aiohttp", "openai-sdk"]

# The validation context under which errors name command-line flags instead of parameters.
CLI_CONTEXT = {"cli": True}


def env_model() -> str:
    return os.environ.get("SYNTHGEN_MODEL") or DEFAULT_MODEL


def env_base_url() -> str | None:
    return os.environ.get("SYNTHGEN_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None


class Settings(BaseModel):
    """Every setting of an ``expand`` run, validated in one place for the CLI and the library.

    Out-of-range values raise :class:`~synthgen.errors.ConfigError` with one line naming the
    parameter (or, validated with ``context=CLI_CONTEXT``, the flag)."""

    # Frozen: a run's settings never change under it. Fields keep this order: it is the
    # order of report.json's "settings" section and of --help.
    # defer_build: `synthgen expand --help` reads the fields but never validates.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

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
        flag("--max-cost", help="Stop when the estimated cost reaches USD.", group=PACING),
    ] = None
    timeout: Annotated[
        float,
        Gt(0),
        flag(
            "--timeout", help="Seconds before one request is abandoned and retried.", group=PACING
        ),
    ] = 120.0
    retries: Annotated[
        int,
        Ge(0),
        flag("--retries", help="Retries per request on 429, 5xx and timeouts.", group=PACING),
    ] = 6
    rpm: Annotated[
        float | None, Gt(0), flag("--rpm", help="Requests per minute limit.", group=PACING)
    ] = None
    tpm: Annotated[
        float | None, Gt(0), flag("--tpm", help="Tokens per minute limit.", group=PACING)
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
    command: Annotated[
        str | None, flag(help="How the run was started, for the dataset card.", group=OUTPUT)
    ] = None
    transport: Annotated[
        Transport,
        flag(
            "--transport",
            help="For OpenAI-compatible endpoints: aiohttp (fast) or openai-sdk.",
            group=TEACHER,
        ),
    ] = "aiohttp"
    cache: Annotated[
        bool,
        flag(
            "--no-cache",
            help="Neither read nor write the response cache.",
            group=TEACHER,
            negated=True,
        ),
    ] = True
    force: Annotated[
        bool, flag("--force", help="Replace the output folder of a different job.", group=OUTPUT)
    ] = False
    format: Annotated[
        str,
        flag(
            "--format",
            help="openai, prompt-completion, sharegpt, alpaca or trl.",
            group=OUTPUT,
            identity=True,
        ),
    ] = "openai"

    @model_validator(mode="wrap")
    @classmethod
    def _one_line(
        cls, data: Any, handler: ModelWrapValidatorHandler[Self], info: ValidationInfo
    ) -> Self:
        try:
            return handler(data)
        except ValidationError as e:
            cli = bool(info.context and info.context.get("cli"))
            raise ConfigError(error_line(e.errors()[0], cls.model_fields, cli=cli)) from None

    @classmethod
    def specs(cls) -> Iterator[tuple[str, FieldInfo, Spec]]:
        """Every field with its pydantic FieldInfo and its Spec, in declaration order."""
        for name, info in cls.model_fields.items():
            yield name, info, spec_of(info)

    @classmethod
    def from_parameters(cls, values: Mapping[str, Any], *, cli: bool = False) -> Settings:
        """Settings from a call's parameters (``expand``'s, or the CLI's flags): the fields
        among them. An empty model or endpoint asks for the environment's default."""
        given = {
            name: values[name]
            for name, info in cls.model_fields.items()
            if name in values and (info.default_factory is None or values[name])
        }
        return cls.model_validate(given, context=CLI_CONTEXT if cli else None)

    @property
    def demo(self) -> bool:
        return self.model == DEMO_MODEL

    def public(self) -> dict[str, Any]:
        """For report.json: every setting, as plain JSON (no secrets live in Settings)."""
        return self.model_dump(mode="json")

    def identity(self) -> dict[str, Any]:
        """The identity fields as plain JSON: the settings part of the job fingerprint."""
        data = self.public()
        return {name: data[name] for name, _, spec in self.specs() if spec.identity}
