import pytest

from synthgen.curate.filters import Drop, QualityFilter, to_example
from synthgen.data.example import Example


def u(c):
    return {"role": "user", "content": c}


def a(c):
    return {"role": "assistant", "content": c}


def test_valid_with_system_replaced():
    ex = to_example(
        [{"role": "system", "content": "other"}, u(" q "), a("r")], system="S", metadata={"k": 1}
    )
    assert isinstance(ex, Example)
    assert ex.to_chat()["messages"] == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "q"},
        {"role": "assistant", "content": "r"},
    ]
    assert ex.metadata == {"k": 1}


def test_no_system():
    ex = to_example([u("q"), a("r"), u("q2"), a("r2")], system=None, metadata={})
    assert isinstance(ex, Example) and ex.system is None and len(ex.messages) == 4


@pytest.mark.parametrize(
    "msgs,reason,detail",
    [
        ([], "schema", "no messages"),
        ([a("r")], "schema", "expected user"),
        ([u("q"), u("q")], "schema", "expected assistant"),
        ([u("q")], "schema", "does not end"),
        ([u("q"), {"role": "tool", "content": "x"}], "schema", "role 'tool'"),
        ([u("q"), {"role": "assistant", "content": None}], "schema", "no text"),
        ([u("q"), a("   ")], "empty_content", "assistant"),
        ([{"role": "system", "content": "s"}], "schema", "no user/assistant"),
    ],
)
def test_schema_drops(msgs, reason, detail):
    drop = to_example(msgs, system=None, metadata={})
    assert isinstance(drop, Drop) and drop.reason == reason and detail in drop.detail


@pytest.mark.parametrize(
    "reply",
    [
        "As an AI language model, I cannot have opinions.",
        "I'm sorry, but I can't help with that.",
        "Jako model językowy nie mogę tego zrobić.",
        "I cannot assist with that request.",
    ],
)
def test_refusals(reply):
    ex = Example.from_pairs([("user", "question here"), ("assistant", reply)])
    drop = QualityFilter()(ex)
    assert drop is not None and drop.reason == "refusal"


def test_refusal_only_checked_on_assistant():
    ex = Example.from_pairs([("user", "as an AI, what do you think?"), ("assistant", "Paris.")])
    assert QualityFilter()(ex) is None


def test_length_bounds_from_seeds():
    seeds = [Example.from_pairs([("user", "x" * 40), ("assistant", "y" * 60)])]
    q = QualityFilter.from_seeds(seeds)
    assert q.min_chars == 25 and q.max_chars == 2000
    short = Example.from_pairs([("user", "a"), ("assistant", "b")])
    long = Example.from_pairs([("user", "a"), ("assistant", "b" * 2500)])
    assert q(short).reason == "too_short"
    assert q(long).reason == "too_long"
    assert q(seeds[0]) is None
