"""The response cache kept private, never crashing a run over a bad row or an unwritable disk
(issue 10.4, 10.7, 10.11)."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from synthgen.teacher.base import Completion
from synthgen.teacher.cache import ResponseCache

GOOD = {"text": "hello", "finish_reason": "stop", "prompt_tokens": 3, "completion_tokens": 1}


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_cache_folder_is_0700_and_files_0600(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, which would give 0755 and 0644
    try:
        folder = tmp_path / "fresh" / "cache"
        with ResponseCache(folder / "responses.sqlite") as cache:
            cache.put("k", GOOD)
            files = [folder / n for n in ("responses.sqlite", "responses.sqlite-wal")]
            assert mode(folder) == 0o700
            assert [mode(f) for f in files] == [0o600, 0o600]
        # A cache left world-readable by an older synthgen is closed up when opened.
        (folder / "responses.sqlite").chmod(0o644)
        ResponseCache(folder).close()
        assert mode(folder / "responses.sqlite") == 0o600
    finally:
        os.umask(old)


@pytest.mark.parametrize(
    "stored",
    [
        42,  # SQLite keeps whatever type it is given
        b"\xff\xfe not utf-8",
        "[" * 100_000 + "]" * 100_000,  # too deep for the json module
        '"just a string"',
    ],
)
def test_rows_of_the_wrong_type_are_a_miss(tmp_path: Path, stored: Any) -> None:
    with ResponseCache(tmp_path) as cache:
        cache.put("k", GOOD)
        with sqlite3.connect(cache.path) as raw:
            raw.execute("UPDATE responses SET value = ? WHERE key = 'k'", (stored,))
        assert cache.get("k") is None
        assert cache.get_completion("k") is None


@pytest.mark.parametrize(
    "row",
    [
        {"text": 5, "finish_reason": "stop"},
        {"text": "x", "finish_reason": ["stop"]},
        {"text": "x", "finish_reason": "stop", "prompt_tokens": "many"},
        {"text": "x", "finish_reason": "stop", "completion_tokens": -3},
        {"finish_reason": "stop"},
    ],
)
def test_completions_of_the_wrong_shape_are_a_miss(tmp_path: Path, row: dict[str, Any]) -> None:
    with ResponseCache(tmp_path) as cache:
        cache.put("k", row)
        assert cache.get_completion("k") is None
        assert (cache.session_hits, cache.session_misses) == (0, 1)
        with pytest.raises(ValueError, match="not a stored completion"):
            Completion.from_dict(row)
        cache.put("k", GOOD)
        assert cache.get_completion("k") == Completion("hello", "stop", 3, 1)


def test_lone_surrogates_are_replaced_when_caching(tmp_path: Path) -> None:
    with ResponseCache(tmp_path) as cache:
        assert cache.put("k", {**GOOD, "text": "half an emoji \ud83d here"}) is True
        got = cache.get_completion("k")
        assert got is not None and got.text == "half an emoji \ufffd here"


def test_a_locked_cache_does_not_stop_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with ResponseCache(tmp_path, busy_timeout=0.2) as cache:
        cache.put("before", GOOD)
        other = sqlite3.connect(cache.path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with caplog.at_level(logging.WARNING, logger="synthgen"):
                assert cache.put("k1", GOOD) is False
                assert cache.put("k2", GOOD) is False  # no second wait, no second warning
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert cache.write_error is not None and "locked" in cache.write_error
        warnings = [r for r in caplog.records if "cannot write to the response cache" in r.message]
        assert len(warnings) == 1
        assert "cache clear" not in caplog.text  # never advise deleting paid replies
        assert cache.get_completion("before") == Completion("hello", "stop", 3, 1)


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_full_disk_does_not_stop_the_run(tmp_path: Path) -> None:
    # A real write failure: the process may not grow any file past 256 KiB.
    script = textwrap.dedent(
        """
        import logging, resource, signal, sys
        from synthgen.teacher.cache import ResponseCache
        logging.basicConfig()
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        cache = ResponseCache(sys.argv[1])
        resource.setrlimit(resource.RLIMIT_FSIZE, (256 * 1024, 256 * 1024))
        results = [cache.put(f"k{i}", {"text": "x" * 20_000}) for i in range(40)]
        assert results[0] is True, results
        assert results[-1] is False, results
        assert cache.get("k0") == {"text": "x" * 20_000}
        print("stored", results.count(True), "error:", cache.write_error)
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "error:" in proc.stdout and "cannot write to the response cache" in proc.stderr
