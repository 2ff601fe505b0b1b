"""The card and the summary say where the teacher's tokens went, and older reports (before
``token_use`` and ``tokens.cached``) still render."""

from __future__ import annotations

import copy
from typing import Any

from synthgen.cli.summary import spend_line, summary_lines
from synthgen.report.card import dataset_card


def test_the_card_ranks_outcomes_by_tokens(report_data: dict[str, Any]) -> None:
    use = report_data["token_use"]
    by = use["by_outcome"]
    assert by and by["accepted"]["count"] == report_data["accepted"]
    card = dataset_card(report_data, command="synthgen expand s.jsonl -n 30")
    table = card[card.index("| outcome | candidates |") :].split("\n\n")[0].splitlines()[2:]
    assert [row.split("`")[1] for row in table] == list(by)  # costliest first, as reported
    assert "teacher tokens bought per accepted example" in card
    line = spend_line(report_data)
    assert line is not None and line.startswith("tokens per accepted example: ")


def test_a_report_from_before_token_use_still_renders(report_data: dict[str, Any]) -> None:
    old = copy.deepcopy(report_data)
    del old["token_use"]
    del old["tokens"]["cached"]
    card = dataset_card(old, command="synthgen expand s.jsonl -n 30")
    assert "| outcome |" not in card and "prompt cache" not in card
    assert f"- prompt tokens: {old['tokens']['prompt']:,}\n" in card
    assert spend_line(old) is None
    assert not any("per accepted" in line for line in summary_lines(old, "out"))


def test_the_card_shows_cached_tokens_and_the_saving(report_data: dict[str, Any]) -> None:
    data = copy.deepcopy(report_data)
    data["tokens"]["cached"] = data["tokens"]["prompt"] // 2
    data["token_use"]["cache_saving_usd"] = 0.0123
    card = dataset_card(data, command="synthgen expand s.jsonl -n 30")
    assert f"({data['tokens']['cached']:,} served from the provider's prompt cache: 50%)" in card
    assert "prompt caching saved $0.0123" in card
    lines = summary_lines(data, "out")
    assert f"{data['tokens']['cached']:,} cached, 50%" in lines[3]
