"""OUT/metadata.jsonl: the metadata of every written row, whatever the format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synthgen.data.example import Example
from synthgen.data.sidecar import SIDECAR_NAME, read_metadata, write_metadata
from synthgen.errors import InputError


def example(i: int, **metadata: object) -> Example:
    return Example.from_pairs([("user", f"q{i}"), ("assistant", f"a{i}")], metadata=metadata)


def test_one_line_per_row_train_then_eval(tmp_path: Path) -> None:
    train = [example(0, category="a", seeds=[1, 2]), example(1)]
    evals = [example(2, category="b", judge_score=4)]
    assert write_metadata(tmp_path, train, evals) == 3
    lines = (tmp_path / SIDECAR_NAME).read_text(encoding="utf-8").splitlines()
    assert [json.loads(x) for x in lines] == [
        {"split": "train", "index": 0, "metadata": {"category": "a", "seeds": [1, 2]}},
        {"split": "train", "index": 1, "metadata": {}},
        {"split": "eval", "index": 0, "metadata": {"category": "b", "judge_score": 4}},
    ]
    expected = {
        "train": [{"category": "a", "seeds": [1, 2]}, {}],
        "eval": [{"category": "b", "judge_score": 4}],
    }
    assert read_metadata(tmp_path) == read_metadata(tmp_path / SIDECAR_NAME) == expected


def test_empty_splits(tmp_path: Path) -> None:
    assert write_metadata(tmp_path, [], []) == 0
    assert (tmp_path / SIDECAR_NAME).read_bytes() == b""
    assert read_metadata(tmp_path) == {}


@pytest.mark.parametrize(
    ("lines", "fragment"),
    [
        (['{"split": "train", "index": 1, "metadata": {}}'], "train row 1 out of order"),
        (['{"split": "train", "index": 0, "metadata": {}}'] * 2, "row 0 out of order"),
        (['{"split": "train", "index": "0", "metadata": {}}'], '"index": int'),
        (['{"split": "train", "index": true, "metadata": {}}'], '"index": int'),
        (['{"split": "train", "index": 0, "metadata": []}'], '"metadata": object'),
        (["[1]"], "expected"),
        (["{oops"], "invalid JSON"),
    ],
)
def test_a_damaged_sidecar_is_an_input_error(
    tmp_path: Path, lines: list[str], fragment: str
) -> None:
    path = tmp_path / SIDECAR_NAME
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"{SIDECAR_NAME}:[12]: .*") as info:
        read_metadata(path)
    assert fragment in str(info.value)


def test_missing_sidecar(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_metadata(tmp_path)
