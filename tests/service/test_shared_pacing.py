"""Jobs on one endpoint with one key share one Pacing in the job runner; others do not."""

from __future__ import annotations

import io

from synthgen.service.worker import Runner
from synthgen.settings import Settings


def settings(base_url: str) -> Settings:
    return Settings(n=5, model="m", base_url=base_url, concurrency=8, rpm=600)


def test_one_pacing_per_endpoint_and_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env-key-0123456789")
    runner = Runner(io.StringIO())
    a = runner.take_pacing("job_a", settings("http://127.0.0.1:9/v1"), "sk-one-0123456789")
    b = runner.take_pacing("job_b", settings("http://127.0.0.1:9/v1"), "sk-one-0123456789")
    other_key = runner.take_pacing("job_c", settings("http://127.0.0.1:9/v1"), "sk-two-0123456789")
    other_url = runner.take_pacing("job_d", settings("http://127.0.0.1:8/v1"), "sk-one-0123456789")
    env_1 = runner.take_pacing("job_e", settings("http://127.0.0.1:9/v1"), None)
    env_2 = runner.take_pacing("job_f", settings("http://127.0.0.1:9/v1"), None)
    assert a is b and env_1 is env_2
    assert len({id(a), id(other_key), id(other_url), id(env_1)}) == 4
    assert a.limit.maximum == 8 and a.rate.active
    # Released by its last job, a pacing is forgotten; the next job starts afresh.
    runner.release_pacing("job_a")
    assert runner.take_pacing("job_g", settings("http://127.0.0.1:9/v1"), "sk-one-0123456789") is a
    runner.release_pacing("job_b")
    runner.release_pacing("job_g")
    fresh = runner.take_pacing("job_h", settings("http://127.0.0.1:9/v1"), "sk-one-0123456789")
    assert fresh is not a
