"""aexpand keeps the caller's event loop free: reading the seeds, indexing them for the curator
and writing the outputs run in a worker thread."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

import synthgen.run.expand as expand_module
import synthgen.run.output as output_module
import synthgen.run.wiring as wiring_module
from synthgen import aexpand


def test_aexpand_reads_seeds_and_writes_outputs_off_the_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeds = tmp_path / "seeds.jsonl"
    rows = (
        {
            "messages": [
                {"role": "user", "content": f"q {i} " * 20},
                {"role": "assistant", "content": f"a {i} " * 20},
            ]
        }
        for i in range(2000)
    )
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    seen: dict[str, tuple[int, bool]] = {}

    def where() -> tuple[int, bool]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return threading.get_ident(), False
        return threading.get_ident(), True

    real_prepare, real_write = expand_module.prepare, output_module.write_outputs
    real_curator = wiring_module.curator_for

    def curator_for(*args: Any, **kwargs: Any) -> Any:
        seen["curator_for"] = where()
        return real_curator(*args, **kwargs)

    def prepare(*args: Any, **kwargs: Any) -> Any:
        seen["prepare"] = where()
        return real_prepare(*args, **kwargs)

    def write_outputs(*args: Any, **kwargs: Any) -> Any:
        seen["write_outputs"] = where()
        return real_write(*args, **kwargs)

    monkeypatch.setattr(expand_module, "prepare", prepare)
    monkeypatch.setattr(output_module, "write_outputs", write_outputs)
    monkeypatch.setattr(wiring_module, "curator_for", curator_for)

    async def main() -> tuple[int, int]:
        result = await aexpand(seeds, 400, model="demo", out_dir=tmp_path / "out", cache=False)
        return threading.get_ident(), len(result.train) + len(result.eval)

    loop_thread, rows_written = asyncio.run(main())
    assert rows_written == 400
    for stage in ("prepare", "curator_for", "write_outputs"):
        thread, in_loop = seen[stage]
        assert not in_loop and thread != loop_thread, stage
    assert (tmp_path / "out" / "train.jsonl").is_file()
