"""A bad output folder or a full disk gives one line naming the file, and nothing half-written."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.helpers import SAMPLES, cmd, synthgen

_DEMO = ("--model", "demo", "--no-cache")


def _one_line_naming(stderr: str, name: str) -> None:
    errors = [line for line in stderr.splitlines() if "error:" in line]
    assert len(errors) == 1, stderr
    assert name in errors[0], stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr


def test_a_dangling_symlink_out_is_refused_naming_it(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "nonexistent")
    r = synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", "5", "-o", str(out), "--model", "demo"
    )
    assert r.returncode == 2, r.stderr
    _one_line_naming(r.stderr, str(out))
    assert not (tmp_path / "nonexistent").exists()


def test_an_out_under_a_regular_file_is_refused_naming_it(tmp_path: Path) -> None:
    parent = tmp_path / "somefile"
    parent.write_text("not a folder\n", encoding="utf-8")
    out = parent / "out"
    r = synthgen(
        "expand", str(SAMPLES / "marv.jsonl"), "-n", "5", "-o", str(out), "--model", "demo"
    )
    assert r.returncode == 2, r.stderr
    _one_line_naming(r.stderr, str(out))
    assert parent.read_text(encoding="utf-8") == "not a folder\n"


def _small_files(limit: int) -> Callable[[], None]:
    def limit_file_size() -> None:  # in the child: writes past `limit` bytes fail with EFBIG
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return limit_file_size


def _without_coverage() -> dict[str, str]:
    """The child's environment without coverage's subprocess hook: under the file-size
    limit, coverage's own data file cannot be saved and it would print a traceback."""
    return {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}


def test_a_full_disk_during_the_run_names_the_journal(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = subprocess.run(
        cmd("expand", str(SAMPLES / "marv.jsonl"), *_DEMO, "-n", "40", "-o", str(out)),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_small_files(2000),
        env=_without_coverage(),
    )
    assert r.returncode == 1, r.stderr
    _one_line_naming(r.stderr, "journal.jsonl")
    assert not (out / "train.jsonl").exists() and not (out / "report.json").exists()
    assert not [p for p in out.rglob("*") if ".tmp" in p.name]


def test_a_full_disk_while_writing_an_output_names_it_and_leaves_no_part(tmp_path: Path) -> None:
    """The end-of-run writers: the target keeps its old content and no temp file is left."""
    target = tmp_path / "train.jsonl"
    target.write_text('{"old": 1}\n', encoding="utf-8")
    script = (
        "import sys\n"
        "from synthgen.data.formats import write_jsonl\n"
        "from synthgen.errors import WriteError\n"
        "try:\n"
        "    write_jsonl(sys.argv[1], ({'text': 'x' * 1000} for _ in range(100)))\n"
        "except WriteError as e:\n"
        "    print(e)\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", script, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_small_files(20_000),
        env=_without_coverage(),
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{target}: cannot be written ("), r.stdout
    assert target.read_text(encoding="utf-8") == '{"old": 1}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]
