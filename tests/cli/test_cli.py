"""The real `synthgen` command, run as a user would, against FakeTeacher."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.helpers import SAMPLES, read_jsonl, synthgen

SYSTEM = "Popraw gramatykę zdania."


def test_help_lists_commands():
    r = synthgen("--help")
    assert r.returncode == 0
    for word in ("expand", "validate", "templates", "cache"):
        assert word in r.stdout


def test_demo_run_end_to_end(tmp_path):
    out = tmp_path / "out"
    r = synthgen(
        "expand",
        str(SAMPLES / "seeds.txt"),
        "-n",
        "40",
        "--model",
        "demo",
        "--system",
        SYSTEM,
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert "placeholder" in r.stderr
    train, evals = read_jsonl(out / "train.jsonl"), read_jsonl(out / "eval.jsonl")
    assert len(train) + len(evals) == 40 and len(evals) == 4
    assert all(x["messages"][0] == {"role": "system", "content": SYSTEM} for x in train + evals)
    report = json.loads((out / "report.json").read_text())
    assert report["accepted"] == 40 and report["complete"] is True
    assert "Popraw" in (out / "train.jsonl").read_text(encoding="utf-8")  # not ASCII-escaped


def test_json_flag_prints_report(tmp_path):
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "10",
        "--model",
        "demo",
        "-o",
        str(tmp_path / "o"),
        "-q",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["accepted"] == 10 and report["split"]["eval"] == 1


def _bad_files(tmp: Path) -> dict[str, tuple[Path, str]]:
    (tmp / "empty.txt").write_text("")
    (tmp / "comments.txt").write_text("# just a comment\n\n# another\n")
    (tmp / "binary.txt").write_bytes(b"ok line; fine\n\x00\x01\x02binary\n")
    (tmp / "latin1.txt").write_bytes(
        "dobry; wiersz\nzły; \xb3\xf3d\n".encode()[:20] + b"\xff\xfe bad\n"
    )
    (tmp / "bad.jsonl").write_text(
        '{"messages": [{"role": "user", "content": "a"}, '
        '{"role": "assistant", "content": "b"}]}\n{"messages": [\n'
    )
    return {
        "empty": (tmp / "empty.txt", "no seed examples"),
        "comments": (tmp / "comments.txt", "no seed examples"),
        "binary": (tmp / "binary.txt", ":2"),
        "latin1": (tmp / "latin1.txt", "UTF-8"),
        "malformed": (tmp / "bad.jsonl", "bad.jsonl:2"),
        "missing": (tmp / "nope.txt", "nope.txt"),
    }


@pytest.mark.parametrize("case", ["empty", "comments", "binary", "latin1", "malformed", "missing"])
def test_bad_seed_files(tmp_path, case):
    path, needle = _bad_files(tmp_path)[case]
    out = tmp_path / "out"
    r = synthgen("expand", str(path), "-n", "5", "--model", "demo", "-o", str(out))
    assert r.returncode == 2, (r.stdout, r.stderr)
    err = r.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert needle in err and path.name in err
    assert not out.exists()


@pytest.mark.parametrize(
    "args,needle",
    [
        (["-n", "0"], "-n must be at least 1"),
        (["-n", "-3"], "-n must be at least 1"),
        (["-n", "5", "--eval-fraction", "0"], "--eval-fraction"),
        (["-n", "5", "--eval-fraction", "1.5"], "--eval-fraction"),
        (["-n", "5", "--template", "nope"], "unknown template 'nope'"),
    ],
)
def test_bad_options(tmp_path, args, needle):
    out = tmp_path / "out"
    r = synthgen("expand", str(SAMPLES / "seeds.txt"), *args, "--model", "demo", "-o", str(out))
    assert r.returncode == 2 and needle in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()


def test_template_syntax_error(tmp_path):
    t = tmp_path / "broken.j2"
    t.write_text("---\n---\n<|user|>\n{% if %}\n")
    r = synthgen(
        "expand",
        str(SAMPLES / "seeds.txt"),
        "-n",
        "5",
        "--model",
        "demo",
        "--template",
        str(t),
        "-o",
        str(tmp_path / "o"),
    )
    assert r.returncode == 2 and "broken.j2:4" in r.stderr and "Traceback" not in r.stderr


def test_no_key_fails_fast_with_advice(tmp_path):
    start = time.monotonic()
    r = synthgen("expand", str(SAMPLES / "seeds.txt"), "-n", "5", "-o", str(tmp_path / "o"))
    assert (
        time.monotonic() - start < 10
    )  # generous: the point is no network wait and no litellm import
    assert r.returncode == 2
    assert "OPENAI_API_KEY" in r.stderr and "--model demo" in r.stderr
    assert not (tmp_path / "o").exists()


def test_bad_key_and_unknown_model_fail_fast(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(require_key="sk-right-key-123456", unknown_models={"ghost"})
    secret = "sk-wrong-key-abcdef123456"
    r = synthgen(
        "expand",
        str(SAMPLES / "seeds.txt"),
        "-n",
        "5",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-o",
        str(tmp_path / "o"),
        env={"OPENAI_API_KEY": secret},
    )
    assert r.returncode == 1 and "refused the API key" in r.stderr and "'m'" in r.stderr
    assert secret not in r.stderr + r.stdout
    assert fake.request_count <= 16  # the in-flight ones at most: no retry storm
    assert not (tmp_path / "o").exists()
    r = synthgen(
        "expand",
        str(SAMPLES / "seeds.txt"),
        "-n",
        "5",
        "--base-url",
        fake.base_url,
        "--model",
        "ghost",
        "-o",
        str(tmp_path / "o2"),
        env={"OPENAI_API_KEY": "sk-right-key-123456"},
    )
    assert r.returncode == 1 and "'ghost' was not found" in r.stderr


def test_dry_run_sends_and_writes_nothing(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    out = tmp_path / "o"
    r = synthgen(
        "expand",
        str(SAMPLES / "seeds.txt"),
        "-n",
        "100",
        "--system",
        SYSTEM,
        "--base-url",
        fake.base_url,
        "--model",
        "gpt-4o-mini",
        "--dry-run",
        "-o",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert (
        "===== request 1 =====" in r.stdout and "Mama" in r.stdout
    ) or "mama" in r.stdout.lower()
    assert "requests ≈" in r.stdout and "cost ≈ $" in r.stdout
    assert fake.request_count == 0 and not out.exists()


def test_other_jobs_folder_needs_force(tmp_path):
    out = tmp_path / "o"
    job = ["expand", str(SAMPLES / "marv.jsonl"), "--model", "demo", "-q"]
    args = [*job, "-o", str(out)]
    assert synthgen(*args, "-n", "5").returncode == 0
    (out / "mine.txt").write_text("precious")
    r = synthgen(*args, "-n", "6")  # another job
    assert r.returncode == 2 and "--force" in r.stderr
    assert synthgen(*args, "-n", "6", "--force").returncode == 0
    assert (out / "mine.txt").read_text() == "precious"  # --force replaces our files only
    # The same job again: served from the folder's own state, no complaint.
    assert synthgen(*args, "-n", "6").returncode == 0
    # A folder synthgen never wrote is refused, and --force is no way in (issue 10 item 1).
    other = tmp_path / "p"
    other.mkdir()
    (other / "mine.txt").write_text("precious")
    for extra in ([], ["--force"]):
        r = synthgen(*job, "-n", "5", "-o", str(other), *extra)
        assert r.returncode == 2 and "--force" not in r.stderr and "-o" in r.stderr
    assert sorted(p.name for p in other.iterdir()) == ["mine.txt"]


def test_templates_command():
    r = synthgen("templates")
    assert r.returncode == 0 and "expand" in r.stdout


def test_cache_info_and_clear(tmp_path):
    env = {"SYNTHGEN_CACHE_DIR": str(tmp_path / "cache")}
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "10",
        "--model",
        "demo",
        "-o",
        str(tmp_path / "o"),
        "-q",
        env=env,
    )
    assert r.returncode == 0, r.stderr
    info = synthgen("cache", "info", env=env)
    assert info.returncode == 0 and str(tmp_path / "cache") in info.stdout
    entries = int(info.stdout.split("entries")[1].split()[0])
    report = json.loads((tmp_path / "o" / "report.json").read_text())
    assert entries == report["requests"]["sent"] >= 2
    cleared = synthgen("cache", "clear", env=env)
    assert cleared.returncode == 0 and f"removed {entries}" in cleared.stdout
    assert "entries  0" in synthgen("cache", "info", env=env).stdout


def test_library_accepts_examples_in_memory(tmp_path):
    from synthgen import Example, expand

    seeds = [
        {
            "messages": [
                {"role": "user", "content": f"Question {i}?"},
                {"role": "assistant", "content": f"Answer {i}."},
            ]
        }
        for i in range(5)
    ] + [Example.from_pairs([("user", "One more?"), ("assistant", "Sure.")])]
    result = expand(seeds, 12, model="demo", out_dir=tmp_path / "o")
    assert len(result.train) + len(result.eval) == 12 and result.complete
    assert result.report["seeds"]["count"] == 6
