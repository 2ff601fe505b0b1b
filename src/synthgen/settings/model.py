"""The Settings model: each field's type, default, range and Spec, in one declaration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

from annotated_types import Ge
from pydantic import model_validator

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
from synthgen.settings.spec import OUTPUT, TEACHER, flag

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
