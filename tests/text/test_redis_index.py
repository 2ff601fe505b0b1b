"""The Redis dedup index: the in-memory index's verdicts, atomic check-and-add across
workers, idempotent adds, and one-line errors when Redis is missing or lost."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthgen.errors import ConfigError, IndexLostError
from synthgen.text.index import DedupIndex, Match
from synthgen.text.redis_index import RedisDedupIndex, open_redis_index
from tests.near_copies import planted_pairs
from tests.redis_kit import SHARED_URL, PrivateRedis, delete_prefix, free_port, unique_prefix


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own on the shared Redis; its keys are deleted after."""
    name = unique_prefix()
    yield name
    delete_prefix(name)


def both(prefix: str, threshold: float = 0.8) -> tuple[DedupIndex, RedisDedupIndex]:
    return DedupIndex(threshold=threshold), open_redis_index(
        SHARED_URL, prefix=prefix, threshold=threshold
    )


# --- the verdicts of the in-memory index --------------------------------------------------


@pytest.mark.parametrize(
    ("lo", "hi", "seed", "edits", "threshold"),
    [
        (0.8, 1.0, 11, 3, 0.8),  # planted near copies
        (0.0, 0.5, 12, 40, 0.8),  # dissimilar pairs
        (0.6, 0.8, 13, 6, 0.8),  # just under the threshold
        (0.6, 0.8, 13, 6, 0.6),  # ... and at a lower one
    ],
)
def test_same_verdicts_as_the_in_memory_index(
    prefix: str, lo: float, hi: float, seed: int, edits: int, threshold: float
) -> None:
    pairs = planted_pairs(200, lo, hi, seed=seed, max_edits=edits)
    memory, shared = both(prefix, threshold)
    for i, (base, _, _) in enumerate(pairs):
        memory.add(f"base:{i}", base, tag="seed" if i % 7 == 0 else "accepted")
        shared.add(f"base:{i}", base, tag="seed" if i % 7 == 0 else "accepted")
    verdicts = [memory.check(variant) for _, variant, _ in pairs]
    assert [shared.check(variant) for _, variant, _ in pairs] == verdicts
    assert len(shared) == len(memory) == len(pairs)
    if lo >= threshold:
        assert sum(v is not None for v in verdicts) / len(pairs) >= 0.98  # the data does probe


def test_check_and_add_in_stream_order_matches(prefix: str) -> None:
    """A stream of bases and their variants, interleaved: the same texts are accepted."""
    pairs = planted_pairs(150, 0.7, 0.95, seed=21, max_edits=5)
    stream = [text for base, variant, _ in pairs for text in (base, variant)]
    memory, shared = both(prefix)
    mine = [memory.check_and_add(str(i), t) for i, t in enumerate(stream)]
    assert [shared.check_and_add(str(i), t) for i, t in enumerate(stream)] == mine
    assert len(shared) == len(memory)


@pytest.mark.parametrize(
    "copy",
    [
        "hello world how are you today my friend",
        "HELLO   WORLD — how are you today; my friend…",
        "ＨＥＬＬＯ ＷＯＲＬＤ how are you today my friend",
    ],
)
def test_exact_duplicates_after_normalisation(prefix: str, copy: str) -> None:
    _, shared = both(prefix)
    shared.add("a", "Hello, World! How are you today, my friend?")
    assert shared.check(copy) == Match("exact_duplicate", "a", "accepted", 1.0)


def test_short_and_unspaced_texts(prefix: str) -> None:
    memory, shared = both(prefix)
    base = (
        "机器学习是人工智能的一个分支它使计算机能够从数据中学习而无需明确编程"
        "深度学习则使用多层神经网络来学习数据的表示在图像和语音识别中效果很好"
    )
    for index in (memory, shared):
        index.add("hi", "Hi there!")
        index.add("ok", "OK")
        index.add("zh", base)
    for probe in ("hi there", "ok.", "hi where", "no", "", base.replace("明确", "明白"), base):
        assert shared.check(probe) == memory.check(probe), probe


# --- keys ------------------------------------------------------------------------------------


def test_adding_a_key_again_is_a_no_op(prefix: str) -> None:
    """A resumed job re-adds what it accepted; a worker that died after its add re-curates
    the same reply: neither is a duplicate of itself."""
    _, shared = both(prefix)
    text = "one two three four five six seven eight nine ten eleven twelve"
    assert shared.check_and_add("1:0", text) is None
    assert shared.check_and_add("1:0", text) is None
    shared.add("1:0", text)
    assert len(shared) == 1 and "1:0" in shared and "1:1" not in shared
    match = shared.check_and_add("1:1", text.upper())
    assert match == Match("exact_duplicate", "1:0", "accepted", 1.0)
    assert "1:1" not in shared and len(shared) == 1
    # The same text under a new key (a restore names keys its own way) adds no entry.
    shared.add("1:r0", text)
    assert "1:r0" in shared and len(shared) == 2
    assert shared.check(text) == Match("exact_duplicate", "1:0", "accepted", 1.0)


def test_a_key_under_another_text_is_pointed_anew(prefix: str) -> None:
    _, shared = both(prefix)
    old = "the quick brown fox jumps over the lazy dog again and again today"
    new = "a completely different sentence about the weather in spring and rain"
    assert shared.check_and_add("7:0", old) is None
    assert shared.check_and_add("7:0", new) is None
    assert len(shared) == 1
    assert shared.check(new) == Match("exact_duplicate", "7:0", "accepted", 1.0)


def test_jobs_sharing_a_prefix_keep_their_own_keys(prefix: str) -> None:
    text = "one two three four five six seven eight nine ten eleven twelve"
    first = open_redis_index(SHARED_URL, prefix=prefix, owner="jobA")
    second = open_redis_index(SHARED_URL, prefix=prefix, owner="jobB")
    assert first.check_and_add("3:0", text) is None
    assert second.check_and_add("3:0", text) == Match(
        "exact_duplicate", "jobA/3:0", "accepted", 1.0
    )
    assert first.check(text) == Match("exact_duplicate", "3:0", "accepted", 1.0)


def test_other_parameters_under_one_prefix_are_refused(prefix: str) -> None:
    open_redis_index(SHARED_URL, prefix=prefix, threshold=0.8)
    with pytest.raises(ConfigError, match=r"made with threshold=0\.8 .*another \?prefix="):
        open_redis_index(SHARED_URL, prefix=prefix, threshold=0.7)
    # The URL's own prefix wins over the job's.
    other = open_redis_index(f"{SHARED_URL}?prefix={prefix}-b", prefix=prefix, threshold=0.7)
    assert other.prefix == f"{prefix}-b"
    other.delete()


# --- workers racing ---------------------------------------------------------------------------


def test_racing_workers_never_both_accept_near_copies(prefix: str) -> None:
    """Two workers, each with its own connection, offer the two texts of each near pair at
    the same moment: exactly one of each pair is accepted."""
    pairs = planted_pairs(60, 0.8, 0.95, seed=31, max_edits=3)
    workers = [open_redis_index(SHARED_URL, prefix=prefix) for _ in range(2)]
    assert workers[0]._client is not workers[1]._client
    start = threading.Barrier(2)
    accepted: list[list[int]] = [[], []]

    def work(w: int) -> None:
        for i, pair in enumerate(pairs):
            features = workers[w].features(pair[0] if w == 0 else pair[1])
            start.wait()  # both sketched: the two scripts reach Redis together
            if workers[w].check_and_add_features(f"w{w}:{i}", features) is None:
                accepted[w].append(i)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(accepted[0] + accepted[1]) == list(range(len(pairs)))
    assert len(workers[0]) == len(pairs)


# --- Redis missing or lost --------------------------------------------------------------------


def test_redis_down_at_start_is_a_config_error_naming_the_url() -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{free_port()}/0"
    with pytest.raises(ConfigError) as caught:
        open_redis_index(url, prefix="never", name="--dedup-index")
    message = str(caught.value)
    assert message.startswith(f"--dedup-index redis://127.0.0.1:{url.rsplit(':', 1)[1]}")
    assert "cannot use Redis there" in message and "\n" not in message
    assert "s3cret" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:6379/0", "must be a redis://"),
        ("127.0.0.1:6379", "must be a redis://"),
        (f"{SHARED_URL}?prefix=a{{b}}", "without braces"),
        (f"{SHARED_URL}?buckets=many", "buckets must be a whole number"),
    ],
)
def test_bad_urls_are_config_errors(url: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        open_redis_index(url, prefix="never")


def test_redis_lost_mid_run_is_an_index_lost_error(tmp_path: Path) -> None:
    server = PrivateRedis(tmp_path).start()
    try:
        index = open_redis_index(server.url, prefix="lost")
        assert index.check_and_add("1:0", "some text that is long enough to shingle") is None
        server.kill()
        with pytest.raises(IndexLostError) as caught:
            index.check("another text entirely, about nothing much at all")
    finally:
        server.kill()
    message = str(caught.value)
    assert message.startswith(f"dedup index {server.url} lost (")
    assert "run the same command again" in message and "\n" not in message


def test_import_is_cheap() -> None:
    code = (
        "import sys, synthgen.text.redis_index;"
        "print(sorted(m for m in ('redis', 'numpy', 'datasketch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
