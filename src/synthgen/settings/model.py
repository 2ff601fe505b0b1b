"""The Settings model: each field's type, default, range and Spec, in one declaration."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Literal

from annotated_types import Ge, Gt, Le
from pydantic import AfterValidator, model_validator
from pydantic_core import PydanticCustomError

from synthgen.errors import ConfigError
from synthgen.settings.fields import (
    DEFAULT_MAX_REPLY_BYTES,
    DEFAULT_MODEL,
    DEMO_MODEL,
    MIN_RPM,
    MIN_TPM,
    TEMPLATE_DEFAULT,
    JobFields,
    Transport,
    env_base_url,
    env_model,
)
from synthgen.settings.pairs import check_pairs
from synthgen.settings.semantic import check_semantic
from synthgen.settings.shard import parse_shard
from synthgen.settings.spec import FILTERS, LARGE_RUNS, OUTPUT, TEACHER, flag
from synthgen.settings.workers import Executor, check_workers

Reasoning = Literal["drop", "keep"]
# The shape of the Hub's license ids (https://hf.co/docs/hub/repositories-licenses).
_LICENSE_ID = re.compile(r"[a-z0-9][a-z0-9.+-]*")


def _hub_license(value: str | None) -> str | None:
    if value is not None and not _LICENSE_ID.fullmatch(value):
        raise PydanticCustomError(
            "license", "must be a Hub license id such as mit, apache-2.0 or cc-by-4.0"
        )
    return value


def _shard(value: str | None) -> str | None:
    """``I/N`` as written the one way (``" 1/4"`` is ``"1/4"``); ConfigError naming it."""
    if value is None:
        return None
    index, count = parse_shard(value)
    return f"{index}/{count}"


if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self is Python 3.11+

__all__ = [
    "DEFAULT_MAX_REPLY_BYTES",
    "DEFAULT_MODEL",
    "DEMO_MODEL",
    "MIN_RPM",
    "MIN_TPM",
    "TEMPLATE_DEFAULT",
    "Settings",
    "Transport",
    "env_base_url",
    "env_model",
]


class Settings(JobFields):
    """Every setting of an ``expand`` run, validated in one place for the CLI and the library.

    Out-of-range values raise :class:`~synthgen.errors.ConfigError` with one line naming the
    parameter (or, validated with ``context=CLI_CONTEXT``, the flag)."""

    # Fields keep this order (JobFields' first): it is the order of report.json's "settings"
    # section and of --help.
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
    # Not identity: a job whose replies were cut resumes with a higher limit. Requests whose
    # limit changed are new cache keys, so they are bought again.
    max_tokens: Annotated[
        int | None,
        Ge(1),
        flag(
            "--max-tokens",
            help="Most tokens a teacher reply may have; cut replies are dropped as truncated.",
            group=TEACHER,
            default_text="from the seeds",
            reproduce="changed",
        ),
    ] = None
    max_reply_bytes: Annotated[
        int,
        Ge(1024),
        flag(
            "--max-reply-bytes",
            help="Abandon a teacher reply larger than this many bytes.",
            group=TEACHER,
        ),
    ] = DEFAULT_MAX_REPLY_BYTES
    # Identity: keep writes reasoning_content the journal's accepted examples of a drop run
    # lack (and, asking several conversations per request, another prompt).
    reasoning: Annotated[
        Reasoning,
        flag(
            "--reasoning",
            help="A reasoning teacher's trace: drop it, or keep it as the assistant's "
            "reasoning_content (formats openai, trl, prompt-completion).",
            group=OUTPUT,
            identity=True,
        ),
    ] = "drop"
    # Only on the card: another license is the same data, so not identity.
    license: Annotated[
        str | None,
        AfterValidator(_hub_license),
        flag(
            "--license",
            help="The dataset's license on the card, as a Hub id (mit, apache-2.0, "
            "cc-by-4.0, ...).",
            group=OUTPUT,
            default_text="none",
            reproduce="changed",
        ),
    ] = None
    # Identity through the job's "pairs" key (run.job.job_identity), when on. --min-margin is
    # not: the pairs are chosen from the journaled scores when the outputs are written.
    pairs: Annotated[
        bool,
        flag(
            "--pairs",
            help="Write preference pairs (DPO): --responses replies per prompt, scored by "
            "--judge; the best and the worst become chosen and rejected.",
            group=OUTPUT,
            reproduce="changed",
        ),
    ] = False
    responses: Annotated[
        int,
        Ge(2),
        flag(
            "--responses",
            help="With --pairs: replies the teacher writes for each prompt.",
            group=OUTPUT,
            reproduce="changed",
        ),
    ] = 4
    min_margin: Annotated[
        int,
        Ge(1),
        flag(
            "--min-margin",
            help="With --pairs: least judge score gap between chosen and rejected.",
            group=FILTERS,
            reproduce="changed",
        ),
    ] = 2
    # Identity: paraphrases dropped is another dataset (as --dedup-threshold).
    semantic_dedup: Annotated[
        float | None,
        Gt(0),
        Le(1),
        flag(
            "--semantic-dedup",
            help="Also drop paraphrases: cosine similarity of sentence embeddings at which "
            "two examples are duplicates, e.g. 0.9 (needs synthgen[semantic]).",
            group=FILTERS,
            identity=True,
            default_text="off",
        ),
    ] = None
    # Not identity as a field, so that no other job's fingerprint changes: run.job adds it
    # to a shard's job, and run.shard takes it out again for what the shards share.
    shard: Annotated[
        str | None,
        AfterValidator(_shard),
        flag(
            "--shard",
            help="Run shard I/N of the job (I from 0) into OUT; `synthgen merge` joins them.",
            group=LARGE_RUNS,
            default_text="the whole job",
            reproduce="changed",
        ),
    ] = None
    # How the job is run, not what it makes: none of these is identity, and a job started
    # with workers resumes without them (and the other way round).
    workers: Annotated[
        int,
        Ge(1),
        flag(
            "--workers",
            help="Shards run at once, as tasks of --engine ray; merged into OUT at the end.",
            group=LARGE_RUNS,
        ),
    ] = 1
    # Named executor, not engine: run.engine.Engine is the loop that runs one shard.
    executor: Annotated[
        Executor,
        flag(
            "--engine",
            help="Where the shards run: local (this process) or ray (tasks of a Ray cluster).",
            group=LARGE_RUNS,
        ),
    ] = "local"
    ray_address: Annotated[
        str | None,
        flag(
            "--ray-address",
            help="Ray cluster to run on (ray://HOST:10001, HOST:6379 or auto).",
            group=LARGE_RUNS,
            default_text="a local Ray started for the run",
        ),
    ] = None
    # How replies are bought, not what they are: a job runs live or in batches, and resumes
    # either way (replies share the response cache).
    batch: Annotated[
        bool,
        flag(
            "--batch",
            help="Send requests through the provider's batch API (/v1/batches): half the "
            "price, replies within 24 h; a killed run, re-run, waits for its batches.",
            group=LARGE_RUNS,
        ),
    ] = False
    batch_poll: Annotated[
        float,
        Gt(0),
        flag(
            "--batch-poll",
            help="Seconds between polls of a batch in progress (--batch).",
            group=LARGE_RUNS,
        ),
    ] = 30.0

    @model_validator(mode="after")
    def _semantic_needs_its_extra(self) -> Self:
        check_semantic(self)
        return self

    @model_validator(mode="after")
    def _pairs_need_a_judge(self) -> Self:
        check_pairs(self)
        return self

    @model_validator(mode="after")
    def _workers_need_ray(self) -> Self:
        check_workers(self)
        return self

    @model_validator(mode="after")
    def _batch_needs_a_batch_api(self) -> Self:
        if self.batch and self.demo:
            from synthgen.settings.naming import setting

            raise ConfigError(
                f"{setting('batch')} needs a provider's batch API, and "
                f"{setting('model', DEMO_MODEL)} runs in this process: to try it offline, "
                "serve FakeTeacher (`python -m "
                f"synthgen.testing`) and point {setting('base_url')} at it"
            )
        return self

    @model_validator(mode="after")
    def _demo_sends_nothing(self) -> Self:
        if self.demo and self.base_url and "base_url" in self.model_fields_set:
            from synthgen.settings.naming import setting

            raise ConfigError(
                f"{setting('model', DEMO_MODEL)} is a bundled teacher that runs in this "
                f"process and sends nothing, so {setting('base_url')} would be ignored: "
                f"drop {setting('base_url')}, or name the server's model with {setting('model')}"
            )
        return self

    @property
    def demo(self) -> bool:
        return self.model == DEMO_MODEL
