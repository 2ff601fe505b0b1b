"""The live view of `synthgen expand`: what it says, on a terminal and off one."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
from collections import Counter

import pytest

from synthgen.run.stats import RunStats
from synthgen.testing import Fault
from tests.helpers import SAMPLES, cmd, synthgen

PROGRESS = re.compile(r"^synthgen: accepted (\d+)/(\d+) · ", re.MULTILINE)


def _expand(fake_url: str, out: str, *extra: str) -> list[str]:
    return [
        "expand",
        str(SAMPLES / "marv.jsonl"),
        "--base-url",
        fake_url,
        "--model",
        "m",
        "-o",
        out,
        *extra,
    ]


# -- the figures, from counts -------------------------------------------------------------


def test_rate_has_its_unit():
    from synthgen.cli.live import rate_text

    assert rate_text(2.5) == "2.5 examples/s"
    assert rate_text(0.5) == "30.0 examples/min"


def test_figures_of_a_run_say_cost_tokens_retries_and_a_cut_concurrency():
    from synthgen.cli.live import figures

    stats = RunStats(started=0.0, resumed_at=0.0)
    stats.accepted, stats.requests, stats.cost_usd = 50, 12, 0.01
    stats.prompt_tokens, stats.completion_tokens = 6_000, 4_000
    stats.live_retries, stats.live_faults = 3, Counter({"rate_limit": 5})
    stats.concurrency, stats.concurrency_max = 8, 16
    f = figures(stats, n=200, tpm=20_000, since=0.0, now=60.0)
    text = " · ".join(f.head + f.detail)
    assert f.accepted == 50
    assert "50.0 examples/min" in text and "elapsed 1m00s" in text and "ETA 3m00s" in text
    assert "retries 3" in text and "429s 5" in text
    assert "rate limited: concurrency 16→8" in text
    assert "$0.0100 (≈ $0.0400 for 200)" in text
    assert "10,000 tokens/min of 20,000" in text


def test_after_a_resume_rate_and_eta_count_this_run_only():
    from synthgen.cli.live import figures

    # 400 examples came from the journal; this run made 10 in its first 10 seconds.
    stats = RunStats(started=0.0, resumed_at=0.0)
    stats.accepted, stats.requests = 400, 80
    stats.resume(80)
    stats.resumed_at = 100.0
    stats.accepted, stats.requests = 410, 82
    stats.concurrency = stats.concurrency_max = 16
    f = figures(stats, n=500, tpm=None, since=100.0, now=110.0)
    text = " · ".join(f.head + f.detail)
    assert "1.0 examples/s" in text and "ETA 1m30s" in text, text
    assert "400 resumed" in text and "requests 2" in text
    assert "concurrency 16" in text and "rate limited" not in text


# -- off a terminal: a plain line every few seconds ---------------------------------------


def test_plain_progress_lines_when_stderr_is_not_a_terminal(make_fake_teacher, tmp_path):
    # Replies take 0.1 s each, four at a time: the run lasts well over the 0.2 s interval.
    fake = make_fake_teacher(latency=0.1, per_reply=2)
    args = _expand(fake.base_url, str(tmp_path / "o"), "-n", "40", "--concurrency", "4")
    r = synthgen(*args, env={"OPENAI_API_KEY": "sk-test", "SYNTHGEN_PROGRESS_EVERY": "0.2"})
    assert r.returncode == 0, r.stderr
    lines = PROGRESS.findall(r.stderr)
    assert len(lines) >= 2, r.stderr  # at least one while running, and one at the end
    assert lines[-1] == ("40", "40")
    last = [x for x in r.stderr.splitlines() if x.startswith("synthgen: accepted 40/40")][-1]
    assert "examples/" in last and "elapsed" in last and "concurrency 4" in last
    quiet = synthgen(*args, "-q", "--force", env={"OPENAI_API_KEY": "sk-test"})
    assert quiet.returncode == 0 and not PROGRESS.search(quiet.stderr), quiet.stderr


def test_a_halved_concurrency_says_why(make_fake_teacher, tmp_path):
    # Every request first gets a 429 (Retry-After 0): the limit is halved and must say so.
    replies = [Fault("429", retry_after=0.0)] * 6
    fake = make_fake_teacher(replies=replies, latency=0.05)
    args = _expand(fake.base_url, str(tmp_path / "o"), "-n", "30", "--concurrency", "8")
    r = synthgen(*args, env={"OPENAI_API_KEY": "sk-test", "SYNTHGEN_PROGRESS_EVERY": "0.2"})
    assert r.returncode == 0, r.stderr
    last = [x for x in r.stderr.splitlines() if PROGRESS.match(x)][-1]
    assert "429s 6" in last and "retries 6" in last, last
    assert re.search(r"rate limited: concurrency 8→[1-7]\b", r.stderr), r.stderr


# -- on a terminal: the bar -----------------------------------------------------------------


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run the CLI with stderr on a pseudo-terminal; its exit code and everything drawn."""
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        cmd(*args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", "TERM": "xterm", **env},
    )
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            data = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_the_bar_on_a_terminal_shows_rate_elapsed_and_concurrency(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(latency=0.05, per_reply=2)
    args = _expand(fake.base_url, str(tmp_path / "o"), "-n", "20", "--concurrency", "4")
    code, drawn = _run_on_a_terminal(args, {"OPENAI_API_KEY": "sk-test"})
    assert code == 0, drawn
    assert "accepted 20/20" in drawn and "examples/" in drawn and "elapsed" in drawn, drawn
    assert "concurrency 4" in drawn and "retries 0" in drawn
    assert not PROGRESS.search(drawn)  # the bar, not the plain lines
