"""The axolotl / TRL / LLaMA-Factory snippets the dataset card shows for each format."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from synthgen.data.example import Example
from synthgen.data.formats import FORMATS, write
from synthgen.data.loaders import SNIPPET_LANGUAGE, loader_snippets
from synthgen.errors import ConfigError

Row = dict[str, Any]
CONVERSATIONS = [
    Example.from_pairs(
        [("user", "Hi"), ("assistant", "Hello."), ("user", "2+2?"), ("assistant", "4.")],
        system="Be brief.",
        metadata={"category": "math"},
    ),
    Example.from_pairs([("user", "Name a colour."), ("assistant", "Blue.")], system="Be brief."),
]


class FakeSplit:
    def __init__(self, rows: list[Row]) -> None:
        self.rows = rows

    @property
    def column_names(self) -> list[str]:
        return list(dict.fromkeys(k for row in self.rows for k in row))


class FakeData(dict[str, FakeSplit]):
    """The part of a datasets.DatasetDict the snippets use."""

    def map(self, fn: Callable[[Row], Row], remove_columns: Sequence[str] = ()) -> FakeData:
        def mapped(row: Row) -> Row:
            kept = {k: v for k, v in row.items() if k not in remove_columns}
            return {**kept, **fn(row)}

        return FakeData({name: FakeSplit([mapped(r) for r in s.rows]) for name, s in self.items()})


def run_trl_snippet(code: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run the TRL snippet in ``folder`` with stand-ins for datasets and trl; returns the
    arguments SFTTrainer got."""
    got: dict[str, Any] = {}

    def load_dataset(kind: str, data_files: dict[str, str]) -> FakeData:
        assert kind == "json"
        return FakeData(
            {
                split: FakeSplit([json.loads(x) for x in (folder / f).read_text().splitlines()])
                for split, f in data_files.items()
            }
        )

    class SFTTrainer:
        def __init__(self, **kwargs: Any) -> None:
            got.update(kwargs)

        def train(self) -> None:
            got["trained"] = True

    datasets = types.ModuleType("datasets")
    datasets.load_dataset = load_dataset  # type: ignore[attr-defined]
    trl = types.ModuleType("trl")
    trl.SFTConfig = lambda **kwargs: kwargs  # type: ignore[attr-defined]
    trl.SFTTrainer = SFTTrainer  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", datasets)
    monkeypatch.setitem(sys.modules, "trl", trl)
    exec(compile(code, "snippet.py", "exec"), {})
    return got


def chat(example: Example) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in example.messages]


@pytest.mark.parametrize("fmt", FORMATS)
def test_trl_snippet_gives_sfttrainer_each_conversation(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(CONVERSATIONS, tmp_path / "train.jsonl", fmt=fmt)
    write(CONVERSATIONS[::-1], tmp_path / "eval.jsonl", fmt=fmt)
    got = run_trl_snippet(loader_snippets(fmt)["trl"], tmp_path, monkeypatch)
    assert got["trained"]
    for split, expected in (
        ("train_dataset", CONVERSATIONS),
        ("eval_dataset", CONVERSATIONS[::-1]),
    ):
        rows = got[split].rows
        if fmt == "prompt-completion":
            # SFTTrainer takes TRL's prompt-completion rows as they are.
            assert [r["prompt"] + r["completion"] for r in rows] == [chat(e) for e in expected]
        else:
            assert [r["messages"] for r in rows] == [chat(e) for e in expected]
        # The metadata column survives the conversion where the rows carry one.
        if fmt != "openai":
            assert [r.get("metadata") for r in rows] == [e.metadata or None for e in expected]


@pytest.mark.parametrize("fmt", FORMATS)
def test_axolotl_snippet_is_a_config_for_the_files(fmt: str) -> None:
    config = yaml.safe_load(loader_snippets(fmt)["axolotl"])
    [train] = config["datasets"]
    [evals] = config["test_datasets"]
    assert train["path"] == "train.jsonl" and evals["path"] == "eval.jsonl"
    assert train["ds_type"] == evals["ds_type"] == "json"
    # A single JSON file loads as one split named "train".
    assert evals["split"] == "train"
    if fmt == "alpaca":
        assert train["type"]["field_system"] == "system"
        assert train["type"]["field_instruction"] == "instruction"
    else:
        assert train["type"] == "chat_template"
        expected = "conversations" if fmt == "sharegpt" else "messages"
        assert train["field_messages"] == expected


def test_axolotl_reads_sharegpt_speakers() -> None:
    [train] = yaml.safe_load(loader_snippets("sharegpt")["axolotl"])["datasets"]
    assert train["message_property_mappings"] == {"role": "from", "content": "value"}
    assert train["roles"] == {"system": ["system"], "user": ["human"], "assistant": ["gpt"]}


def test_the_formats_axolotl_cannot_load_whole_say_so() -> None:
    assert "no loader" in loader_snippets("prompt-completion")["axolotl"]
    assert "history" in loader_snippets("alpaca")["axolotl"]


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt"])
def test_llama_factory_entry(fmt: str) -> None:
    entry = json.loads(loader_snippets(fmt)["llama-factory"])
    assert entry["synthgen_train"]["file_name"] == "train.jsonl"
    assert entry["synthgen_eval"]["file_name"] == "eval.jsonl"
    if fmt == "alpaca":
        assert entry["synthgen_train"]["columns"]["history"] == "history"
    else:
        assert entry["synthgen_train"]["formatting"] == "sharegpt"


def test_kinds_and_languages() -> None:
    for fmt in FORMATS:
        kinds = set(loader_snippets(fmt))
        assert {"axolotl", "trl"} <= kinds <= set(SNIPPET_LANGUAGE)
    assert set(loader_snippets("openai")) == {"axolotl", "trl"}


def test_without_an_eval_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    snippets = loader_snippets("sharegpt", train="data/train.jsonl", evals=None)
    assert "test_datasets" not in yaml.safe_load(snippets["axolotl"])
    assert "synthgen_eval" not in json.loads(snippets["llama-factory"])
    (tmp_path / "data").mkdir()
    write(CONVERSATIONS, tmp_path / "data" / "train.jsonl", fmt="sharegpt")
    monkeypatch.chdir(tmp_path)
    got = run_trl_snippet(snippets["trl"], tmp_path, monkeypatch)
    assert "eval_dataset" not in got and len(got["train_dataset"].rows) == 2


def test_unknown_format() -> None:
    with pytest.raises(ConfigError, match="openai"):
        loader_snippets("csv")
