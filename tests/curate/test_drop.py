"""Drop reasons from the judge's verdicts."""

from __future__ import annotations

import pytest

from synthgen.curate.drop import Drop, judge_drop


@pytest.mark.parametrize(
    ("verdict", "keep_unscored", "expected"),
    [
        ((7, "fine"), True, None),
        ((6, ""), True, None),  # the threshold itself passes
        ((5, "vague"), True, Drop("low_score", "judge scored 5/10 < 6: vague")),
        ((1, ""), True, Drop("low_score", "judge scored 1/10 < 6")),
        ((None, "unparseable judge reply: empty reply"), True, None),
        (
            (None, "unparseable judge reply: empty reply"),
            False,
            Drop("judge_failed", "unparseable judge reply: empty reply"),
        ),
        ((9, "great"), False, None),
    ],
)
def test_judge_drop(
    verdict: tuple[int | None, str], keep_unscored: bool, expected: Drop | None
) -> None:
    assert judge_drop(verdict, 6, keep_unscored=keep_unscored) == expected
