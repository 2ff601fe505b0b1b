"""Each generation strategy's prompts carry what it promises (against FakeTeacher)."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from synthgen import expand
from synthgen.data.seeds import load_seeds
from synthgen.errors import ConfigError
from tests.helpers import SAMPLES


def prompts(fake) -> list[str]:
    return [body["messages"][-1]["content"] for body in fake.requests]


def run(fake, tmp_path, n, **kw):
    # One request at a time, so the server sees prompts in request order (the tests below
    # read them in that order; with more in flight, arrival order is up to the scheduler).
    kw.setdefault("concurrency", 1)
    return expand(
        SAMPLES / "marv.jsonl", n, model="m", base_url=fake.base_url, out_dir=tmp_path / "o", **kw
    )


def test_paraphrase_shows_one_seed_and_covers_all(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    seeds = load_seeds(SAMPLES / "marv.jsonl")
    run(fake, tmp_path, 3 * len(seeds), template="paraphrase")
    ps = prompts(fake)
    assert all("paraphrases of this conversation" in p for p in ps)
    shown = []
    for p in ps[: len(seeds)]:
        hits = [i for i, ex in enumerate(seeds.examples) if ex.turns[0].content in p]
        assert len(hits) == 1  # exactly one seed per request
        shown.append(hits[0])
    assert sorted(shown) == list(range(len(seeds)))  # every seed before any repeats


def test_evolve_rotates_operations(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    run(fake, tmp_path, 15, template="evolve")
    ops = Counter(m.group(1) for p in prompts(fake) if (m := re.search(r"Evolution: (\w+)\.", p)))
    # Requests reach the server in any order, but the ones sent are always ordinals 0..k-1,
    # so a rotation by ordinal uses every operation and none more than once over another.
    assert sorted(ops) == ["broaden", "concretise", "constrain", "deepen", "reasoning"]
    assert max(ops.values()) - min(ops.values()) <= 1


def test_multiturn_asks_for_and_keeps_multiturn(make_fake_teacher, tmp_path):
    def handler(body, index):
        turns = []
        for k in range(3):
            turns += [
                {
                    "role": "user",
                    "content": f"question {index} {k} about topic {index * 7 + k} please",
                },
                {
                    "role": "assistant",
                    "content": f"answer {index} {k} with detail {index * 13 + k} indeed",
                },
            ]
        return {"conversations": [{"messages": turns}]}

    fake = make_fake_teacher(handler=handler)
    result = run(fake, tmp_path, 6, template="multiturn")
    assert all("2 to 4 user turns" in p for p in prompts(fake))
    assert all(len(ex.turns) == 6 for ex in result.train + result.eval)


def test_persona_covers_every_combination_before_repeating(make_fake_teacher, tmp_path):
    attrs = tmp_path / "attrs.yaml"
    attrs.write_text(
        "persona: [a student, a nurse]\ndifficulty: [easy, hard]\ntopic: [space, history]\n"
    )
    fake = make_fake_teacher()
    run(fake, tmp_path, 30, template="persona", attributes=attrs, per_request=1)
    combos = [
        tuple(re.findall(r"^- (?:persona|difficulty|topic): (.+)$", p, re.M)) for p in prompts(fake)
    ]
    assert all(len(c) == 3 for c in combos)
    assert len(set(combos[:8])) == 8  # all 2x2x2 combinations, none twice
    assert Counter(combos[:16]).most_common(1)[0][1] == 2


def test_persona_needs_attributes(tmp_path):
    with pytest.raises(ConfigError, match="needs attributes "):
        expand(SAMPLES / "marv.jsonl", 5, model="demo", template="persona", out_dir=tmp_path / "o")


def test_weighted_mix(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    result = run(fake, tmp_path, 40, template="expand:3,evolve:1", per_request=1)
    ps = prompts(fake)[:40]
    kinds = Counter("Evolution:" in p for p in ps)
    assert kinds[True] == 10 and kinds[False] == 30
    names = [t["name"] for t in result.report["teacher"]["templates"]]
    assert names == ["expand", "evolve"]


def test_bad_mix_spec(tmp_path):
    from synthgen.errors import TemplateError

    with pytest.raises(TemplateError, match="whole number"):
        expand(SAMPLES / "marv.jsonl", 5, model="demo", template="expand:x", out_dir=tmp_path / "o")


def test_frontier_shows_accepted_examples(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    result = run(fake, tmp_path, 80, per_request=1)  # lag = 32 requests at concurrency 2
    ps = prompts(fake)
    # Demo replies start with "[demo]"; the seeds never do.
    assert not any("[demo]" in p for p in ps[:32])
    late = [p for p in ps[40:] if "[demo]" in p]
    assert len(late) >= 0.9 * len(ps[40:])
    # Deterministic: the same run again (from the cache) renders the same prompts.
    sent = fake.request_count
    again = expand(
        SAMPLES / "marv.jsonl",
        80,
        model="m",
        base_url=fake.base_url,
        out_dir=tmp_path / "p",
        concurrency=2,
        per_request=1,
    )
    assert fake.request_count == sent
    assert [e.to_chat() for e in again.train] == [e.to_chat() for e in result.train]


def test_copying_a_shown_example_is_dropped(make_fake_teacher, tmp_path):
    seeds = load_seeds(SAMPLES / "marv.jsonl")

    def handler(body, index):
        prompt = body["messages"][-1]["content"]
        shown = next(ex for ex in seeds.examples if ex.turns[0].content in prompt)
        answer = shown.turns[1].content
        return {
            "conversations": [
                {
                    "messages": [
                        {
                            "role": "user",
                            "content": f"Completely new question number {index} about otters?",
                        },
                        {"role": "assistant", "content": answer},
                    ]
                },
                {
                    "messages": [
                        {"role": "user", "content": f"Tell me fact {index}."},
                        {
                            "role": "assistant",
                            "content": "Answer with JSON only, in this shape: conversations",
                        },
                    ]
                },
            ]
        }

    fake = make_fake_teacher(handler=handler)
    result = run(fake, tmp_path, 5, max_requests=4)
    reasons = result.report["rejected"]["by_reason"]
    assert reasons.get("copies_example", 0) >= 1 and reasons.get("echo", 0) >= 1
    assert not result.complete


def test_report_lists_template_hashes(make_fake_teacher, tmp_path):
    fake = make_fake_teacher()
    result = run(fake, tmp_path, 5)
    t = result.report["teacher"]["templates"][0]
    assert t["name"] == "expand" and len(t["sha256"]) == 64
    assert json.loads((tmp_path / "o" / "report.json").read_text())["teacher"]["templates"][0] == t
