"""The Redis dedup index against the in-memory one: checks/s, latency per candidate, and
Redis memory per 100,000 entries.

    python benchmarks/bench_redis_index.py [--n 20000] [--memory-n 100000] [--url URL]

The stream of ``bench_dedup.py`` (60-word texts, 5% planted near copies, 5% loose copies) is
fed one text at a time to ``check_and_add`` of ``DedupIndex`` and of ``RedisDedupIndex``
(one Lua script per call), each call timed: sketching in Python plus, for Redis, the round
trip. The verdicts of the two are compared. Memory: ``used_memory`` from INFO before and
after adding ``--memory-n`` texts (pipelined), per 100,000 entries, and the encodings of the
bucket hashes. Without ``--url``, a private ``redis-server`` on a free port (no persistence)
is started, so that nothing else moves its memory; figures only, nothing is asserted.
"""

from __future__ import annotations

import argparse
import collections
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from bench_dedup import make_stream
from synthgen.text.index import DedupIndex, Match
from synthgen.text.redis_index import RedisDedupIndex, open_redis_index


@contextmanager
def private_redis() -> Iterator[str]:
    import redis

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as folder:
        args = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        proc = subprocess.Popen(
            ["redis-server", *args, "--dir", folder],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"redis://127.0.0.1:{port}/0"
        try:
            for _ in range(500):
                try:
                    redis.Redis.from_url(url).ping()
                    break
                except redis.ConnectionError:
                    time.sleep(0.01)
            yield url
        finally:
            proc.kill()
            proc.wait()


def timed_stream(
    call: Callable[[str, str], Match | None], items: list[Any]
) -> tuple[float, list[float], list[Match | None]]:
    """(checks/s, latency of each call in seconds, verdicts)."""
    latencies: list[float] = []
    verdicts: list[Match | None] = []
    clock = time.perf_counter
    start = clock()
    for item in items:
        t = clock()
        verdicts.append(call(item.key, item.text))
        latencies.append(clock() - t)
    return len(items) / (clock() - start), latencies, verdicts


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def used_memory(index: RedisDedupIndex) -> int:
    return int(index._client.info("memory")["used_memory"])


def script_stats(index: RedisDedupIndex) -> tuple[int, int]:
    """(calls, microseconds) of EVALSHA so far, from INFO commandstats."""
    stats = index._client.info("commandstats").get("cmdstat_evalsha", {})
    return int(stats.get("calls", 0)), int(stats.get("usec", 0))


def encodings(index: RedisDedupIndex, sample: int = 2000) -> dict[str, int]:
    client = index._client
    names = [f"{{{index.prefix}}}:b:{i}" for i in range(sample)]
    pipe = client.pipeline(transaction=False)
    for name in names:
        pipe.object("encoding", name)
    found = collections.Counter(e.decode() if e else "missing" for e in pipe.execute())
    return dict(found)


def speed(url: str, n: int, seed: int) -> None:
    items = make_stream(n, seed)
    memory = DedupIndex(threshold=0.8)
    shared = open_redis_index(url, prefix=f"bench:{uuid.uuid4().hex[:8]}")
    try:
        # Sketching alone (the part both share), then each index on the same stream.
        sketcher = DedupIndex(threshold=0.8)
        _, sketch_lat, _ = timed_stream(lambda k, t: (sketcher.features(t), None)[1], items)
        mem_rate, mem_lat, mem_verdicts = timed_stream(memory.check_and_add, items)
        calls, usec = script_stats(shared)
        red_rate, red_lat, red_verdicts = timed_stream(shared.check_and_add, items)
        calls_after, usec_after = script_stats(shared)
    finally:
        shared.delete()
    same = sum(a == b for a, b in zip(mem_verdicts, red_verdicts, strict=True))
    dupes = sum(v is not None for v in mem_verdicts)
    print(f"\n{len(items):,} texts of ~60 words, check_and_add one at a time ({dupes:,} dupes)")
    print(f"{'':28}{'checks/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for name, rate, lat in (
        ("in-memory DedupIndex", mem_rate, mem_lat),
        ("RedisDedupIndex", red_rate, red_lat),
    ):
        p50, p99 = percentile(lat, 0.5) * 1e3, percentile(lat, 0.99) * 1e3
        print(f"{name:28}{rate:>10,.0f}{p50:>10.3f}{p99:>10.3f}")
    p50, p99 = percentile(sketch_lat, 0.5) * 1e3, percentile(sketch_lat, 0.99) * 1e3
    print(f"{'  of which sketching':28}{'':>10}{p50:>10.3f}{p99:>10.3f}")
    print(f"Redis / in-memory checks/s: {red_rate / mem_rate:.2f}")
    per_call = (usec_after - usec) / max(1, calls_after - calls)
    print(f"inside Redis: {per_call:.0f} us per script call (INFO commandstats)", end="; ")
    print(f"one Redis serves at most ~{1e6 / per_call:,.0f} checks/s, all workers together")
    print(f"same verdicts: {same:,} of {len(items):,}")


def memory_per_100k(url: str, n: int, seed: int) -> None:
    items = make_stream(n, seed + 1)
    index = open_redis_index(url, prefix=f"bench-mem:{uuid.uuid4().hex[:8]}")
    try:
        before = used_memory(index)
        start = time.perf_counter()
        index.add_many([(item.key, item.text, "accepted") for item in items])
        elapsed = time.perf_counter() - start
        after = used_memory(index)
        found = encodings(index)
        entries = int(index._client.hget(index._meta, "next") or 0)
    finally:
        index.delete()
    per_entry = (after - before) / len(items)
    print(f"\nmemory: {len(items):,} texts added (pipelined, 500 a round trip) in {elapsed:.1f} s")
    print(f"  entries stored: {entries:,} (exact copies share one)")
    print(f"  used_memory: {before / 2**20:,.1f} MB -> {after / 2**20:,.1f} MB")
    print(f"  per entry: {per_entry:,.0f} bytes", end="; ")
    print(f"per 100,000 entries: {per_entry * 1e5 / 2**20:.1f} MB")
    print(f"  bucket hash encodings (first 2,000 of {index._buckets:,}): {found}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="texts for the speed run")
    parser.add_argument("--memory-n", type=int, default=100_000, help="texts for memory (0: skip)")
    parser.add_argument("--url", help="a Redis to use (default: a private redis-server)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with private_redis() if args.url is None else _given(args.url) as url:
        print(f"Redis: {'private redis-server' if args.url is None else url}")
        speed(url, args.n, args.seed)
        if args.memory_n:
            memory_per_100k(url, args.memory_n, args.seed)


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    main()
