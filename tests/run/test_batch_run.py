"""--batch end to end (issue 13.1): a run through FakeTeacher's batch API, killed with
SIGKILL while it polls and run again, submits exactly one batch; failed lines are retried in
a later batch; cost is at batch prices; --dry-run shows both prices."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.cli.summary import estimate_lines
from synthgen.errors import ConfigError
from synthgen.run.expand import dry_run_result, prepare
from synthgen.settings import Settings
from synthgen.teacher.batch_state import BATCH_LOG, BatchLog
from synthgen.teacher.pricing import estimate_cost
from synthgen.testing import Fault
from tests.helpers import SAMPLES, cmd, synthgen

MARV = SAMPLES / "marv.jsonl"


def _wait_for(condition: Callable[[], bool], seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_batch_run_killed_mid_poll_and_run_again_submits_one_batch(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(batch_delay=3600)  # in progress until the test says otherwise
    out = tmp_path / "o"
    args = [
        *("expand", str(MARV), "-n", "20", "--per-request", "2", "--language", "off"),
        *("--model", "gpt-4o-mini", "--base-url", fake.base_url, "-o", str(out)),
        *("--batch", "--batch-poll", "0.05", "-q"),
    ]
    proc = subprocess.Popen(cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(lambda: fake.batches.polls >= 2 or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert fake.batches.batches_created == 1 and proc.returncode == -signal.SIGKILL
    (entry,) = BatchLog(out / ".synthgen" / BATCH_LOG).read()
    assert entry.batch is not None and entry.status is None  # recorded, unfinished

    fake.batches.delay = 0  # the provider finishes the batch meanwhile
    r = synthgen(*args)
    assert r.returncode == 0, r.stderr
    assert fake.batches.batches_created == 1 and fake.request_count == 0
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["complete"] and report["accepted"] == 20
    assert report["run"]["batch"]["submitted"] == 0 and report["run"]["batch"]["resumed"] == 1
    # Waiting for the recorded batch sent nothing new: sent is what the server saw.
    assert report["requests"]["sent"] == fake.batches.lines == len(entry.ids)


def test_failed_lines_are_resubmitted_and_cost_is_at_batch_prices(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher(replies=[Fault("500"), Fault("503")])
    common: dict[str, Any] = dict(
        n=12, per_request=2, language="off", model="gpt-4o-mini", base_url=fake.base_url
    )
    batched = expand(MARV, out_dir=tmp_path / "b", batch=True, batch_poll=0.05, **common)
    assert batched.complete
    batch = batched.report["run"]["batch"]
    assert batch["failed_lines"] == 2 and batch["submitted"] >= 2
    assert batched.report["requests"]["retries"] == 2
    assert fake.request_count == 0  # nothing went through chat completions

    tokens = batched.report["tokens"]
    live = estimate_cost("gpt-4o-mini", tokens["prompt"], tokens["completion"])
    # gpt-4o-mini's batch prices are half its live ones, for prompt and completion alike.
    assert live is not None
    assert batched.report["cost_usd"] == pytest.approx(live / 2, rel=1e-3)


def test_dry_run_shows_the_batch_price_next_to_the_live_price(tmp_path: Path) -> None:
    settings = Settings(n=100, model="gpt-4o-mini", out_dir=tmp_path / "o")
    est = dry_run_result(prepare(SAMPLES / "seeds.txt", settings)).report["estimate"]
    assert est["cost_usd_batch"] == pytest.approx(est["cost_usd_without_caching"] / 2, abs=2e-4)
    assert est["batch_price"] == "listed"
    line = estimate_lines(est)[-1]
    assert line.startswith("batch API (--batch): cost") and "litellm's batch prices" in line


def test_batch_with_the_demo_teacher_is_one_clear_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="needs a provider's batch API"):
        Settings(n=5, model="demo", batch=True, out_dir=tmp_path / "o")
    r = synthgen("expand", str(MARV), "-n", "5", "--model", "demo", "--batch", "-o", str(tmp_path))
    assert r.returncode == 2 and "--batch needs" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / ".synthgen").exists()


def test_batch_turns_the_frontier_off_unless_asked_for(tmp_path: Path) -> None:
    # With the frontier on, a batch round could hold no more than the frontier's lag
    # (32 to 256 requests), and a large job would take thousands of batches in a row.
    def job(**kw: Any) -> Any:
        settings = Settings(n=2000, model="gpt-4o-mini", out_dir=tmp_path / "o", **kw)
        return prepare(SAMPLES / "support.jsonl", settings)

    live, batch, asked = job(), job(batch=True), job(batch=True, frontier=0.3)
    assert live.lag is not None and live.frontier(live.mix[0][0]) > 0
    assert batch.lag is None and batch.frontier(batch.mix[0][0]) == 0
    assert asked.lag is not None and asked.frontier(asked.mix[0][0]) == 0.3
