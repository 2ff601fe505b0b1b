import json

import pytest

from synthgen.prompts.reply import ParseError, TeacherReply, parse_reply, response_format

CONV = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}]}


def test_plain_object():
    assert parse_reply(json.dumps({"conversations": [CONV, CONV]})) == [CONV["messages"]] * 2


@pytest.mark.parametrize(
    "text",
    [
        "```json\n" + json.dumps({"conversations": [CONV]}) + "\n```",
        "Sure! Here you go:\n" + json.dumps({"conversations": [CONV]}) + "\nHope it helps.",
        json.dumps([CONV]),
        json.dumps(CONV),
        json.dumps({"conversations": [CONV["messages"]]}),
    ],
)
def test_lenient_shapes(text):
    assert parse_reply(text) == [CONV["messages"]]


@pytest.mark.parametrize(
    "text,why",
    [
        ("", "empty"),
        ("no json here", "no JSON"),
        ('{"conversations": [', "no JSON"),
        ('{"foo": 1}', "without 'conversations'"),
        ('{"conversations": []}', "no conversations"),
        ('{"conversations": 3}', "not a list"),
    ],
)
def test_unparseable(text, why):
    with pytest.raises(ParseError, match=why):
        parse_reply(text)


def test_bad_conversation_does_not_sink_siblings():
    out = parse_reply(json.dumps({"conversations": [CONV, "junk", {"x": 1}]}))
    assert out == [CONV["messages"], [], []]


def test_response_format_matches_reply_model():
    fmt = response_format()
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    TeacherReply.model_validate({"conversations": [CONV]})
    item = fmt["json_schema"]["schema"]["properties"]["conversations"]["items"]
    assert item["properties"]["messages"]["items"]["properties"]["role"]["enum"] == [
        "user",
        "assistant",
    ]
