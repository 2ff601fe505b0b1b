"""Every knob of an ``expand`` run, validated in one place for the CLI and the library."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synthgen.errors import ConfigError

DEFAULT_MODEL = "gpt-4o-mini"
DEMO_MODEL = "demo"


def env_model() -> str:
    return os.environ.get("SYNTHGEN_MODEL") or DEFAULT_MODEL


def env_base_url() -> str | None:
    return os.environ.get("SYNTHGEN_BASE_URL") or os.environ.get("OPENAI_BASE_URL") or None


@dataclass(frozen=True)
class Settings:
    n: int
    out_dir: Path = Path("out")
    model: str = field(default_factory=env_model)
    base_url: str | None = field(default_factory=env_base_url)
    template: str = "expand"
    system: str | None = None
    eval_fraction: float = 0.1
    seed: int = 0
    concurrency: int = 16
    balance_by: str | None = None
    dedup_threshold: float = 0.8
    max_requests: int | None = None
    max_cost: float | None = None
    timeout: float = 120.0
    retries: int = 6
    rpm: float | None = None
    tpm: float | None = None
    temperature: float | None = None  # None: the template's default
    per_request: int | None = None  # None: the template's default
    shots: int | None = None  # None: the template's default
    min_yield: float = 0.05
    attributes: Path | None = None  # --attributes: lists to condition requests on (persona)
    frontier: float | None = None  # None: the template's default share of accepted examples
    language: str | None = "auto"  # "auto": the seeds' language; None/"off": no language filter
    decontaminate: Path | None = None  # held-out JSONL: drop candidates sharing an n-gram
    decontaminate_ngram: int = 13
    judge: str | None = None  # judge model: score each candidate, drop below min_score
    min_score: int = 6
    command: str | None = None  # how the run was started, for the dataset card
    transport: str = "aiohttp"  # OpenAI-compatible endpoints: direct aiohttp or the openai SDK
    cache: bool = True
    force: bool = False
    format: str = "openai"

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"-n must be at least 1 (got {self.n})")
        if not 0 < self.eval_fraction < 1:
            raise ConfigError(f"--eval-fraction must be between 0 and 1 (got {self.eval_fraction})")
        if self.concurrency < 1:
            raise ConfigError(f"--concurrency must be at least 1 (got {self.concurrency})")
        if not 0 < self.dedup_threshold <= 1:
            raise ConfigError(f"--dedup-threshold must be in (0, 1] (got {self.dedup_threshold})")
        for name in ("max_requests", "per_request", "shots"):
            value = getattr(self, name)
            if value is not None and value < 1:
                flag = name.replace("_", "-")
                raise ConfigError(f"--{flag} must be at least 1 (got {value})")
        for name in ("max_cost", "rpm", "tpm", "timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be positive (got {value})")
        if self.temperature is not None and not 0 <= self.temperature <= 2:
            raise ConfigError(f"--temperature must be in [0, 2] (got {self.temperature})")
        if self.frontier is not None and not 0 <= self.frontier < 1:
            raise ConfigError(f"--frontier must be in [0, 1) (got {self.frontier})")
        if self.decontaminate_ngram < 1:
            raise ConfigError(
                f"--decontaminate-ngram must be at least 1 (got {self.decontaminate_ngram})"
            )
        if not 1 <= self.min_score <= 10:
            raise ConfigError(f"--min-score must be between 1 and 10 (got {self.min_score})")
        if self.transport not in ("aiohttp", "openai-sdk"):
            raise ConfigError(f"--transport must be aiohttp or openai-sdk (got {self.transport!r})")
        if self.retries < 0:
            raise ConfigError(f"--retries must be 0 or more (got {self.retries})")

    @property
    def demo(self) -> bool:
        return self.model == DEMO_MODEL

    def public(self) -> dict[str, Any]:
        """For report.json: every setting, as plain JSON (no secrets live in Settings)."""
        d = asdict(self)
        d["out_dir"] = str(self.out_dir)
        for name in ("attributes", "decontaminate"):
            value = d[name]
            d[name] = None if value is None else str(value)
        return d
