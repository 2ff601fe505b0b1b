"""What the transports and the cache now offer, wired into runs (issue 10): damaged or
unwritable caches, the reply size cap, bounded excerpts of rejected replies, credentials in the
base URL, and replies that bring more than was asked."""

from __future__ import annotations

import json
import os
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from synthgen import expand
from synthgen.teacher.cache import CACHE_FILENAME
from tests.helpers import SAMPLES, read_jsonl, synthgen

MARV = SAMPLES / "marv.jsonl"


def _cache_file() -> Path:
    return Path(os.environ["SYNTHGEN_CACHE_DIR"]) / CACHE_FILENAME


def test_a_damaged_cache_row_is_a_miss_not_a_crash(make_fake_teacher: Any, tmp_path: Path) -> None:
    fake = make_fake_teacher()
    kw: dict[str, Any] = dict(model="m", base_url=fake.base_url, language="off")
    assert expand(MARV, 10, out_dir=tmp_path / "a", **kw).complete
    sent = fake.request_count
    with sqlite3.connect(_cache_file()) as db:  # rows of another shape: a text that is a number
        db.execute("""UPDATE responses SET value = '{"text": 5, "finish_reason": "stop"}'""")
    result = expand(MARV, 10, out_dir=tmp_path / "b", **kw)
    assert result.complete and result.report["requests"]["cache_hits"] == 0
    assert fake.request_count >= 2 * sent - 2  # bought again, not crashed on


def test_a_cache_that_cannot_be_written_does_not_stop_the_run(
    make_fake_teacher: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the cache's write lock for the whole run: every reply still
    reaches the journal, one warning says so, and nothing advises deleting paid work."""
    fake = make_fake_teacher()
    kw: dict[str, Any] = dict(model="m", base_url=fake.base_url, language="off")
    expand(MARV, 5, out_dir=tmp_path / "first", **kw)  # creates the cache file
    holder = sqlite3.connect(_cache_file(), isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        result = expand(MARV, 15, out_dir=tmp_path / "o", seed=1, **kw)
    finally:
        holder.close()
    assert result.complete and result.report["accepted"] == 15
    journal = (tmp_path / "o" / ".synthgen" / "journal.jsonl").read_text().splitlines()
    assert sum(json.loads(line).get("src") == "sent" for line in journal) >= 3
    warnings = [r.getMessage() for r in caplog.records if "response cache" in r.getMessage()]
    assert len(warnings) == 1 and "cache clear" not in warnings[0]


def test_replies_over_max_reply_bytes_fail_as_too_large(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    big = {"conversations": [{"messages": [{"role": "user", "content": "x" * 50_000}]}]}
    fake = make_fake_teacher(handler=lambda body, i: big)
    out = tmp_path / "o"
    result = expand(MARV, 5, model="m", base_url=fake.base_url, out_dir=out, max_reply_bytes=10_000)
    assert result.report["stop"]["reason"] == "repeated_failure"
    requests = result.report["requests"]
    # Requests already in flight when the third failure stopped the run fail too: faults are
    # counted as they happen, failures as they are curated.
    assert set(requests["faults"]) == {"too_large"}
    assert requests["faults"]["too_large"] >= requests["failed"] >= 3
    assert "larger than 10,000 bytes" in result.report["stop"]["detail"]


def test_a_rejected_reply_is_kept_as_a_bounded_excerpt(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    """A 200 KB reply that is not JSON: the journal and rejected.jsonl keep 2,000 characters
    of it and its length, not all of it (100 MB replies once made a 4 GB journal)."""
    junk = "not json at all; " * 12_000
    fake = make_fake_teacher(handler=lambda body, i: junk)
    out = tmp_path / "o"
    expand(MARV, 5, model="m", base_url=fake.base_url, out_dir=out, max_requests=2)
    journal = (out / ".synthgen" / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert journal and max(len(line) for line in journal) < 5_000
    rows = read_jsonl(out / ".synthgen" / "rejected.jsonl")
    assert {r["reason"] for r in rows} == {"unparseable"}
    assert all(len(r["text"]) == 2_000 and r["chars"] == len(junk) for r in rows)


def test_credentials_in_the_base_url_are_never_stored(
    make_fake_teacher: Any, tmp_path: Path
) -> None:
    fake = make_fake_teacher()
    port = fake.base_url.split(":")[2].split("/")[0]
    url = f"http://user:s3cretPW@127.0.0.1:{port}/v1?api-key=k3yVALUE&v=2"
    out = tmp_path / "o"
    r = synthgen(
        *("expand", str(MARV), "-n", "5", "--model", "m", "--base-url", url, "-o", str(out)),
        "-q",
    )
    assert r.returncode == 0, r.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {"job.json", "report.json", "README.md"} <= {p.name for p in files}
    for p in files:
        data = p.read_bytes()
        assert b"s3cretPW" not in data and b"k3yVALUE" not in data, p
    report = json.loads((out / "report.json").read_text())
    assert report["settings"]["base_url"] == f"http://127.0.0.1:{port}/v1?api-key=***&v=2"


def test_a_reply_counts_only_what_it_was_asked_for(make_fake_teacher: Any, tmp_path: Path) -> None:
    """One reply of 1,000 conversations (5 asked) once supplied the whole run."""
    from tests.fakes import fresh

    def flood(body: dict[str, Any], index: int) -> dict[str, Any]:
        import random

        rng = random.Random(index)
        return {"conversations": [fresh(rng) for _ in range(40)]}

    fake = make_fake_teacher(handler=flood)
    result = expand(
        MARV, 20, model="m", base_url=fake.base_url, out_dir=tmp_path / "o", language="off"
    )
    assert result.complete
    per_request = Counter(ex.metadata["request"] for ex in result.train + result.eval)
    assert max(per_request.values()) <= 5 and len(per_request) >= 4
    rejected = result.report["rejected"]["by_reason"]
    assert rejected["over_asked"] == 35 * result.report["replies"]
    rows = read_jsonl(tmp_path / "o" / ".synthgen" / "rejected.jsonl")
    assert [r["count"] for r in rows if r["reason"] == "over_asked"] == [35] * len(per_request)
