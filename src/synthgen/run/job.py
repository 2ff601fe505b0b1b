"""A validated run: seeds, templates, planner, quotas, filters and the output folder's state,
checked before anything is sent or written (every bad input surfaces here, as exit code 2)."""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from synthgen.data.example import Example
from synthgen.data.seeds import SeedSet, load_seeds
from synthgen.data.tools import Toolbox
from synthgen.errors import ConfigError
from synthgen.prompts.plan import Planner, RequestPlan, Strategy, quotas
from synthgen.prompts.templates import Template, load_mix
from synthgen.prompts.tool_prompt import template_message, with_tools
from synthgen.run.frontier import FrontierPool
from synthgen.run.hints import balance_hint, eval_fraction_warning, warn
from synthgen.run.journal import RunState
from synthgen.run.shard import SHARD_KEY, check_shard, run_quotas, shard_of, target
from synthgen.run.sizing import (
    FD_MARGIN,
    concurrency_limit,
    frontier_lag,
    reply_token_limit,
)
from synthgen.settings import Settings
from synthgen.settings.naming import setting
from synthgen.teacher import ChatRequest
from synthgen.teacher.pricing import max_output_tokens

SeedSource = str | Path | Iterable[Example | Mapping[str, Any]]


@dataclass
class Job:
    """A validated run, before anything is written or sent."""

    settings: Settings
    seeds: SeedSet
    mix: list[tuple[Template, int]]
    planner: Planner
    quotas: dict[str | None, int]
    state: RunState
    resume: bool
    lag: int | None = None  # frontier examples come from requests at least this far back
    checks: list[Any] = field(default_factory=list)  # extra filters: language, decontamination
    language: str | None = None  # the language replies must be in (None: not checked)
    max_tokens: int | None = None  # every request's reply limit (run.sizing)
    warnings: list[str] = field(default_factory=list)  # said on stderr, kept in the report

    @property
    def mean_per_request(self) -> float:
        weights = sum(w for _, w in self.mix)
        return sum(self.per_request(t) * w for t, w in self.mix) / weights

    def template(self, plan: RequestPlan) -> Template:
        return self.mix[plan.strategy][0]

    @cached_property
    def toolbox(self) -> Toolbox:
        """The tools each request offers: those of the seeds it shows."""
        return Toolbox(self.seeds.examples)

    def per_request(self, template: Template) -> int:
        return self.settings.per_request or template.per_request

    def temperature(self, template: Template) -> float:
        t = self.settings.temperature
        return template.temperature if t is None else t

    def frontier(self, template: Template) -> float:
        return frontier_share(self.settings, template)

    def shown(
        self, plan: RequestPlan, template: Template, pool: FrontierPool | None = None
    ) -> list[dict[str, Any]]:
        """The examples a request shows: its seeds, with a share of them replaced by
        examples from ``pool`` accepted at least ``lag`` requests earlier (the frontier), so
        the teacher builds on what it already wrote instead of circling the seeds."""
        seeds = [self.seeds.examples[i] for i in plan.shots]
        share = self.frontier(template)
        if pool is None or self.lag is None or share <= 0:
            return [_for_template(ex) for ex in seeds]
        accepted, available = pool.eligible(plan.category, plan.ordinal - self.lag)
        k = min(round(len(seeds) * share), available)
        if len(seeds) < 2 or k == 0:
            return [_for_template(ex) for ex in seeds]
        rng = random.Random(f"{self.settings.seed}:frontier:{plan.ordinal}")
        picked = [accepted[i] for i in sorted(rng.sample(range(available), k))]
        picked = [p for p in picked if self.toolbox.offers(plan.shots, p)]
        k = len(picked)
        return [_for_template(ex) for ex in seeds[: len(seeds) - k] + picked]

    def request(self, plan: RequestPlan, pool: FrontierPool | None = None) -> ChatRequest:
        """The chat request of ``plan``; it shows frontier examples only when given the
        ``pool`` of what the run has accepted so far."""
        from synthgen.prompts.reply import response_format_for

        template = self.template(plan)
        shown = self.shown(plan, template, pool)
        messages = template.render(
            examples=shown,
            n=self.per_request(template),
            system=self.seeds.system,
            category=plan.category,
            attributes=plan.attributes,
        )
        response_format = response_format_for(template.reply)
        if self.toolbox.any:
            messages, response_format = with_tools(messages, response_format, self.toolbox, plan)
        if self.settings.reasoning == "keep" and self.per_request(template) > 1:
            # One trace cannot be the reasoning of several examples (curate.reasoning).
            from synthgen.prompts.reasoning import ask_for_reasoning, schema_with_reasoning

            messages = ask_for_reasoning(messages)
            response_format = schema_with_reasoning(response_format)
        return ChatRequest(
            messages=tuple(messages),
            temperature=self.temperature(template),
            max_tokens=self.max_tokens,
            response_format=response_format,
            shown=tuple(m["content"] for ex in shown for m in ex["messages"]),
        )


def _for_template(ex: Example) -> dict[str, Any]:
    return {
        "messages": [template_message(m) for m in ex.turns],
        "metadata": ex.metadata,
    }


def prepare(source: SeedSource, settings: Settings) -> Job:
    """Read and check everything; raise InputError subclasses before any side effect."""
    from synthgen.prompts.attributes import load_attributes

    if settings.base_url and not settings.demo:
        from synthgen.teacher import validate_base_url

        validate_base_url(settings.base_url)  # ConfigError (exit 2) before anything else
    if settings.judge and settings.judge_base_url:
        from synthgen.teacher import validate_base_url

        validate_base_url(settings.judge_base_url)
    seeds = load_seeds(source, system=settings.system)
    mix = load_mix(settings.template)
    user_attrs = load_attributes(settings.attributes) if settings.attributes else {}
    _check_options(settings, seeds, mix, user_attrs)
    planner = _planner(settings, seeds, mix, user_attrs)
    mean_per_request = sum((settings.per_request or t.per_request) * w for t, w in mix) / sum(
        w for _, w in mix
    )
    warnings: list[str] = []
    settings = settings.model_copy(
        update={
            "max_requests": settings.max_requests
            or default_max_requests(target(settings), max(1, int(mean_per_request)), settings),
            "concurrency": _concurrency(settings, warnings),
        }
    )
    for message in (eval_fraction_warning(settings), balance_hint(settings, seeds)):
        if message is not None:
            warn(warnings, message)
    check_shard(settings, warnings)
    checks, language = extra_checks(settings, seeds)
    state = RunState(settings.out_dir, job_identity(settings, seeds, mix, user_attrs))
    resume = state.check(
        force=settings.force,
        inputs={
            "seeds": seeds.path,
            "decontaminate": settings.decontaminate,
            "attributes": settings.attributes,
        },
        ordinals=(settings.max_requests or 0) * len(planner.categories),
    )
    uses_frontier = any(frontier_share(settings, t) > 0 for t, _ in mix)
    return Job(
        settings=settings,
        seeds=seeds,
        mix=mix,
        planner=planner,
        quotas=run_quotas(quotas(planner.categories, settings.n), settings),
        state=state,
        resume=resume,
        # Fixed by the job (never by pacing flags), so that which accepted examples a request
        # may show depends neither on timing nor on --concurrency; the engine never runs
        # further ahead than this.
        lag=frontier_lag(target(settings), mean_per_request) if uses_frontier else None,
        checks=checks,
        language=language,
        max_tokens=settings.max_tokens
        or reply_token_limit(
            seeds.examples,
            max(settings.per_request or t.per_request for t, _ in mix),
            max_output_tokens(settings.model),
        ),
        warnings=warnings,
    )


def _planner(
    settings: Settings, seeds: SeedSet, mix: list[tuple[Template, int]], user_attrs: Any
) -> Planner:
    strategies = [
        Strategy(
            name=t.name,
            weight=w,
            shots=settings.shots or t.shots,
            attributes=user_attrs if t.needs_attributes else t.attributes,
        )
        for t, w in mix
    ]
    return Planner(
        seeds.examples,
        seed=settings.seed,
        balance_by=settings.balance_by,
        strategies=strategies,
        shard=shard_of(settings),  # None: the whole job
    )


def _check_options(
    settings: Settings, seeds: SeedSet, mix: list[tuple[Template, int]], user_attrs: Any
) -> None:
    for template, _ in mix:
        if template.needs_attributes and not user_attrs:
            raise ConfigError(
                f"template {template.name!r} needs {setting('attributes')} (a YAML or JSON "
                "file mapping names to lists, e.g. persona, difficulty, topic)"
            )
    if user_attrs and not any(t.needs_attributes for t, _ in mix):
        raise ConfigError(
            f"{setting('attributes')} is for templates that use them: use "
            f"{setting('template', 'persona')}"
        )
    if settings.balance_by is not None:
        seeds.categories(settings.balance_by)  # names the first seed lacking the field
    if settings.format != "openai":
        from synthgen.data.formats import FORMATS

        if settings.format not in FORMATS:
            raise ConfigError(
                f"unknown --format {settings.format!r}: use one of {', '.join(FORMATS)}"
            )
    if settings.reasoning == "keep":
        _check_reasoning_format(settings.format)
    Toolbox(seeds.examples).check_format(settings.format)


def _check_reasoning_format(fmt: str) -> None:
    from synthgen.data.shapes import SHAPES

    if not SHAPES[fmt].carries_reasoning:
        able = ", ".join(name for name, shape in SHAPES.items() if shape.carries_reasoning)
        raise ConfigError(
            f"{setting('reasoning', 'keep')} puts reasoning_content on assistant messages, "
            f"which {setting('format', fmt)} has no place for: use {setting('format')} "
            f"{able}, or {setting('reasoning', 'drop')}"
        )


def _concurrency(settings: Settings, warnings: list[str]) -> int:
    """--concurrency, within the connections this process may open."""
    cap = concurrency_limit()
    if cap is None or settings.concurrency <= cap:
        return settings.concurrency
    warn(
        warnings,
        f"{setting('concurrency', settings.concurrency)} is more than this process may open "
        f"(its open-file limit, less {FD_MARGIN} for files); using {cap}",
    )
    return cap


def extra_checks(settings: Settings, seeds: SeedSet) -> tuple[list[Any], str | None]:
    """The optional filters: reply language (the seeds' own by default) and
    decontamination against a held-out set."""
    checks: list[Any] = []
    language = None
    # Contamination first: it is the reason a user most needs to see.
    if settings.decontaminate is not None:
        from synthgen.curate.decontam import Decontaminator

        checks.append(
            Decontaminator.from_file(settings.decontaminate, ngram=settings.decontaminate_ngram)
        )
    choice = (settings.language or "off").lower()
    if choice not in ("off", "none") and not (settings.demo and choice == "auto"):
        from synthgen.curate.language import LanguageFilter, dominant_language

        if choice == "auto":
            language = dominant_language(ex.dedup_text() for ex in seeds.examples)
        else:
            language = choice
        if language is not None:
            # The assistant turns are what the model learns to write; a user turn in another
            # language can be the task itself (translation). ConfigError for unknown codes.
            checks.append(LanguageFilter(language, roles=("assistant",)))
    return checks, language


def frontier_share(settings: Settings, template: Template) -> float:
    """--frontier, else 0 in batch mode (a batch round could hold no more than the frontier's
    lag, and rounds take hours), else the template's."""
    if settings.frontier is not None:
        return settings.frontier
    return 0.0 if settings.batch else template.frontier


def default_max_requests(n: int, per_request: int, settings: Settings | None = None) -> int:
    """Five times what a teacher whose every answer is accepted would need: room for a poor
    yield, a hard stop for a teacher that only produces rejects; and --pairs' responses."""
    pairs = n * settings.responses if settings is not None and settings.pairs else 0
    return 5 * math.ceil(n / per_request) + 20 + pairs


def seeds_digest(seeds: SeedSet) -> str:
    h = hashlib.sha256()
    for ex in seeds.examples:
        h.update(json.dumps(ex.to_chat(), ensure_ascii=False, sort_keys=True).encode())
        h.update(json.dumps(ex.metadata, ensure_ascii=False, sort_keys=True, default=str).encode())
    h.update((seeds.system or "").encode())
    return h.hexdigest()


def job_identity(
    settings: Settings, seeds: SeedSet, mix: list[tuple[Template, int]], attributes: dict[str, Any]
) -> dict[str, Any]:
    """What makes two runs the same job (so the second resumes the first): the settings
    marked ``identity`` in Settings, with the seeds, the templates and the attribute lists by
    content. Budgets and pacing are left out: changing them mid-job is fine. The endpoint is
    its public form: credentials in --base-url never reach job.json."""
    job = shown_settings(settings).identity()
    # By content: an edited held-out set makes another job.
    job["decontaminate"] = _file_digest(settings.decontaminate)
    # The bar matters only with a judge; one "judge" key keeps existing folders' fingerprints.
    min_score = job.pop("min_score")
    judge_url = job.pop("judge_base_url", None)
    job["judge"] = [settings.judge, min_score] if settings.judge else None
    if job["judge"] is not None and judge_url:
        job["judge"].append(judge_url)
    if settings.shard is not None:  # only then: whole jobs keep their fingerprints
        job[SHARD_KEY] = settings.shard
    if job.get("reasoning") == "drop":  # only kept: folders of earlier versions resume
        del job["reasoning"]
    if settings.pairs:  # only then: other jobs keep their fingerprints
        job["pairs"] = settings.responses
    return {
        "seeds": seeds_digest(seeds),
        "templates": [[t.name, t.sha256, w] for t, w in mix],
        "attributes": attributes,
        **job,
    }


def shown_settings(settings: Settings) -> Settings:
    """``settings`` as they may be stored and shown (job.json, report.json, the card): the
    base URL without credentials, and the command line without them either."""
    from synthgen.teacher.urls import public_endpoint, url_secrets

    update: dict[str, str | None] = {}
    command = settings.command
    for name in ("base_url", "judge_base_url", "dedup_index"):
        url = getattr(settings, name)
        if not url:
            continue
        update[name] = public = public_endpoint(url)
        if command:
            command = command.replace(url, public)
            for secret in sorted(url_secrets(url), key=len, reverse=True):
                command = command.replace(secret, "***")
    if not update:
        return settings
    return settings.model_copy(update={**update, "command": command})


def _file_digest(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def seeds_section(seeds: SeedSet) -> dict[str, Any]:
    return {
        "path": seeds.path,
        "format": seeds.fmt,
        "count": len(seeds),
        "system": seeds.system,
        "sha256": seeds_digest(seeds),
    }
