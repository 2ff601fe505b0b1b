"""A client's settings for a job, checked by the one Settings model; the fields that name
paths or shape the server's own folders are the server's, not the client's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError
from synthgen.settings import Settings

__all__ = ["SERVER_FIELDS", "job_settings", "public_settings"]

# out_dir/force/command: the server's folders and records. attributes/decontaminate/a template
# file would be paths on the server's disk, which a client must not make it read.
SERVER_FIELDS = ("out_dir", "force", "command", "attributes", "decontaminate")
# A bound on n for one job on a shared server (Settings itself only asks for n >= 1).
MAX_N = 1_000_000


def job_settings(given: dict[str, Any], out_dir: Path) -> tuple[Settings, dict[str, Any]]:
    """The job's Settings, and what to store to build them again after a restart (the
    client's fields, with the model and endpoint resolved now, not from a later
    environment). ConfigError naming the field for anything refused."""
    unknown = sorted(set(given) - set(Settings.model_fields))
    if unknown:
        raise ConfigError(f"settings.{unknown[0]}: unknown setting")
    refused = [name for name in SERVER_FIELDS if name in given]
    if refused:
        raise ConfigError(f"settings.{refused[0]}: set by the server, not by a job")
    if "template" in given:
        _builtin_templates(given["template"])
    try:
        settings = Settings.model_validate({**given, "out_dir": out_dir})
    except ConfigError as e:
        raise ConfigError(f"settings: {e}") from None
    if settings.n > MAX_N:
        raise ConfigError(f"settings.n must be at most {MAX_N:,} on this server (got {settings.n})")
    stored = {**given, "model": settings.model, "base_url": settings.base_url}
    return settings, stored


def _builtin_templates(spec: Any) -> None:
    from synthgen.prompts.templates import list_templates

    if not isinstance(spec, str):
        return  # Settings names the type error
    names = {t.name for t in list_templates()}
    for part in (p.strip() for p in spec.split(",")):
        ref = part.rpartition(":")[0].strip() if ":" in part else part
        if part and ref not in names:
            raise ConfigError(
                f"settings.template: unknown template {ref!r}: use {', '.join(sorted(names))}"
                " (with optional weights, e.g. expand:3,evolve:1)"
            )


def public_settings(settings: Settings) -> dict[str, Any]:
    """The settings as a job shows them: no credentials, nothing of the server's."""
    from synthgen.run.job import shown_settings

    data = shown_settings(settings).public()
    for name in ("out_dir", "force", "command"):
        data.pop(name, None)
    return data
