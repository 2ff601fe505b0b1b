"""The whole pipeline against FakeTeacher, through the real openai client."""

from __future__ import annotations

import json
from itertools import combinations

from synthgen import expand
from synthgen.data.seeds import load_seeds
from synthgen.data.validate import validate_file
from tests.fakes import TrickyTeacher, fresh
from tests.helpers import SAMPLES, jaccard, read_jsonl, text


def test_tricky_teacher_gives_clean_balanced_data(make_fake_teacher, tmp_path):
    seeds = load_seeds(SAMPLES / "support.jsonl")
    seed_conv = {"messages": [m.model_dump(exclude_none=True) for m in seeds.examples[0].turns]}
    tricky = TrickyTeacher(seed_conversation=seed_conv)
    fake = make_fake_teacher(handler=tricky)
    out = tmp_path / "out"
    result = expand(
        SAMPLES / "support.jsonl",
        60,
        model="m",
        base_url=fake.base_url,
        out_dir=out,
        balance_by="category",
        # One at a time, so the teacher's rotation of faults meets the same requests every
        # run: every kind of bad reply is then certain to be curated (concurrency is
        # exercised by the resilience tests).
        concurrency=1,
        transport="openai-sdk",  # the default aiohttp transport runs everywhere else
    )
    assert result.complete
    train, evals = read_jsonl(out / "train.jsonl"), read_jsonl(out / "eval.jsonl")
    assert len(train) + len(evals) == 60
    assert len(evals) == 6  # eval_fraction 0.1
    for f in ("train.jsonl", "eval.jsonl"):
        errors = {k: v for k, v in validate_file(out / f).errors.items() if v}
        errors.pop("too_few_examples", None)  # a 6-line eval file is fine as a validation set
        assert errors == {}, (f, errors)
    # Every line carries the dataset's one system prompt.
    assert {line["messages"][0]["content"] for line in train + evals} == {seeds.system}
    # Balanced despite 'billing' replies carrying 4x more conversations than 'technical'.
    per_cat = result.report["per_category"]
    assert per_cat == {"account": 20, "billing": 20, "technical": 20}
    # No near-duplicates within the data, and nothing in eval near anything in train.
    texts = [text(x) for x in train + evals]
    assert max(jaccard(a, b) for a, b in combinations(texts, 2)) < 0.8
    assert max(jaccard(text(a), text(b)) for a in train for b in evals) < 0.5
    # Seeds are not new data.
    seed_texts = [ex.dedup_text() for ex in seeds.examples]
    assert max(jaccard(a, b) for a in texts for b in seed_texts) < 0.8
    # Every kind of bad reply was seen and counted by its reason.
    reasons = result.report["rejected"]["by_reason"]
    for reason in (
        "truncated",
        "empty_content",
        "refusal",
        "exact_duplicate",
        "near_duplicate",
        "seed_copy",
        "schema",
    ):
        assert reasons.get(reason, 0) >= 1, (reason, reasons)
    rejected = read_jsonl(out / ".synthgen" / "rejected.jsonl")
    # One row per rejected candidate; one row for what a reply brought past what was asked.
    assert sum(r.get("count", 1) for r in rejected) == result.report["rejected"]["total"]
    assert {r["reason"] for r in rejected} == set(reasons)


def test_exactly_n_and_stops_early(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(per_reply=5)
    result = expand(
        SAMPLES / "marv.jsonl",
        23,
        model="m",
        base_url=fake.base_url,
        out_dir=tmp_path / "o",
        concurrency=4,
    )
    assert len(result.train) + len(result.eval) == 23
    # 23 needs 5 replies of 5; at most the in-flight ones more were sent.
    assert fake.request_count <= 5 + 4


def test_low_yield_stops_with_diagnosis(make_fake_teacher, tmp_path):
    same = {"conversations": [fresh(__import__("random").Random(1))] * 3}
    fake = make_fake_teacher(handler=lambda body, i: same)
    result = expand(
        SAMPLES / "marv.jsonl",
        50,
        model="m",
        base_url=fake.base_url,
        out_dir=tmp_path / "o",
        concurrency=4,
    )
    assert not result.complete
    assert result.report["stop"]["reason"] == "low_yield"
    assert (
        "near duplicate" in result.report["stop"]["detail"]
        or "exact duplicate" in result.report["stop"]["detail"]
    )
    assert fake.request_count < 100  # far below the request budget of 5 * 50/5 + 20
    assert (tmp_path / "o" / "train.jsonl").exists()


def test_request_budget_stops_run(make_fake_teacher, tmp_path):
    fake = make_fake_teacher(per_reply=1)
    result = expand(
        SAMPLES / "marv.jsonl",
        50,
        model="m",
        base_url=fake.base_url,
        out_dir=tmp_path / "o",
        max_requests=7,
        concurrency=3,
    )
    assert not result.complete and result.report["stop"]["reason"] == "max_requests"
    assert fake.request_count == 7
    assert result.report["accepted"] == 7


def test_language_and_decontamination_filters(make_fake_teacher, tmp_path):
    held_out = tmp_path / "held_out.jsonl"
    secret = "the quick brown fox jumps over the lazy dog near the quiet river bank today"
    held_out.write_text(
        json.dumps(
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": secret},
                ]
            }
        )
        + "\n"
    )

    def handler(body, index):
        polish = [fresh(__import__("random").Random(index * 10 + k)) for k in range(3)]
        for k, c in enumerate(polish):
            c["messages"][0]["content"] = (
                f"Proszę, napisz zdanie numer {index} {k} o tym, że jest bardzo ładna pogoda."
            )
            c["messages"][1]["content"] = (
                f"Wczoraj byłem w lesie z mamą i widziałem {index} {k} saren, które jadły trawę."
            )
        english = {
            "messages": [
                {"role": "user", "content": f"Please write sentence {index} about the weather."},
                {
                    "role": "assistant",
                    "content": "Yesterday I was in the forest and saw many deer eating grass.",
                },
            ]
        }
        leaked = {
            "messages": [
                {"role": "user", "content": f"Zdanie {index} proszę o lisie."},
                {"role": "assistant", "content": f"Oto ono: {secret} {index}"},
            ]
        }
        return {"conversations": [*polish, english, leaked]}

    fake = make_fake_teacher(handler=handler)
    out = tmp_path / "o"
    result = expand(
        SAMPLES / "seeds.txt",
        12,
        model="m",
        base_url=fake.base_url,
        out_dir=out,
        system="Popraw gramatykę zdania.",
        decontaminate=held_out,
    )
    reasons = result.report["rejected"]["by_reason"]
    assert result.report["language"] == "pl"
    assert reasons.get("wrong_language", 0) >= 1
    assert reasons.get("contaminated", 0) >= 1
    assert result.complete
    card = (out / "README.md").read_text(encoding="utf-8")
    assert "wrong_language" in card and "synthgen expand" in card
    div = result.report["diversity"]
    assert 0 < div["distinct_1"] <= 1 and "mean_pairwise_jaccard" in div
    assert result.report["validation"]["train"]["ok"] is True
