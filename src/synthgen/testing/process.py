"""``python -m synthgen.testing``: FakeTeacher as a process, for benchmarks and demos."""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence

from synthgen.errors import ConfigError
from synthgen.testing.scripting import REASONING_SHAPES

__all__ = ["main"]


def _parse_faults(text: str) -> dict[str, float]:
    faults: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"--faults: expected KIND=PROBABILITY, got {part!r}")
        try:
            faults[kind.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--faults: {value!r} is not a probability") from None
    return faults


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print ``READY <base_url>`` once listening and, when
    stopped, ``SERVED {"requests": N, "faults": {kind: N}}``."""
    import argparse
    import signal

    # Here, not at the top: fake_teacher re-exports this function.
    from synthgen.testing.fake_teacher import FakeTeacher
    from synthgen.testing.faults import Storm

    parser = argparse.ArgumentParser(
        prog="python -m synthgen.testing", description="Run a FakeTeacher server."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--faults", default="", help="e.g. 429=0.05,500=0.05,hang=0.02")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--hang", type=float, default=None, help="seconds a hang lasts")
    parser.add_argument(
        "--storm", type=float, default=None, help="seconds of 429 to everything, from the start"
    )
    parser.add_argument(
        "--storm-after", type=float, default=0.0, help="seconds before the storm begins"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the placeholder data")
    parser.add_argument("--per-reply", type=int, default=None, help="conversations per reply")
    parser.add_argument(
        "--reasoning",
        choices=REASONING_SHAPES,
        default=None,
        help="answer as a reasoning model, with a placeholder trace sent this way",
    )
    parser.add_argument(
        "--batch-delay", type=float, default=0.0, help="seconds a batch stays in progress"
    )
    args = parser.parse_args(argv)
    try:
        fake = FakeTeacher(
            latency=args.latency,
            faults=_parse_faults(args.faults),
            fault_seed=args.fault_seed,
            hang=args.hang,
            storm=None if args.storm is None else Storm(args.storm, after=args.storm_after),
            seed=args.seed,
            per_reply=args.per_reply,
            port=args.port,
            reasoning=args.reasoning,
            batch_delay=args.batch_delay,
        )
    except ConfigError as error:
        parser.error(str(error))
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake:
        print(f"READY {fake.base_url}", flush=True)
        while not stopping.wait(0.5):
            pass
        served = {"requests": fake.request_count, "faults": dict(fake.fault_counts)}
    print(f"SERVED {json.dumps(served)}", flush=True)
    return 0
