"""One real run, shared by the report tests: the card and the model are tested on what the
pipeline actually writes, so a key renamed upstream cannot hide behind a hand-made dict."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest

from synthgen import Result, expand
from synthgen.data.seeds import load_seeds
from synthgen.testing import FakeTeacher
from tests.fakes import TrickyTeacher
from tests.helpers import SAMPLES


class _JudgedTrickyTeacher(TrickyTeacher):
    """Every kind of bad reply, and a judge that scores one word in the vocabulary low."""

    def __call__(self, body: dict[str, Any], index: int) -> Any:
        if body.get("response_format", {}).get("json_schema", {}).get("name") == "verdict":
            conversation = body["messages"][-1]["content"]
            return {"score": 3 if "dragon" in conversation else 8, "reason": "checked"}
        return super().__call__(body, index)


@pytest.fixture(scope="session")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Result]:
    """A finished run on support.jsonl: balanced by category, two templates, a judge,
    rejections of several kinds. Read it, don't change it: the session shares it."""
    seeds = load_seeds(SAMPLES / "support.jsonl")
    seed_conv = {"messages": [m.model_dump(exclude_none=True) for m in seeds.examples[0].turns]}
    out = tmp_path_factory.mktemp("real-run") / "out"
    # Session-scoped, so the per-test clean environment is not in place yet: give the run
    # its own cache and none of the developer's SYNTHGEN_* settings.
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("SYNTHGEN_"):
                mp.delenv(name)
        mp.setenv("SYNTHGEN_CACHE_DIR", str(tmp_path_factory.mktemp("real-run-cache")))
        mp.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        with FakeTeacher(handler=_JudgedTrickyTeacher(seed_conversation=seed_conv)) as fake:
            result = expand(
                SAMPLES / "support.jsonl",
                30,
                model="m",
                base_url=fake.base_url,
                out_dir=out,
                balance_by="category",
                template="expand:3,evolve:1",
                judge="m",
                concurrency=4,
            )
    assert result.complete and result.typed_report is not None
    yield result


@pytest.fixture
def report_data(real_run: Result) -> dict[str, Any]:
    """The real run's report.json as a reader loads it (a fresh copy per test)."""
    assert real_run.out_dir is not None
    data = json.loads((real_run.out_dir / "report.json").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data
