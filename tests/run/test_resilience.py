"""Never lose paid work: kill -9 and resume, cache re-runs, faults, budgets, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from itertools import combinations
from pathlib import Path

from tests.helpers import SAMPLES, cmd, jaccard, read_jsonl, synthgen


def texts(out: Path) -> list[str]:
    return [
        "\n".join(m["content"] for m in x["messages"] if m["role"] != "system")
        for x in read_jsonl(out / "train.jsonl") + read_jsonl(out / "eval.jsonl")
    ]


def journal_lines(out: Path) -> int:
    path = out / ".synthgen" / "journal.jsonl"
    return path.read_bytes().count(b"\n") if path.exists() else 0


def test_kill_9_and_resume(make_fake_teacher, tmp_path, monkeypatch):
    n = 400
    args = [
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        str(n),
        "--per-request",
        "2",
        "--concurrency",
        "8",
        "-q",
    ]
    # Uninterrupted, with a cache of its own, for the baseline request count.
    base = make_fake_teacher(latency=0.05)
    r = synthgen(
        *args,
        "--base-url",
        base.base_url,
        "--model",
        "m",
        "-o",
        str(tmp_path / "base"),
        env={"SYNTHGEN_CACHE_DIR": str(tmp_path / "cache-base")},
    )
    assert r.returncode == 0, r.stderr
    baseline = base.request_count

    fake = make_fake_teacher(latency=0.05)
    out = tmp_path / "out"
    full = [*args, "--base-url", fake.base_url, "--model", "m", "-o", str(out)]
    proc = subprocess.Popen(cmd(*full), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while journal_lines(out) < 60 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    done_before = journal_lines(out)
    assert 0 < done_before < baseline
    assert not (out / "train.jsonl").exists()  # never half-written: not written at all yet

    r = synthgen(*full)
    assert r.returncode == 0, r.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["run"]["resumed_from_request"] >= 60
    all_texts = texts(out)
    assert len(all_texts) == n
    assert len(set(all_texts)) == n
    assert max(jaccard(a, b) for a, b in combinations(all_texts[:150], 2)) < 0.8
    print(f"requests: uninterrupted {baseline}, killed+resumed {fake.request_count}")
    assert fake.request_count <= 1.15 * baseline, (fake.request_count, baseline)


def test_rerun_is_served_from_cache_byte_identical(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    args = [
        "expand",
        str(SAMPLES / "support.jsonl"),
        "-n",
        "45",
        "--balance-by",
        "category",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-q",
    ]
    assert synthgen(*args, "-o", str(tmp_path / "a")).returncode == 0
    sent = fake.request_count
    r = synthgen(*args, "-o", str(tmp_path / "b"))
    assert r.returncode == 0, r.stderr
    assert fake.request_count == sent  # zero teacher calls
    for f in ("train.jsonl", "eval.jsonl", ".synthgen/rejected.jsonl"):
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["requests"]["sent"] == 0 and report["requests"]["cache_hits"] >= 9
    # A different system prompt is a different request: new calls.
    assert synthgen(*args, "--system", "Be brief.", "-o", str(tmp_path / "c")).returncode == 0
    assert fake.request_count > sent
    # --no-cache neither reads nor writes.
    before = fake.request_count
    assert synthgen(*args, "--no-cache", "-o", str(tmp_path / "d")).returncode == 0
    assert fake.request_count > before


def test_survives_flaky_teacher(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(
        faults={"429": 0.05, "500": 0.05, "hang": 0.03, "drop": 0.02}, fault_seed=7
    )
    out = tmp_path / "o"
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "80",
        "--per-request",
        "2",
        "--timeout",
        "1",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-o",
        str(out),
        "-q",
        "--json",
    )
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["accepted"] == 80 and len(texts(out)) == 80
    faults = report["requests"]["faults"]
    assert faults.get("rate_limit", 0) >= 1 and faults.get("server", 0) >= 1
    assert faults.get("timeout", 0) + faults.get("connection", 0) >= 1
    assert report["requests"]["retries"] >= sum(faults.values()) - report["requests"]["failed"]


def test_final_failures_are_recorded(make_fake_teacher, tmp_path):
    from synthgen.testing import Fault

    fake = make_fake_teacher(handler=lambda b, i: Fault("500") if i < 6 else {"conversations": []})
    out = tmp_path / "o"
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "3",
        "--retries",
        "1",
        "--concurrency",
        "1",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-o",
        str(out),
        "-q",
        "--json",
    )
    report = json.loads(r.stdout)
    failures = read_jsonl(out / ".synthgen" / "failures.jsonl")
    assert report["requests"]["failed"] == len(failures) >= 1
    assert failures[0]["kind"] == "server" and failures[0]["status"] == 500


def test_ctrl_c_saves_state_and_resumes(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(latency=0.05)
    out = tmp_path / "o"
    full = [
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "300",
        "--per-request",
        "2",
        "--concurrency",
        "4",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-o",
        str(out),
    ]
    proc = subprocess.Popen(cmd(*full), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while journal_lines(out) < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "run the same command again to resume" in err and "Traceback" not in err
    kept = journal_lines(out)
    assert kept >= 10
    r = synthgen(*full, "-q")
    assert r.returncode == 0, r.stderr
    assert len(texts(out)) == 300


def test_cost_budget(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "500",
        "--max-cost",
        "0.0002",
        "--concurrency",
        "2",
        "--base-url",
        fake.base_url,
        "--model",
        "gpt-4o-mini",
        "-o",
        str(tmp_path / "o"),
        "-q",
        "--json",
    )
    assert r.returncode == 1
    report = json.loads(r.stdout)
    assert report["stop"]["reason"] == "max_cost" and 0.0002 <= report["cost_usd"] < 0.01
    assert (tmp_path / "o" / "train.jsonl").exists()


def test_api_key_never_written_or_printed(make_fake_teacher, tmp_path):
    secret = "sk-planted-SECRET-0123456789abcdef"
    fake = make_fake_teacher(faults={"429": 0.1, "500": 0.1})
    out = tmp_path / "o"
    cache_dir = Path(os.environ["SYNTHGEN_CACHE_DIR"])
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "20",
        "--base-url",
        fake.base_url,
        "--model",
        "m",
        "-o",
        str(out),
        "-v",
        "--json",
        env={"OPENAI_API_KEY": secret},
    )
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    files = [p for p in [*out.rglob("*"), *cache_dir.rglob("*")] if p.is_file()]
    assert len(files) >= 6
    for p in files:
        assert secret.encode() not in p.read_bytes(), p
    # And a failure message about the key does not show it either.
    bad = make_fake_teacher(require_key="sk-other-key-0000000000")
    r = synthgen(
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "-n",
        "5",
        "--base-url",
        bad.base_url,
        "--model",
        "m",
        "-o",
        str(tmp_path / "o2"),
        "-v",
        env={"OPENAI_API_KEY": secret},
    )
    assert r.returncode == 1 and secret not in r.stdout + r.stderr
