"""The options of `synthgen expand` are the Settings fields: every flag maps to a field and
back, the card's reproduce command parses back to the same job, and --help stays light."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from synthgen.cli.app import expand
from synthgen.cli.expand_flags import RUN_OPTIONS, expand_command, settings_from_flags
from synthgen.settings import Settings, reproduce_command
from tests.helpers import SAMPLES, synthgen
from tests.settings_samples import SEEDS, changed_values, job_fingerprint

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "flags_table.py"


def _command() -> Any:
    return expand_command(expand)


def _parse(args: list[str]) -> dict[str, Any]:
    """The values the CLI's own parser gives ``synthgen expand ARGS``."""
    params: dict[str, Any] = _command().make_context("expand", args).params
    return params


def test_every_flag_is_a_setting_and_every_setting_a_flag() -> None:
    params = _command().params
    assert [p.name for p in params if p.param_type_name == "argument"] == ["seeds"]
    options = {p.name: p for p in params if p.param_type_name == "option"}
    on_cli = {name: spec for name, _, spec in Settings.specs() if spec.flags}
    assert set(options) == set(on_cli) | set(RUN_OPTIONS)
    for name, spec in on_cli.items():
        assert tuple(options[name].opts + options[name].secondary_opts) == spec.flags, name
        assert options[name].help.startswith(spec.help), name
    # Library only, on purpose: the CLI fills in the command line; the yield guard's bar is
    # a library knob. A new field without a flag must be added here knowingly.
    assert set(Settings.model_fields) - set(on_cli) == {"command", "min_yield"}


def test_flags_reach_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNTHGEN_MODEL", "env-model")
    values = _parse(["s.txt", "-n", "3", "--no-cache", "--model", "", "--shots", "2"])
    s = settings_from_flags(values, command="synthgen expand s.txt -n 3")
    assert (s.n, s.cache, s.model, s.shots) == (3, False, "env-model", 2)
    assert s.command == "synthgen expand s.txt -n 3" and s.out_dir == Path("out")
    defaults = settings_from_flags(_parse(["s.txt", "-n", "3"]), command=None)
    assert defaults == Settings(n=3)


def test_reproduce_command_makes_the_same_job(tmp_path: Path) -> None:
    """Run through the CLI's parser, the card's command gives the same job fingerprint (and
    the same value of every setting it spells out), whatever was changed."""
    values = changed_values(tmp_path)
    variants = [
        Settings(n=5),
        *(Settings(**{"n": 5, name: value}) for name, value in values.items()),
        Settings(**values),
    ]
    for original in variants:
        words = shlex.split(reproduce_command(original, str(SEEDS)))
        assert words[:3] == ["synthgen", "expand", str(SEEDS)]
        parsed = _parse(words[2:])
        assert Path(parsed["seeds"]) == SEEDS
        again = settings_from_flags(parsed, command=None)
        assert job_fingerprint(again) == job_fingerprint(original), words
        for name, _, spec in Settings.specs():
            if spec.reproduce != "never":
                assert getattr(again, name) == getattr(original, name), name


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--judge", "demo", "--min-score", "0"], "--min-score must be between 1 and 10 (got 0)"),
        (["--shots", "0"], "--shots must be at least 1 (got 0)"),
        (["--transport", "grpc"], "--transport must be 'aiohttp' or 'openai-sdk' (got 'grpc')"),
    ],
)
def test_errors_name_the_flag(tmp_path: Path, args: list[str], needle: str) -> None:
    out = tmp_path / "out"
    r = synthgen("expand", str(SEEDS), "-n", "5", *args, "--model", "demo", "-o", str(out))
    assert r.returncode == 2 and r.stderr.strip() == f"synthgen: error: {needle}"
    assert not out.exists()


def test_help_does_not_import_settings() -> None:
    """pydantic would double what `synthgen --help` costs: the listing shows a stand-in."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "synthgen", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "expand     Generate N examples from SEEDS with a teacher LLM" in r.stdout
    imported = {line.split("|")[-1].strip() for line in r.stderr.splitlines()}
    assert "synthgen.cli.app" in imported
    assert not {"pydantic", "synthgen.settings", "synthgen.cli.expand_flags"} & imported


def test_expand_help_shows_every_flag_in_its_group() -> None:
    r = synthgen("expand", "--help")
    assert r.returncode == 0, r.stderr
    sections = [line[:-1] for line in r.stdout.splitlines() if line and line[0] != " "]
    groups = list(dict.fromkeys(spec.group for _, _, spec in Settings.specs() if spec.flags))
    assert [s for s in sections if s in groups] == groups
    for _, _, spec in Settings.specs():
        for flag in spec.flags:
            assert f" {flag}" in r.stdout, flag
    assert "[default: the template's]" in r.stdout


def test_flags_table_script(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        "# x\n\n<!-- flags:begin (generated by scripts/flags_table.py from Settings: edit those)"
        " -->\n| old |\n<!-- flags:end -->\n\nafter\n",
        encoding="utf-8",
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "--readme", str(readme), *args],
            capture_output=True,
            text=True,
        )

    stale = run("--check")
    assert stale.returncode == 1 and "stale" in stale.stderr
    assert run().returncode == 0
    assert run("--check").returncode == 0
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# x\n\n") and text.endswith("<!-- flags:end -->\n\nafter\n")
    assert "| `--shots` | the template's | Examples shown to the teacher per request. |" in text
    for _, _, spec in Settings.specs():
        for flag in spec.flags:
            assert f"`{flag}`" in text, flag
    assert "`--dry-run`" in text and "`-q`, `--quiet`" in text


def test_shots_flag_runs(tmp_path: Path) -> None:
    out = tmp_path / "o"
    r = synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", "6", "--shots", "2", "--model", "demo",
        "-o", str(out), "-q", "--json",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert '"shots": 2' in r.stdout
