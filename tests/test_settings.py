"""Settings: one declaration per setting, and everything derived from it (validation, the
job fingerprint, the reproduce command, the typed signature of expand/aexpand)."""

from __future__ import annotations

import hashlib
import inspect
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from synthgen import aexpand, expand
from synthgen.data.seeds import SeedSet, load_seeds
from synthgen.errors import ConfigError
from synthgen.prompts.templates import Template, load_mix
from synthgen.run.job import job_identity, seeds_digest
from synthgen.settings import CLI_CONTEXT, Settings, reproduce_command, spec_of
from synthgen.settings.spec import FILTERS, LARGE_RUNS, OUTPUT, PACING, STRATEGY, TEACHER
from tests.settings_samples import (
    REPRODUCED_NOT_IDENTITY,
    SEEDS,
    changed_values,
    job_fingerprint,
)

# report.json's "settings" section before Settings became a pydantic model: same keys, same
# order, same values.
PUBLIC_DEFAULTS: dict[str, Any] = {
    "n": 5,
    "out_dir": "out",
    "model": "gpt-4o-mini",
    "base_url": None,
    "template": "expand",
    "system": None,
    "eval_fraction": 0.1,
    "seed": 0,
    "concurrency": 16,
    "balance_by": None,
    "dedup_threshold": 0.8,
    "dedup_index": None,
    "max_requests": None,
    "max_cost": None,
    "timeout": 120.0,
    "retries": 6,
    "rate_limit_patience": 600.0,
    "rpm": None,
    "tpm": None,
    "temperature": None,
    "per_request": None,
    "shots": None,
    "min_yield": 0.05,
    "attributes": None,
    "frontier": None,
    "language": "auto",
    "decontaminate": None,
    "decontaminate_ngram": 13,
    "judge": None,
    "judge_base_url": None,
    "min_score": 6,
    "command": None,
    "transport": "aiohttp",
    "cache": True,
    "force": False,
    "format": "openai",
    "max_tokens": None,
    "max_reply_bytes": 8 * 1024 * 1024,
    "reasoning": "drop",
    "license": None,
    "pairs": False,
    "responses": 4,
    "min_margin": 2,
    "semantic_dedup": None,
    "shard": None,
    "workers": 1,
    "executor": "local",
    "ray_address": None,
    "batch": False,
    "batch_poll": 30.0,
}


def test_public_keeps_report_keys_and_values() -> None:
    public = Settings(n=5).public()
    assert list(public) == list(PUBLIC_DEFAULTS)
    assert public == PUBLIC_DEFAULTS
    paths = Settings(n=5, out_dir=Path("o"), attributes=Path("a.yaml"), decontaminate=Path("h"))
    assert paths.public() | {"out_dir": "o"} == paths.public()
    assert (paths.public()["attributes"], paths.public()["decontaminate"]) == ("a.yaml", "h")


def test_environment_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://openai.example/v1")
    s = Settings(n=1)
    assert (s.model, s.base_url) == ("env-model", "http://openai.example/v1")
    monkeypatch.setenv("SYNTHGEN_BASE_URL", "http://mine.example/v1")
    assert Settings(n=1).base_url == "http://mine.example/v1"
    # None (expand's default) and "" (an empty flag) both ask the environment.
    for value in (None, ""):
        s = Settings.from_parameters({"n": 1, "model": value, "base_url": value})
        assert (s.model, s.base_url) == ("env-model", "http://mine.example/v1")
    assert Settings(n=1, model="demo").demo and not Settings(n=1).demo


def test_frozen() -> None:
    s = Settings(n=1)
    with pytest.raises(ValueError, match="frozen"):
        s.n = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("given", "library", "cli"),
    [
        ({"n": 0}, "n must be at least 1 (got 0)", "-n must be at least 1 (got 0)"),
        (
            {"eval_fraction": 1.0},
            "eval_fraction must be in (0, 1) (got 1.0)",
            "--eval-fraction must be in (0, 1) (got 1.0)",
        ),
        ({"concurrency": 0}, "concurrency must be at least 1", "--concurrency must be at least 1"),
        ({"dedup_threshold": 0}, "dedup_threshold must be in (0, 1]", "--dedup-threshold"),
        ({"shots": 0}, "shots must be at least 1 (got 0)", "--shots must be at least 1"),
        ({"max_cost": 0}, "max_cost must be positive (got 0)", "--max-cost must be positive"),
        ({"temperature": 2.5}, "temperature must be between 0 and 2", "--temperature"),
        ({"frontier": 1}, "frontier must be in [0, 1) (got 1)", "--frontier must be in [0, 1)"),
        ({"min_score": 11}, "min_score must be between 1 and 10 (got 11)", "--min-score"),
        ({"retries": -1}, "retries must be at least 0 (got -1)", "--retries must be at least 0"),
        (
            {"transport": "grpc"},
            "transport must be 'aiohttp' or 'openai-sdk' (got 'grpc')",
            "--transport must be 'aiohttp' or 'openai-sdk' (got 'grpc')",
        ),
        ({"n": "many"}, "n must be a whole number (got 'many')", "-n must be a whole number"),
        ({"min_yield": 2}, "min_yield must be between 0 and 1 (got 2)", "min_yield must be"),
        ({"colour": "red"}, "unknown setting 'colour'", "unknown setting 'colour'"),
    ],
)
def test_errors_are_one_line_naming_the_setting(
    given: dict[str, Any], library: str, cli: str
) -> None:
    data = {"n": 5, **given}
    with pytest.raises(ConfigError) as caught:
        Settings(**data)
    assert str(caught.value).startswith(library) and "\n" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        Settings.model_validate(data, context=CLI_CONTEXT)
    assert str(caught.value).startswith(cli) and "\n" not in str(caught.value)


def test_every_field_is_specified() -> None:
    flags: list[str] = []
    for name, info, spec in Settings.specs():
        assert spec is spec_of(info)
        assert spec.help.endswith("."), name
        assert spec.group in (OUTPUT, TEACHER, STRATEGY, FILTERS, PACING, LARGE_RUNS), name
        flags += spec.flags
        # The card's command must be able to make the same job again.
        if spec.identity:
            assert spec.reproduce != "never" and spec.flags, name
        if spec.reproduce != "never" or spec.negated or spec.none_as:
            assert spec.flags, name
    assert len(flags) == len(set(flags))


def _legacy_identity(
    s: Settings, seeds: SeedSet, mix: list[tuple[Template, int]], attributes: dict[str, Any]
) -> dict[str, Any]:
    """job_identity as it was written by hand: the fingerprints of existing output folders."""
    decontaminate = None
    if s.decontaminate is not None:
        decontaminate = hashlib.sha256(s.decontaminate.read_bytes()).hexdigest()
    return {
        "seeds": seeds_digest(seeds),
        "templates": [[t.name, t.sha256, w] for t, w in mix],
        "attributes": attributes,
        "frontier": s.frontier,
        "language": s.language,
        "decontaminate": decontaminate,
        "decontaminate_ngram": s.decontaminate_ngram,
        "judge": [s.judge, s.min_score] if s.judge else None,
        "model": s.model,
        "base_url": s.base_url,
        "n": s.n,
        "seed": s.seed,
        "balance_by": s.balance_by,
        "dedup_threshold": s.dedup_threshold,
        "temperature": s.temperature,
        "per_request": s.per_request,
        "shots": s.shots,
        "eval_fraction": s.eval_fraction,
        "format": s.format,
        # New with --shard, and only in a shard's job: whole jobs keep their fingerprints.
        **({"shard": s.shard} if s.shard is not None else {}),
        # New with --reasoning, and only when kept: jobs that drop traces keep theirs.
        **({"reasoning": s.reasoning} if s.reasoning == "keep" else {}),
        # New with --semantic-dedup, and only when on.
        **({"semantic_dedup": s.semantic_dedup} if s.semantic_dedup is not None else {}),
    }


def _variants(tmp: Path) -> list[Settings]:
    """The defaults, each reproducible setting changed alone, and all of them at once."""
    values = changed_values(tmp)
    alone = [Settings(**{"n": 5, name: value}) for name, value in values.items()]
    return [Settings(n=5), *alone, Settings(**values), Settings(n=5, min_score=9)]


def test_fingerprints_of_existing_jobs_are_kept(tmp_path: Path) -> None:
    seeds = load_seeds(SEEDS)
    mix = load_mix("expand")
    attributes = {"persona": ["a student"]}
    for s in _variants(tmp_path):
        assert job_identity(s, seeds, mix, attributes) == _legacy_identity(
            s, seeds, mix, attributes
        )


def test_only_identity_settings_make_another_job(tmp_path: Path) -> None:
    base = Settings(n=5, judge="another-model")
    same = {
        "concurrency": 2,
        "max_requests": 9,
        "max_cost": 1.5,
        "timeout": 3.0,
        "retries": 0,
        "rpm": 60.0,
        "tpm": 1000.0,
        "min_yield": 0.5,
        "transport": "openai-sdk",
        "cache": False,
        "force": True,
        "command": "synthgen expand x -n 5",
        "out_dir": tmp_path / "other",
        "max_tokens": 100,
        "max_reply_bytes": 4096,
        "dedup_index": "redis://127.0.0.1:6379/0",
        "license": "mit",
    }
    for name, value in same.items():
        assert job_fingerprint(base.model_copy(update={name: value})) == job_fingerprint(base), name
    # Settings outside the identity that reach it by content: seeds' system, templates.
    other = {"system": "Be brief.", "template": "evolve", "min_score": 9}
    for name, value in {**changed_values(tmp_path), **other}.items():
        if name == "out_dir" or name in REPRODUCED_NOT_IDENTITY:
            continue
        changed = base.model_copy(update={name: value})
        assert job_fingerprint(changed) != job_fingerprint(base), name


def test_reproduce_command_spells_every_changed_setting(tmp_path: Path) -> None:
    assert reproduce_command(Settings(n=5), None) == "synthgen expand SEEDS -n 5 -o out"
    values = changed_values(tmp_path)
    command = reproduce_command(Settings(**values), "my seeds.txt")
    assert command.startswith("synthgen expand 'my seeds.txt' -n 7 -o ")
    for name, _, spec in Settings.specs():
        if spec.flags:
            assert (spec.flags[0] in command.split()) is (name in values), name
    assert "--shots 4" in command  # the one the hand-written command forgot
    assert "--language off" in reproduce_command(Settings(n=5, language=None), "s.txt")


def _accepted(annotation: Any) -> set[Any]:
    """The members of a union (a Literal counts as one)."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return {m for arg in typing.get_args(annotation) for m in _accepted(arg)}
    return {annotation}


@pytest.mark.parametrize("function", [expand, aexpand])
def test_expand_signature_is_the_settings_fields(function: Any) -> None:
    """The keyword parameters are the fields, in order, with the same defaults, and accept
    every type the field does."""
    signature = inspect.signature(function, eval_str=True)
    params = dict(signature.parameters)
    assert list(params)[:2] == ["seeds", "n"] and list(params)[-2:] == ["on_progress", "dry_run"]
    settings = {k: p for k, p in params.items() if k not in ("seeds", "on_progress", "dry_run")}
    assert list(settings) == list(Settings.model_fields)
    for name, param in settings.items():
        info = Settings.model_fields[name]
        assert name == "n" or param.kind is inspect.Parameter.KEYWORD_ONLY
        if info.is_required():
            assert param.default is inspect.Parameter.empty
        elif info.default_factory is not None:
            assert param.default is None, name  # the environment's default
        else:
            made = Settings.from_parameters({"n": 1, name: param.default})
            assert getattr(made, name) == info.default, name
        assert _accepted(info.annotation) <= _accepted(param.annotation), name
