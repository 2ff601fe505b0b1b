"""A FakeTeacher process for benchmarks, with an arrival log and a reject-heavy mode.

    python benchmarks/fake_server.py [--latency 0.2] [--mode fresh|dupes] [--dupes 9]

Prints ``READY <base_url>``, then answers commands on stdin, one JSON line each:
``stats`` (count, first/last arrival on the monotonic clock, trimmed rate, body bytes, the
server's CPU seconds) and ``reset``. EOF on stdin stops it.

Modes: ``fresh`` serves ``demo_reply`` text, new for every request (as many conversations as
the prompt's "exactly N" asks, or ``--per-reply``). ``dupes`` serves one new conversation and
``--dupes`` rejects: half exact copies of it (case and punctuation changed, which
normalisation removes), half near copies of earlier new ones (one word appended: shingle
Jaccard ≈ 0.95), so every reply adds one accepted example and many rejected candidates.
"""

from __future__ import annotations

import argparse
import bisect
import json
import random
import resource
import sys
import threading
import time
from collections import deque
from typing import Any

from synthgen.testing import FakeTeacher, demo_reply


class Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.body_bytes = 0

    def record(self, body: dict[str, Any]) -> None:
        now = time.monotonic()
        with self.lock:
            if not self.times:
                self.body_bytes = len(json.dumps(body, ensure_ascii=False).encode())
            self.times.append(now)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            times = list(self.times)
            body = self.body_bytes
        usage = resource.getrusage(resource.RUSAGE_SELF)
        out: dict[str, Any] = {
            "count": len(times),
            "first": times[0] if times else None,
            "last": times[-1] if times else None,
            "body_bytes": body,
            "cpu_s": usage.ru_utime + usage.ru_stime,
            "rate": None,
        }
        if len(times) >= 2 and times[-1] > times[0]:
            # Middle 80% of the span: leaves out connection set-up and the final drain.
            span = times[-1] - times[0]
            lo, hi = times[0] + 0.1 * span, times[-1] - 0.1 * span
            inside = bisect.bisect_right(times, hi) - bisect.bisect_left(times, lo)
            out["rate"] = inside / (hi - lo)
            out["rate_full"] = (len(times) - 1) / span
        return out

    def reset(self) -> None:
        with self.lock:
            self.times = []
            self.body_bytes = 0


def make_handler(args: argparse.Namespace, log: Log) -> Any:
    rng = random.Random(args.seed)
    earlier: deque[dict[str, Any]] = deque(maxlen=1000)

    def fresh(body: dict[str, Any], index: int) -> dict[str, Any]:
        log.record(body)
        reply: dict[str, Any] = demo_reply(
            body["messages"], seed=args.seed, ordinal=index, per_reply=args.per_reply
        )
        return reply

    def dupes(body: dict[str, Any], index: int) -> dict[str, Any]:
        log.record(body)
        new = demo_reply(body["messages"], seed=args.seed, ordinal=index, per_reply=1)
        conv = new["conversations"][0]
        rejects = []
        for k in range(args.dupes):
            if k % 2 == 0 or not earlier:
                user, assistant = (m["content"] for m in conv["messages"])
                copy = [user.upper(), assistant.rstrip(".") + "!!"]
            else:
                old = rng.choice(earlier)
                user, assistant = (m["content"] for m in old["messages"])
                copy = [user, assistant + " " + rng.choice(("indeed", "truly", "again"))]
            rejects.append(
                {
                    "messages": [
                        {"role": "user", "content": copy[0]},
                        {"role": "assistant", "content": copy[1]},
                    ]
                }
            )
        earlier.append(conv)
        return {"conversations": [conv, *rejects]}

    return fresh if args.mode == "fresh" else dupes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.2, help="seconds per reply")
    parser.add_argument("--mode", choices=("fresh", "dupes"), default="fresh")
    parser.add_argument("--per-reply", type=int, default=None, help="fresh: conversations/reply")
    parser.add_argument("--dupes", type=int, default=9, help="dupes: rejects per reply")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    log = Log()
    with FakeTeacher(latency=args.latency, handler=make_handler(args, log)) as fake:
        print(f"READY {fake.base_url}", flush=True)
        for line in sys.stdin:
            command = line.strip()
            if command == "stats":
                print(json.dumps(log.stats()), flush=True)
            elif command == "reset":
                log.reset()
                print("{}", flush=True)
            else:
                print(json.dumps({"error": f"unknown command {command!r}"}), flush=True)


if __name__ == "__main__":
    main()
