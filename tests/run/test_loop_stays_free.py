"""aexpand shares its event loop: a run whose replies all come from the cache (a resume, a
re-run) curates them in slices, letting other tasks run in between, instead of curating
hundreds in one go."""

from __future__ import annotations

import asyncio
from pathlib import Path

from synthgen import aexpand
from tests.helpers import SAMPLES


def test_other_tasks_run_while_a_run_curates_replies_from_the_cache(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", str(tmp_path / "cache"))
    seeds = SAMPLES / "support.jsonl"

    async def run(out: Path) -> tuple[int, int, int]:
        ticks = 0
        seen: list[int] = []  # the ticker's count at each progress call
        stop = asyncio.Event()

        async def ticker() -> None:
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(ticker())
        result = await aexpand(
            seeds, 400, model="demo", out_dir=out, on_progress=lambda s: seen.append(ticks)
        )
        stop.set()
        await task
        assert len(result.train) + len(result.eval) == 400
        hits = result.report["requests"]["cache_hits"]
        return hits, len(seen), seen[-1] - seen[0]

    asyncio.run(run(tmp_path / "first"))  # fills the cache
    hits, calls, ticks_between = asyncio.run(run(tmp_path / "again"))
    assert hits > 10 and calls > 10
    # Before: every cached reply was curated within one step of the loop (0 ticks between
    # the first and the last progress call).
    assert ticks_between > 0
