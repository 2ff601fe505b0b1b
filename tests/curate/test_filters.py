import pytest

from synthgen.curate.drop import Drop
from synthgen.curate.filters import QualityFilter, to_example
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
        ([u("q"), {"role": "robot", "content": "x"}], "schema", "role 'robot'"),
        ([u("q"), {"role": "tool", "content": "x"}], "orphan_tool_message", "answers no call"),
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
    assert q(short) == Drop("too_short", "2 characters < 25")
    assert q(long) == Drop("too_long", "2501 characters > 2000")
    assert q(seeds[0]) is None


def test_broken_characters_are_dropped():
    # U+FFFD is what a lone surrogate ("\ud83d", half an emoji) in a reply becomes.
    drop = to_example([u("rainy day \ufffd?"), a("Read a book.")], system=None, metadata={})
    assert isinstance(drop, Drop) and drop.reason == "broken_text"
    assert "message 1 (user)" in drop.detail


PLACEHOLDER_TURNS = [
    "...",
    "…",
    " . . . ",
    "—",
    "[answer]",
    "<answer>",
    "{response}",
    "[Your answer here]",
    "(same as example 4)",
    "Same as above.",
    "TODO",
    "TBD",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    "Lorem ipsum " + "dolor sit amet " * 40,
    "Insert answer here",
    "Your answer goes here.",
    "[Twoja odpowiedź]",  # pl
    "Tak jak w przykładzie 4.",
    "Wie oben.",  # de
    "[Antwort]",
    "Comme dans l'exemple 4.",  # fr
    "Igual que el ejemplo 4.",  # es
    "Come nell'esempio 4.",  # it
    "Igual ao exemplo 4.",  # pt
    "Zoals in voorbeeld 4.",  # nl
    "Как в примере 4.",  # ru
    "[Ответ]",
    "Як у прикладі 4.",  # uk
    "Jako v příkladu 4.",  # cs
    "Samma som exempel 4.",  # sv
    "Örnek 4'teki gibi.",  # tr
    "同上",  # zh
    "与示例4相同",
    "「回答」",  # ja
    "例4と同じ",
    "예시 4와 같음",  # ko
    "여기에 답변 입력",
]


@pytest.mark.parametrize("turn", PLACEHOLDER_TURNS)
@pytest.mark.parametrize("role", ["user", "assistant"])
def test_placeholder_turns(turn, role):
    real = "How many legs does a spider have, and why that many?"
    pairs = (
        [("user", turn), ("assistant", real)]
        if role == "user"
        else [("user", real), ("assistant", turn)]
    )
    drop = QualityFilter()(Example.from_pairs(pairs))
    assert drop is not None and drop.reason == "placeholder", drop
    assert f"({role})" in drop.detail


@pytest.mark.parametrize(
    "turn",
    [
        "Na",  # sodium
        "42",
        "(B)",  # a multiple-choice answer
        "Output.",
        "Answer",  # a bare word can be a real reply; only a bracketed one is a slot
        "None",
        "Ответ",
        "(laughs)",
        "Paris, as if everyone doesn't know that already.",
        "See the answer above for the details: it is 42.",
        "Lorem ipsum is the placeholder text printers have used since the 1500s.",
    ],
)
def test_short_real_turns_are_not_placeholders(turn):
    ex = Example.from_pairs([("user", "A question, any question?"), ("assistant", turn)])
    assert QualityFilter()(ex) is None
