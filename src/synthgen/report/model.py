"""The run report as a typed model: report.json is dumped from :class:`Report` and the dataset
card renders from it, so a key renamed by one stage is a validation or type error where the
report is built, not a stale number on the card.

Sections keep the keys, values and order report.json has always had; ``schema_version``
changes when a key is renamed or removed, so a reader of old reports can tell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

__all__ = [
    "SCHEMA_VERSION",
    "BatchRun",
    "Diversity",
    "Hedging",
    "Inspired",
    "Judge",
    "OutcomeCost",
    "Pairs",
    "RateLimited",
    "ReasoningUse",
    "Rejected",
    "Replayed",
    "Report",
    "Requests",
    "RunInfo",
    "RunSettings",
    "Seeds",
    "Split",
    "SplitValidation",
    "Stop",
    "Teacher",
    "TemplateUse",
    "TokenUse",
    "Tokens",
    "Validation",
]

SCHEMA_VERSION = 2  # 2: wall time, replayed and resumed_from_request moved to "run"


def _version() -> str:
    from synthgen._version import __version__

    return __version__


class _Section(BaseModel):
    # forbid: a key a stage adds or renames must be added here too, or the run fails loudly.
    model_config = ConfigDict(extra="forbid", frozen=True)
    # Keys left out of the dump when None: report.json has never written them as null.
    _absent_when_none: ClassVar[frozenset[str]] = frozenset()

    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if not self._absent_when_none:
            return data
        return {k: v for k, v in data.items() if v is not None or k not in self._absent_when_none}


class Stop(_Section):
    reason: str  # "done", or what ended the run early (a budget, the yield guard, ...)
    detail: str


class TemplateUse(_Section):
    name: str
    sha256: str
    weight: int
    temperature: float
    per_request: int


class Teacher(_Section):
    model: str
    endpoint: str
    templates: list[TemplateUse]
    max_tokens: int | None = None  # the reply limit every request carried
    # How structured output was asked for at the end of the run: json_schema, or the step it
    # fell back to when the endpoint refused it (json_object+schema, json_object, none).
    response_format: str | None = None


class RunSettings(BaseModel):
    """``Settings.public()``: typed are the settings the card reads; the others pass through
    unchecked, since Settings itself validates them."""

    model_config = ConfigDict(extra="allow", frozen=True)
    n: int
    format: str
    balance_by: str | None
    _order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        model = handler(data)
        if isinstance(data, Mapping):
            model._order = tuple(data)
        return model

    @model_serializer(mode="wrap")
    def _in_given_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # pydantic dumps declared fields before extras; report.json keeps Settings' own order.
        data: dict[str, Any] = handler(self)
        return {**{k: data[k] for k in self._order if k in data}, **data}


class Seeds(_Section):
    path: str | None
    format: str
    count: int
    system: str | None
    sha256: str


class Hedging(_Section):
    """Requests that outlived their adaptive deadline: duplicates sent, attempts abandoned
    unanswered, and the replies that arrived but were not curated (paid for: in cost_usd)."""

    sent: int
    abandoned: int
    unused_tokens: dict[str, int]  # prompt, completion
    unused_cost_usd: float


class Requests(_Section):
    _absent_when_none = frozenset({"hedging"})
    total: int  # requests whose reply (or failure) was curated
    sent: int  # sent to the teacher, counted when sent (answered or not), across resumes
    cache_hits: int
    retries: int
    failed: int
    faults: dict[str, int]
    hedging: Hedging | None = None  # only when a request was hedged


class Rejected(_Section):
    total: int
    by_reason: dict[str, int]


class Tokens(_Section):
    _absent_when_none = frozenset({"reasoning"})
    prompt: int
    completion: int
    # Of the prompt tokens, those the provider served from its prompt cache (billed at its
    # cached rate); reports before this key read as 0.
    cached: int = 0
    # Of the completion tokens, those the teacher spent reasoning (priced as output; see
    # TokenUse.reasoning); absent when it did not reason.
    reasoning: int | None = None


class OutcomeCost(_Section):
    """The teacher tokens (and USD) charged to one outcome of the candidates: each reply's
    tokens split evenly over its candidates (run.spend)."""

    count: int  # candidates; whole replies for unparseable/truncated/empty_reply
    prompt: int
    completion: int
    cost_usd: float
    share: float  # of all teacher tokens bought


class ReasoningUse(_Section):
    """The completion tokens the teacher spent reasoning (its trace, kept or not), priced
    apart at the model's output rate; counted from the endpoint's usage, or from the trace."""

    tokens: int
    share_of_completion: float | None  # None: no completion tokens bought
    per_accepted: float | None  # None: nothing accepted
    cost_usd: float | None  # None: no price for the model


class TokenUse(_Section):
    """Where the teacher tokens went: the share of prompt tokens the provider's prompt cache
    served and what that saved, tokens bought per accepted example, the tokens by what
    became of the candidates, costliest first (``accepted``, drop reasons, ``not_curated``),
    and the reasoning tokens among them (absent: the teacher did not reason)."""

    _absent_when_none = frozenset({"reasoning"})
    cached_share: float | None  # None: no prompt tokens bought
    cache_saving_usd: float | None  # None: no price, or no cached price, for the model
    per_accepted: dict[str, float] | None  # prompt, completion; None: nothing accepted
    by_outcome: dict[str, OutcomeCost]
    reasoning: ReasoningUse | None = None


class Replayed(_Section):
    """What a resumed run replayed from its journal: earlier runs' work, counted in the
    report's totals but not done (or paid for) by the run that wrote it."""

    requests: int
    sent: int
    cache_hits: int
    retries: int
    failed: int
    replies: int
    candidates: int
    accepted: int
    tokens: Tokens
    cost_usd: float


class RateLimited(_Section):
    """This run's waits for a rate-limited teacher: 429 storms paused (one probe at a time
    until it recovered) and holds the x-ratelimit-* headers asked for."""

    pauses: int
    waited_s: float
    header_holds: int


class BatchRun(_Section):
    """What --batch did in this run: batches created, batches an earlier (killed) run had
    submitted and this one waited for, the requests written into them, the polls, the lines
    that failed or never ran (retried in a later batch), and the batches that expired."""

    submitted: int
    resumed: int
    requests: int
    polls: int
    failed_lines: int
    expired: int


class RunInfo(_Section):
    """What differs between two runs that wrote the same dataset: where and how fast, and
    how the work split between this run and the journal it replayed. Everything outside this
    section is identical when a finished job is re-run from the cache."""

    _absent_when_none = frozenset({"replayed", "rate_limited", "batch"})
    out_dir: str
    resumed_from_request: int
    replayed: Replayed | None = None  # only when the run resumed a journal
    rate_limited: RateLimited | None = None  # only when the teacher rate-limited the run
    batch: BatchRun | None = None  # only with --batch
    wall_time_s: float


class Judge(_Section):
    _absent_when_none = frozenset({"endpoint"})
    calls_sent: int
    tokens: int
    scored: int
    unscored: int
    mean_score: float | None
    histogram: dict[str, int]
    # The judge's own endpoint (public form, no credentials), when it is not the teacher.
    endpoint: str | None = None


class Pairs(_Section):
    """--pairs: prompts asked, responses per prompt, pairs kept, prompts dropped by reason
    (run.pair_choice.DROP_REASONS)."""

    prompts: int
    responses: int
    min_margin: int
    kept: int
    dropped: dict[str, int]


class Split(_Section):
    train: int
    eval: int
    eval_fraction: float


class Inspired(_Section):
    per_seed: dict[int, int]
    min: int | None
    max: int | None
    unused: list[int]


class Diversity(_Section):
    examples: int
    distinct_1: float | None
    distinct_2: float | None
    seeds_distinct_1: float | None
    seeds_distinct_2: float | None
    mean_pairwise_jaccard: float | None
    max_pairwise_jaccard: float | None
    jaccard_sample: int
    inspired: Inspired


class SplitValidation(_Section):
    """The cookbook checks on one written file; an empty file has only ``ok`` and
    ``n_examples``."""

    _absent_when_none = frozenset(
        {"errors", "n_over_limit", "n_epochs", "billed_tokens", "warnings"}
    )
    ok: bool
    n_examples: int
    errors: dict[str, int] | None = None
    n_over_limit: int | None = None
    n_epochs: int | None = None
    billed_tokens: int | None = None
    warnings: list[str] | None = None


class Validation(_Section):
    train: SplitValidation
    eval: SplitValidation


class Report(_Section):
    """Everything a finished (or stopped) run did; ``as_json()`` is report.json."""

    _absent_when_none = frozenset({"judge", "warnings", "token_use", "pairs"})
    schema_version: int = SCHEMA_VERSION
    synthgen_version: str = Field(default_factory=_version)
    complete: bool
    stop: Stop
    # What the run warned about (also on stderr), e.g. a short eval split; absent: none.
    warnings: list[str] | None = None
    teacher: Teacher
    settings: RunSettings
    seeds: Seeds
    requests: Requests
    replies: int
    candidates: int
    rejected: Rejected
    accepted: int
    surplus: int  # good candidates of a category that had filled up meanwhile
    per_category: dict[str, int]
    tokens: Tokens
    cost_usd: float
    token_use: TokenUse | None = None  # absent in reports before it
    judge: Judge | None = None  # only with --judge
    pairs: Pairs | None = None  # only with --pairs
    quotas: dict[str, int]
    split: Split
    language: str | None
    diversity: Diversity
    validation: Validation
    run: RunInfo  # times, paths and this run's share: left out when comparing re-runs

    @property
    def total(self) -> int:
        """Examples written, train and eval together."""
        return self.split.train + self.split.eval

    def as_json(self) -> dict[str, Any]:
        """The report as plain Python (int keys stay int, as ``json.dumps`` expects)."""
        return self.model_dump()
