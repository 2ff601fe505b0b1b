"""The library speaks in parameters, the command line in flags; expand() in a notebook."""

from __future__ import annotations

import asyncio

import pytest

from synthgen import ConfigError, InputError, OutputExistsError, aexpand, expand
from tests.helpers import SAMPLES, synthgen


def test_expand_inside_a_running_loop_says_to_await_aexpand(tmp_path):
    """Jupyter runs cells inside an event loop: asyncio.run() raised a bare RuntimeError."""

    async def cell() -> None:
        expand(SAMPLES / "marv.jsonl", 5, model="demo", out_dir=tmp_path / "o")

    with pytest.raises(InputError, match=r"await aexpand\(\.\.\.\)"):
        asyncio.run(cell())
    assert not (tmp_path / "o").exists()

    async def awaited() -> int:
        result = await aexpand(SAMPLES / "marv.jsonl", 5, model="demo", out_dir=tmp_path / "o")
        return len(result.train) + len(result.eval)

    assert asyncio.run(awaited()) == 5


def test_setting_names_follow_the_caller():
    from synthgen.settings.naming import flag_names, setting

    assert setting("force", True) == "force=True"
    assert setting("max_cost", 0.5) == "max_cost=0.5"
    assert setting("out_dir") == "out_dir"
    with flag_names():
        assert setting("force", True) == "--force"
        assert setting("max_cost", 0.5) == "--max-cost 0.5"
        assert setting("out_dir") == "-o"
        assert setting("cache", False) == "--no-cache"
        assert setting("language", None) == "--language off"
    assert setting("force", True) == "force=True"


def test_output_exists_names_the_parameter_for_the_library_and_the_flag_for_the_cli(tmp_path):
    out = tmp_path / "o"
    expand(SAMPLES / "marv.jsonl", 5, model="demo", out_dir=out)
    with pytest.raises(OutputExistsError) as info:  # another job in the same folder
        expand(SAMPLES / "marv.jsonl", 6, model="demo", out_dir=out)
    message = str(info.value)
    assert "pass force=True to replace them, or choose another out_dir" in message
    args = ["expand", str(SAMPLES / "marv.jsonl"), "--model", "demo", "-o", str(out)]
    r = synthgen(*args, "-n", "6")
    assert r.returncode == 2 and "pass --force to replace them, or choose another -o" in r.stderr


def test_budget_stops_name_the_parameter_for_the_library_and_the_flag_for_the_cli(tmp_path):
    result = expand(
        SAMPLES / "marv.jsonl", 200, model="demo", max_requests=1, out_dir=tmp_path / "lib"
    )
    assert not result.complete
    assert result.report["stop"]["detail"] == "max_requests=1 reached"
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        *("-n", "200", "--model", "demo", "--max-requests", "1", "-o", str(tmp_path / "cli")),
    )
    assert (
        r.returncode == 1 and "stopped early (max_requests): --max-requests 1 reached" in r.stderr
    )


def test_missing_key_advice_names_parameters_for_the_library(tmp_path):
    with pytest.raises(InputError) as info:
        expand(SAMPLES / "marv.jsonl", 5, model="gpt-4o-mini", out_dir=tmp_path / "o")
    message = str(info.value)
    assert "model='demo'" in message and "base_url" in message and "--" not in message


def test_option_mismatches_name_parameters_for_the_library_and_flags_for_the_cli(tmp_path):
    with pytest.raises(ConfigError) as info:
        expand(SAMPLES / "marv.jsonl", 5, model="demo", template="persona", out_dir=tmp_path / "o")
    assert "needs attributes (a YAML" in str(info.value)
    r = synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", "5", "--model", "demo",
        "--template", "persona", "-o", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 2 and "needs --attributes (a YAML" in r.stderr
    assert not (tmp_path / "o").exists() and not (tmp_path / "c").exists()


def test_template_mix_errors_name_the_parameter_or_the_flag(tmp_path):
    from synthgen import TemplateError

    with pytest.raises(TemplateError, match=r"^template 'expand:0': weights must be at least 1"):
        expand(SAMPLES / "marv.jsonl", 5, model="demo", template="expand:0", out_dir=tmp_path / "o")
    r = synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", "5", "--model", "demo",
        "--template", "expand,expand", "-o", str(tmp_path / "c"),
    )  # fmt: skip
    assert r.returncode == 2 and "--template 'expand,expand' names a template twice" in r.stderr
