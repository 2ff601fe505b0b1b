"""The HTTP API's request and response bodies: the one source of truth for the server, the
client and the web page (``/openapi.json`` is generated from these)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "JOB_STATES",
    "SPLITS",
    "TERMINAL_STATES",
    "ErrorView",
    "ExampleItem",
    "ExamplesPage",
    "FileView",
    "Health",
    "JobCreate",
    "JobList",
    "JobState",
    "JobView",
    "Progress",
    "Split",
]

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]
JOB_STATES: tuple[JobState, ...] = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL_STATES: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})
Split = Literal["train", "eval", "rejected"]
SPLITS: tuple[Split, ...] = ("train", "eval", "rejected")

# A seed inline: a JSON object in any record shape synthgen reads, or a plain text line.
Seed = dict[str, Any] | str


class _Body(BaseModel):
    # Unknown fields are a mistake the client should hear about, not silently dropped.
    model_config = ConfigDict(extra="forbid")


class ErrorView(BaseModel):
    """Every 4xx answer: one line naming the field or file and the problem."""

    detail: str


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class FileView(BaseModel):
    """An uploaded seeds file, already read and checked with synthgen's seed readers."""

    id: str = Field(description="file_<random>; pass it as JobCreate.file_id")
    name: str
    bytes: int
    examples: int


class JobCreate(_Body):
    """A job: seeds (inline, or a previous upload: exactly one of the two), the same options
    as ``synthgen expand`` (Settings fields; out_dir, force and command are the server's),
    and optionally the teacher's API key, held in memory only."""

    seeds: list[Seed] | None = Field(
        default=None, description="Inline seed examples (objects in any seed shape, or text)"
    )
    file_id: str | None = Field(default=None, description="An upload from POST /v1/files")
    settings: dict[str, Any] = Field(
        default_factory=dict, description="Settings fields: n, model, base_url, template, ..."
    )
    api_key: str | None = Field(
        default=None, description="The teacher's key for this job; never stored or shown"
    )

    @model_validator(mode="after")
    def _one_source(self) -> JobCreate:
        if (self.seeds is None) == (self.file_id is None):
            raise ValueError("give exactly one of seeds (inline examples) or file_id (an upload)")
        return self


class Progress(BaseModel):
    """Live counts of a job (the same ones ``synthgen expand`` shows)."""

    n: int = 0
    requests: int = 0
    accepted: int = 0
    rejected: dict[str, int] = Field(default_factory=dict)
    per_category: dict[str, int] = Field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    rate_per_s: float = 0.0
    eta_s: float | None = None
    retries: int = 0


class JobView(BaseModel):
    id: str
    owner: str
    state: JobState
    created_at: float
    started_at: float | None = None
    finished_at: float | None = None
    error: str | None = None
    settings: dict[str, Any] = Field(
        default_factory=dict, description="The job's settings as stored (no secrets)"
    )
    files: list[str] = Field(
        default_factory=list, description="Names for GET /v1/jobs/{id}/files/{name}"
    )
    progress: Progress = Field(default_factory=Progress)


class JobList(BaseModel):
    jobs: list[JobView]
    total: int
    offset: int
    limit: int


class ExampleItem(BaseModel):
    index: int
    record: dict[str, Any]
    reason: str | None = None
    detail: str | None = None


class ExamplesPage(BaseModel):
    split: Split
    offset: int
    limit: int
    total: int
    items: list[ExampleItem]
