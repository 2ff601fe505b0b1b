"""The output folder (issue 10 items 1, 2 and 16; issue 9 item 9), through the real CLI:
--force replaces only what a synthgen job wrote and never an input, a second run on a folder
is refused while the first holds its lock, the temp file of a write killed midway is removed
by the next run, and the folder uploads to the Hub without the run's internal files."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthgen.teacher.demo import demo_reply
from synthgen.testing import FakeTeacher
from tests.helpers import SAMPLES, cmd, read_jsonl, synthgen

MakeFake = Callable[..., FakeTeacher]
DATA = ["README.md", "eval.jsonl", "metadata.jsonl", "report.json", "train.jsonl"]
KEY = {"OPENAI_API_KEY": "sk-test-0123456789"}


def demo_job(out: Path, *extra: str, n: int = 6, seeds: Path = SAMPLES / "marv.jsonl") -> list[str]:
    return ["expand", str(seeds), "-n", str(n), "--model", "demo", "-o", str(out), *extra]


def listing(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def refused(r: subprocess.CompletedProcess[str], *words: str) -> None:
    """Exit 2 with one line naming the problem, never suggesting --force."""
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "--force" not in r.stderr and "Traceback" not in r.stderr, r.stderr
    for word in words:
        assert word in r.stderr, (word, r.stderr)


def gated(make_fake_teacher: MakeFake, free: int = 0) -> tuple[FakeTeacher, threading.Event]:
    """A FakeTeacher whose replies after the first ``free`` wait until the event is set."""
    release = threading.Event()

    async def handler(body: dict[str, Any], index: int) -> dict[str, Any]:
        while index >= free and not release.is_set():
            await asyncio.sleep(0.02)
        return demo_reply(body["messages"], ordinal=index)

    return make_fake_teacher(handler=handler), release


def fake_job(fake: FakeTeacher, out: Path, n: int = 40) -> list[str]:
    return [
        "expand", str(SAMPLES / "marv.jsonl"), "-n", str(n), "--per-request", "2",
        "--concurrency", "4", "--base-url", fake.base_url, "--model", "m", "-o", str(out), "-q",
    ]  # fmt: skip


def wait_for(what: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while not what():
        assert proc.poll() is None, "the first run ended early"
        assert time.monotonic() < deadline, "the first run never got that far"
        time.sleep(0.02)


# -- item 1: --force replaces a job's outputs, nothing else ---------------------------------
def test_force_never_replaces_a_seeds_file_inside_out(tmp_path: Path) -> None:
    userdata = tmp_path / "userdata"
    userdata.mkdir()
    seeds = userdata / "train.jsonl"
    shutil.copy(SAMPLES / "marv.jsonl", seeds)
    before = seeds.read_bytes()
    r = synthgen(*demo_job(userdata, "--force", seeds=seeds))
    refused(r, str(seeds), "seeds file")
    assert listing(userdata) == ["train.jsonl"] and seeds.read_bytes() == before
    # A folder synthgen wrote: its train.jsonl is ours, and still never replaced by itself.
    out = tmp_path / "out"
    assert synthgen(*demo_job(out, "-q")).returncode == 0
    ours = (out / "train.jsonl").read_bytes()
    refused(synthgen(*demo_job(out, "--force", seeds=out / "train.jsonl")), "seeds file")
    assert (out / "train.jsonl").read_bytes() == ours


def test_force_never_touches_a_folder_synthgen_did_not_write(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "README.md").write_text("# My project\n", encoding="utf-8")
    (project / "main.py").write_text("print('hi')\n", encoding="utf-8")
    refused(synthgen(*demo_job(project, "--force")), str(project), "-o")
    here = subprocess.run(
        cmd(*demo_job(Path("."), "--force")), cwd=project, capture_output=True, text=True
    )
    refused(here, "current folder")
    assert listing(project) == ["README.md", "main.py"]
    assert (project / "README.md").read_text(encoding="utf-8") == "# My project\n"


def test_root_and_home_are_never_output_folders(tmp_path: Path) -> None:
    # --dry-run: the same checks, and a synthgen that lets "/" through writes nothing there.
    refused(synthgen(*demo_job(Path("/"), "--force", "--dry-run")), "filesystem root")
    home = tmp_path / "home"
    home.mkdir()
    refused(synthgen(*demo_job(home), env={"HOME": str(home)}), "home folder")
    assert listing(home) == []


def test_a_readme_synthgen_did_not_write_is_never_replaced(
    make_fake_teacher: MakeFake, tmp_path: Path
) -> None:
    # Four at once at most: request 0, the first to be journaled, is among the first four.
    fake, release = gated(make_fake_teacher, free=4)
    out = tmp_path / "out"
    proc = subprocess.Popen(cmd(*fake_job(fake, out)), env={**os.environ, **KEY})
    try:
        journal = out / ".synthgen" / "journal.jsonl"
        wait_for(lambda: journal.is_file() and journal.stat().st_size > 0, proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        release.set()
    (out / "README.md").write_text("# Our project\n", encoding="utf-8")  # not synthgen's
    for extra in ([], ["--force"]):
        r = synthgen(*fake_job(fake, out), *extra, env=KEY)
        refused(r, str(out / "README.md"), "not written by synthgen")
    assert (out / "README.md").read_text(encoding="utf-8") == "# Our project\n"
    (out / "README.md").rename(tmp_path / "README.md")
    r = synthgen(*fake_job(fake, out), env=KEY)
    assert r.returncode == 0, r.stderr
    assert "synthgen" in (out / "README.md").read_text(encoding="utf-8")
    assert json.loads((out / ".synthgen" / "job.json").read_text())["files"] == DATA


def test_force_deletes_only_the_files_the_job_wrote(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert synthgen(*demo_job(out, "-q", n=5)).returncode == 0
    marker = out / ".synthgen" / "job.json"
    job = json.loads(marker.read_text(encoding="utf-8"))
    assert job["files"] == DATA  # what the job wrote, recorded
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (tmp_path / "outside.txt").write_text("mine", encoding="utf-8")
    job["files"] += ["notes.txt", "../outside.txt"]  # a hand edit cannot widen --force
    marker.write_text(json.dumps(job), encoding="utf-8")
    r = synthgen(*demo_job(out, "-q", n=6))
    assert r.returncode == 2 and "--force" in r.stderr  # another synthgen job: --force helps
    assert synthgen(*demo_job(out, "-q", "--force", n=6)).returncode == 0
    assert (out / "notes.txt").read_text() == "mine" == (tmp_path / "outside.txt").read_text()
    assert json.loads((out / "report.json").read_text())["settings"]["n"] == 6


def test_a_folder_written_by_an_earlier_version_resumes(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert synthgen(*demo_job(out, "-q")).returncode == 0
    marker = out / ".synthgen" / "job.json"
    old = json.loads(marker.read_text(encoding="utf-8"))
    legacy = {"id": old["id"], "job": old["job"]}  # job.json before the files list
    marker.write_text(json.dumps(legacy), encoding="utf-8")
    for name in ("rejected.jsonl", "failures.jsonl"):  # and these at the top
        (out / ".synthgen" / name).rename(out / name)
    r = synthgen(*demo_job(out, "-q"))
    assert r.returncode == 0, r.stderr
    assert listing(out)[-len(DATA) :] == DATA
    assert not (out / "rejected.jsonl").exists() and (out / ".synthgen/rejected.jsonl").exists()
    assert json.loads(marker.read_text(encoding="utf-8"))["files"] == DATA
    # Without the list, README.md is ours only when it is a synthgen card.
    marker.write_text(json.dumps(legacy), encoding="utf-8")
    (out / "README.md").write_text("# Our project\n", encoding="utf-8")
    refused(synthgen(*demo_job(out, "-q")), "README.md")


# -- item 2: one run at a time --------------------------------------------------------------
def test_a_second_run_is_refused_naming_the_first_runs_pid(
    make_fake_teacher: MakeFake, tmp_path: Path
) -> None:
    fake, release = gated(make_fake_teacher)
    out = tmp_path / "out"
    first = subprocess.Popen(cmd(*fake_job(fake, out)), env={**os.environ, **KEY})
    try:
        wait_for(lambda: fake.request_count >= 1, first)  # it holds the lock by now
        second = synthgen(*fake_job(fake, out), env=KEY, timeout=120)
        assert first.poll() is None  # held at the gate: the second ran beside it
        assert second.returncode == 2, second.stderr
        assert f"pid {first.pid}" in second.stderr and "Traceback" not in second.stderr
        assert (out / ".synthgen" / "lock").read_text().strip() == str(first.pid)
    finally:
        first.send_signal(signal.SIGKILL)  # the OS releases the lock of a dead process
        first.wait()
        release.set()
    third = synthgen(*fake_job(fake, out), env=KEY)
    assert third.returncode == 0, third.stderr
    rows = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(rows) == 40 and len({json.dumps(r) for r in rows}) == 40


# -- item 16: temp files of a killed write ---------------------------------------------------
KILLED_WRITE = """
import os, signal, sys
from synthgen.data.formats import write_jsonl
def rows():
    yield {"messages": []}
    os.kill(os.getpid(), signal.SIGKILL)  # killed in the middle of the write
write_jsonl(sys.argv[1], rows())
"""


def test_temp_files_of_a_write_killed_midway_are_removed_by_the_next_run(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    assert synthgen(*demo_job(out, "-q")).returncode == 0
    for target in (out / "train.jsonl", out / "README.md", out / ".synthgen" / "job.json"):
        killed = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(target)])
        assert killed.returncode == -signal.SIGKILL
    left = [p for p in listing(out) if Path(p).name.startswith(".") and "tmp" in p]
    assert len(left) == 3, left
    r = synthgen(*demo_job(out, "-q"))
    assert r.returncode == 0, r.stderr
    assert [p for p in listing(out) if "tmp" in p] == []


# -- issue 9 item 9: the folder uploads to the Hub as it is ------------------------------------
def documented_upload_command() -> list[str]:
    readme = Path(__file__).resolve().parents[2] / "README.md"
    lines = [x for x in readme.read_text(encoding="utf-8").splitlines() if "hf upload" in x]
    assert lines, "README.md documents the upload command"
    return shlex.split(lines[0].strip().strip("`"))


def test_the_folder_uploads_to_the_hub_without_the_runs_internal_files(
    make_fake_teacher: MakeFake, tmp_path: Path
) -> None:
    hub_paths = pytest.importorskip("huggingface_hub.utils")
    fake = make_fake_teacher(faults={"500": 0.2}, fault_seed=3)
    out = tmp_path / "out"
    r = synthgen(*fake_job(fake, out, n=20), "--retries", "0", env=KEY)
    assert r.returncode == 0, r.stderr
    state = out / ".synthgen"
    assert read_jsonl(state / "failures.jsonl") and (state / "rejected.jsonl").is_file()
    command = documented_upload_command()
    assert command[:2] == ["hf", "upload"] and "--repo-type" in command
    excluded = [command[i + 1] for i, x in enumerate(command) if x == "--exclude"]
    # What upload_folder sends: every file under the folder, less its ignore patterns.
    files = [p.relative_to(out).as_posix() for p in sorted(out.glob("**/*")) if p.is_file()]
    sent = hub_paths.filter_repo_objects(
        files, ignore_patterns=excluded + list(hub_paths.DEFAULT_IGNORE_PATTERNS)
    )
    assert sorted(sent) == DATA
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "rejected.jsonl" not in card and "failures.jsonl" not in card


# -- item 3: a damaged journal or job.json ---------------------------------------------------
def _drop_i(lines: list[bytes]) -> None:
    record = json.loads(lines[3])
    del record["i"]
    lines[3] = json.dumps(record).encode() + b"\n"


def _huge(lines: list[bytes]) -> None:
    record = json.loads(lines[5])
    record["i"] = 10**12
    lines[5] = json.dumps(record).encode() + b"\n"


JOURNAL_DAMAGE: dict[str, tuple[Callable[[list[bytes]], None], str]] = {
    "garbage": (lambda x: x.insert(3, b"#@!{garbage\n"), "line 4 (not JSON)"),
    "blank": (lambda x: x.insert(3, b"\n"), "line 4 (blank)"),
    "missing field": (_drop_i, "line 4 (i: field required)"),
    "wrong type": (lambda x: x.__setitem__(3, b"[1, 2]\n"), "line 4"),
    "not UTF-8": (lambda x: x.insert(3, b"\xff\xfe{}\n"), "line 4"),
    "nested deep": (lambda x: x.insert(3, b"[" * 100_000 + b"\n"), "line 4"),
    "duplicate": (lambda x: x.insert(4, x[3]), "line 5 (request 3 again)"),
    "huge request number": (_huge, "journal.jsonl:6: request number 1000000000000"),
}


def finished_job(tmp_path: Path) -> tuple[list[str], Path]:
    out = tmp_path / "out"
    args = demo_job(out, "--per-request", "2", n=30)
    assert synthgen(*args, "-q").returncode == 0
    return args, out


@pytest.mark.parametrize("damage", list(JOURNAL_DAMAGE))
def test_a_damaged_journal_resumes_or_names_the_line(tmp_path: Path, damage: str) -> None:
    args, out = finished_job(tmp_path)
    journal = out / ".synthgen" / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)[:8]  # resumed: work left to do
    edit, said = JOURNAL_DAMAGE[damage]
    edit(lines)
    journal.write_bytes(b"".join(lines))
    r = synthgen(*args)
    assert "Traceback" not in r.stderr and "unexpected" not in r.stderr, r.stderr
    assert said in r.stderr, r.stderr
    if damage == "huge request number":
        refused(r, str(journal))
        return
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    assert len(rows) == 30 and len({json.dumps(x) for x in rows}) == 30


JOB_JSON_DAMAGE = {
    "garbage": b"{not json",
    "a list": b"[1, 2]",
    "no id": b'{"job": {}}',
    "files not a list": b'{"id": "x", "files": "train.jsonl"}',
    "not UTF-8": b"\xff\xfe",
}


@pytest.mark.parametrize("damage", list(JOB_JSON_DAMAGE))
def test_an_unreadable_job_json_makes_the_folder_not_ours(tmp_path: Path, damage: str) -> None:
    args, out = finished_job(tmp_path)
    marker = out / ".synthgen" / "job.json"
    marker.write_bytes(JOB_JSON_DAMAGE[damage])
    before = {name: (out / name).read_bytes() for name in DATA}
    for extra in ([], ["--force"]):
        refused(synthgen(*args, *extra), str(marker))
    assert {name: (out / name).read_bytes() for name in DATA} == before


def test_in_one_process_a_run_that_ended_hands_its_lock_on(tmp_path: Path) -> None:
    """The library in a notebook: a run that raised keeps the lock until it is dropped, and a
    later run of the same process takes it over; two at once are still refused."""
    from synthgen.errors import OutputInUseError
    from synthgen.run.journal import RunState

    out = tmp_path / "out"
    first, second = RunState(out, {"job": 1}), RunState(out, {"job": 1})
    first.open(resume=False)
    with pytest.raises(OutputInUseError, match=f"this process \\(pid {os.getpid()}\\)"):
        second.open(resume=True)
    first.close()  # ended (an exception on its way out), not released
    second.open(resume=True)
    second.close()
    second.release()
    first.release()  # a no-op now
