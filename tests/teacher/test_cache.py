from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import synthgen.teacher.cache as cache_mod
from synthgen.errors import ConfigError
from synthgen.teacher.cache import (
    CacheInfo,
    ResponseCache,
    cache_key,
    default_cache_dir,
    delete_cache,
)


def _parts(**over: Any) -> dict[str, Any]:
    parts: dict[str, Any] = {
        "endpoint": "http://127.0.0.1:8000/v1",
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You write support tickets."},
            {"role": "user", "content": "Write one about a lost parcel."},
        ],
        "params": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 512},
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "Reply", "schema": {"type": "object", "properties": {}}},
        },
        "ordinal": 3,
        "seed": 42,
    }
    parts.update(over)
    return parts


COMPLETION = {
    "text": '{"answer": "Grüße aus Köln ☃ — 日本語テキスト"}',
    "finish_reason": "stop",
    "usage": {"prompt_tokens": 120, "completion_tokens": 34},
}


@pytest.fixture
def cache(tmp_path: Path) -> Any:
    with ResponseCache(tmp_path / "c.sqlite") as c:
        yield c


# --- cache_key -------------------------------------------------------------------------------


def test_key_is_deterministic_sha256_hex() -> None:
    k = cache_key(_parts())
    assert k == cache_key(_parts())
    assert len(k) == 64 and all(ch in "0123456789abcdef" for ch in k)


def test_key_ignores_dict_order() -> None:
    parts = _parts()
    reordered = {k: parts[k] for k in reversed(list(parts))}
    reordered["params"] = {"max_tokens": 512, "top_p": 1.0, "temperature": 0.7}
    assert cache_key(reordered) == cache_key(parts)


@pytest.mark.parametrize(
    "change",
    [
        {
            "messages": [
                {"role": "system", "content": "You write angry support tickets."},
                {"role": "user", "content": "Write one about a lost parcel."},
            ]
        },
        {"messages": [{"role": "user", "content": "Write one about a lost parcel."}]},
        {"params": {"temperature": 0.8, "top_p": 1.0, "max_tokens": 512}},
        {"params": {"temperature": 0.7, "top_p": 1.0, "max_tokens": 513}},
        {"ordinal": 4},
        {"seed": 43},
        {"model": "gpt-4o"},
        {"endpoint": "https://api.openai.com/v1"},
        {"response_format": None},
    ],
)
def test_key_changes_with_every_part(change: dict[str, Any]) -> None:
    assert cache_key(_parts(**change)) != cache_key(_parts())


def test_key_non_ascii_is_hashed_as_utf8() -> None:
    import hashlib

    parts = {"m": "日本"}
    expected = hashlib.sha256('{"m":"日本"}'.encode()).hexdigest()
    assert cache_key(parts) == expected


@pytest.mark.parametrize(
    "parts",
    [
        {"model": "m", "api_key": "sk-123"},
        {"model": "m", "params": {"extra_headers": {"X-Trace": "1"}}},
        {"model": "m", "client": {"Authorization": "Bearer sk-123"}},
        {"model": "m", "headers": {}},
        {"model": "m", "messages": [{"role": "user", "content": "hi", "X-Api-Key": "k"}]},
        {"model": "m", "opts": [{"nested": {"openai_api_key": "k"}}]},
    ],
)
def test_key_refuses_secret_looking_fields(parts: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="refusing"):
        cache_key(parts)


def test_reply_schema_may_have_a_headers_field() -> None:
    # A JSON-schema property name is data (the reply's field), not a request header.
    schema = {"type": "object", "properties": {"headers": {"type": "string"}}}
    key = cache_key(_parts(response_format={"type": "json_schema", "schema": schema}))
    assert len(key) == 64
    # ...but the exemption does not hide a real secret nested deeper.
    bad = {"type": "object", "properties": {"x": {"api_key": "sk-1"}}}
    with pytest.raises(ValueError):
        cache_key(_parts(response_format=bad))


def test_key_accepts_pydantic_models() -> None:
    from pydantic import BaseModel

    class Msg(BaseModel):
        role: str
        content: str

    as_model = {"messages": [Msg(role="user", content="hi")]}
    as_dict = {"messages": [{"role": "user", "content": "hi"}]}
    assert cache_key(as_model) == cache_key(as_dict)


def test_key_rejects_unserialisable_and_nan() -> None:
    with pytest.raises(TypeError):
        cache_key({"x": {1, 2}})
    with pytest.raises(ValueError):
        cache_key({"temperature": float("nan")})


# --- ResponseCache ---------------------------------------------------------------------------


def test_put_get_round_trip_non_ascii(cache: ResponseCache) -> None:
    key = cache_key(_parts())
    assert cache.get(key) is None
    cache.put(key, COMPLETION)
    assert cache.get(key) == COMPLETION
    assert cache.session_hits == 1 and cache.session_misses == 1


def test_put_replaces(cache: ResponseCache) -> None:
    cache.put("k", {"text": "a"})
    cache.put("k", {"text": "b"})
    assert cache.get("k") == {"text": "b"}
    assert cache.info().entries == 1


def test_put_refuses_secrets_in_value(cache: ResponseCache) -> None:
    with pytest.raises(ValueError):
        cache.put("k", {"text": "x", "headers": {"authorization": "Bearer sk"}})
    assert cache.get("k") is None


def test_persists_across_instances_and_counts_hits(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    with ResponseCache(path) as c:
        c.put("a", COMPLETION)
        c.put("b", {"text": "b"})
        for _ in range(3):
            assert c.get("a") == COMPLETION
        assert c.get("nope") is None
    with ResponseCache(path) as c:
        assert c.get("a") == COMPLETION
        info = c.info()
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert info.size_bytes == sum(f.stat().st_size for f in files if f.exists())
        assert info.size_bytes > path.stat().st_size > 0  # the -wal file counts too
    assert isinstance(info, CacheInfo)
    assert info.path == path
    assert info.entries == 2
    assert info.hits == 4  # 3 in the first instance, 1 in the second; misses are not hits
    assert info.created is not None and info.last_used is not None
    assert info.last_used >= info.created
    with sqlite3.connect(path) as raw:
        per_key = dict(raw.execute("SELECT key, hits FROM responses").fetchall())
    assert per_key == {"a": 4, "b": 0}


def test_hits_are_flushed_in_batches_without_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "FLUSH_EVERY", 5)
    path = tmp_path / "c.sqlite"
    c = ResponseCache(path)
    c.put("a", COMPLETION)

    def stored_hits() -> int:
        with sqlite3.connect(path) as raw:
            return int(raw.execute("SELECT value FROM meta WHERE name='hits'").fetchone()[0])

    for _ in range(4):
        c.get("a")
    assert stored_hits() == 0  # still in memory
    c.get("a")
    assert stored_hits() == 5
    c.get("a")
    assert c.info().hits == 6
    c.close()


def test_two_instances_share_one_file(tmp_path: Path) -> None:
    with ResponseCache(tmp_path) as one, ResponseCache(tmp_path) as two:
        one.put("k", COMPLETION)
        assert two.get("k") == COMPLETION
        assert one.path == two.path == tmp_path / "responses.sqlite"


def test_clear(cache: ResponseCache) -> None:
    for i in range(10):
        cache.put(f"k{i}", {"text": "x" * 5000})
    cache.get("k1")
    before = cache.info()
    assert before.entries == 10 and before.hits == 1
    assert cache.clear() == 10
    after = cache.info()
    assert after.entries == 0 and after.hits == 0
    assert after.size_bytes < before.size_bytes
    assert cache.get("k1") is None
    assert cache.clear() == 0


def test_wal_mode_is_on(cache: ResponseCache) -> None:
    cache.put("k", COMPLETION)
    with sqlite3.connect(cache.path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == cache_mod.SCHEMA_VERSION


def test_closed_cache_refuses_use(tmp_path: Path) -> None:
    c = ResponseCache(tmp_path)
    c.close()
    c.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        c.get("k")
    with pytest.raises(ValueError, match="closed"):
        c.put("k", {})


# --- location --------------------------------------------------------------------------------


def test_env_dir_is_honoured_and_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "does" / "not" / "exist"
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", str(target))
    assert default_cache_dir() == target
    with ResponseCache() as c:
        assert c.path == target / "responses.sqlite"
        c.put("k", COMPLETION)
    assert (target / "responses.sqlite").is_file()


def test_default_dir_is_platform_user_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    import platformdirs

    monkeypatch.delenv("SYNTHGEN_CACHE_DIR", raising=False)
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("synthgen"))
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", "  ")  # blank counts as unset
    assert default_cache_dir() == Path(platformdirs.user_cache_dir("synthgen"))


def test_unwritable_location_is_config_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="cannot create cache folder"):
        ResponseCache(blocker / "sub" / "c.sqlite")


# --- durability ------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_entries_survive_kill_9(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import os, signal, sys
        from synthgen.teacher.cache import ResponseCache
        c = ResponseCache(sys.argv[1])
        for i in range(100):
            c.put(f"k{i}", {"text": "réponse %d" % i, "finish_reason": "stop"})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path)], timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert (tmp_path / "responses.sqlite-wal").exists()  # nothing was checkpointed on close
    with ResponseCache(tmp_path) as c:
        assert c.info().entries == 100
        for i in range(100):
            assert c.get(f"k{i}") == {"text": f"réponse {i}", "finish_reason": "stop"}


# --- bad files -------------------------------------------------------------------------------


def test_corrupt_file_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "responses.sqlite"
    path.write_bytes(b"this is not a database\x00" * 500)
    with pytest.raises(ConfigError) as err:
        ResponseCache(tmp_path)
    msg = str(err.value)
    assert str(path) in msg
    assert "synthgen cache clear" in msg and "SYNTHGEN_CACHE_DIR" in msg
    assert "\n" not in msg
    # delete_cache removes it without opening it; then the cache works again.
    assert delete_cache(tmp_path) is True
    assert delete_cache(tmp_path) is False
    with ResponseCache(tmp_path) as c:
        c.put("k", COMPLETION)
        assert c.get("k") == COMPLETION


def test_foreign_sqlite_file_is_config_error_and_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE responses (id INTEGER, body TEXT)")
    with pytest.raises(ConfigError, match=r"other\.sqlite"):
        ResponseCache(path)
    with sqlite3.connect(path) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"responses"}
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 0


def test_newer_schema_is_config_error(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    ResponseCache(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute("PRAGMA user_version = 99")
    with pytest.raises(ConfigError, match="newer synthgen"):
        ResponseCache(path)


def test_damaged_row_is_a_miss(cache: ResponseCache) -> None:
    cache.put("k", COMPLETION)
    with sqlite3.connect(cache.path) as raw:
        raw.execute("UPDATE responses SET value = '{not json' WHERE key = 'k'")
    assert cache.get("k") is None
    cache.put("k", COMPLETION)
    assert cache.get("k") == COMPLETION


def test_import_is_cheap() -> None:
    code = "import sys, synthgen.teacher.cache; print('platformdirs' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
