"""What several test modules need: the CLI as a subprocess, JSONL reading, true Jaccard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from synthgen.text.normalize import shingles

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "synthgen", *args]


def synthgen(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as a user would, in the test's environment plus ``env``."""
    return subprocess.run(
        cmd(*args),
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


def text(line: dict[str, Any]) -> str:
    """The compared text of a chat line: its turns without the system prompt."""
    return "\n".join(m["content"] for m in line["messages"] if m["role"] != "system")


def jaccard(a: str, b: str) -> float:
    """True Jaccard of word-3-gram shingle sets (no MinHash estimate)."""
    sa, sb = set(shingles(a)), set(shingles(b))
    return len(sa & sb) / len(sa | sb)
