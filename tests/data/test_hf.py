"""synthgen.load and datasets.load_dataset("json") on real output folders of every format."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import synthgen
from synthgen import ConfigError, InputError, expand
from synthgen.data.formats import FORMATS
from synthgen.data.hf import read_card
from tests.helpers import SAMPLES, read_jsonl

datasets = pytest.importorskip("datasets")

N = 30  # the demo teacher's 30 examples split 27 train, 3 eval
COLUMNS = {
    "openai": {"messages"},
    "trl": {"messages", "metadata"},
    "sharegpt": {"conversations", "metadata"},
    "prompt-completion": {"prompt", "completion", "metadata"},
    "alpaca": {"instruction", "input", "output", "system", "metadata"},
}


@pytest.fixture(scope="module")
def outs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """One demo run per output format (the trl one with a license). Read them, don't change
    them: the module shares them."""
    root = tmp_path_factory.mktemp("hf-outs")
    found = {}
    # Module-scoped, so the per-test clean environment is not in place yet.
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("SYNTHGEN_"):
                mp.delenv(name)
        mp.setenv("SYNTHGEN_CACHE_DIR", str(tmp_path_factory.mktemp("hf-cache")))
        for fmt in FORMATS:
            result = expand(
                SAMPLES / "support.jsonl",
                N,
                model="demo",
                out_dir=root / fmt,
                format=fmt,
                balance_by="category",
                license="cc-by-4.0" if fmt == "trl" else None,
            )
            assert result.complete
            found[fmt] = root / fmt
    yield found


def _no_none(value: Any) -> Any:
    """A row as datasets returns it, less the None it fills in for keys a row lacks."""
    if isinstance(value, dict):
        return {k: _no_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_no_none(v) for v in value]
    return value


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_dataset_json_reads_every_format(
    outs: dict[str, Path], fmt: str, tmp_path: Path
) -> None:
    out = outs[fmt]
    data = datasets.load_dataset(
        "json",
        data_files={"train": str(out / "train.jsonl"), "validation": str(out / "eval.jsonl")},
        cache_dir=str(tmp_path),
    )
    assert {k: v.num_rows for k, v in data.items()} == {"train": 27, "validation": 3}
    for split, file in (("train", "train.jsonl"), ("validation", "eval.jsonl")):
        assert set(data[split].column_names) == COLUMNS[fmt]
        assert _no_none(data[split].to_list()) == read_jsonl(out / file)


@pytest.mark.parametrize("fmt", FORMATS)
def test_load_reads_every_format(outs: dict[str, Path], fmt: str, tmp_path: Path) -> None:
    out = outs[fmt]
    data = synthgen.load(out, cache_dir=tmp_path)
    assert isinstance(data, datasets.DatasetDict)
    assert {k: v.num_rows for k, v in data.items()} == {"train": 27, "validation": 3}
    reference = datasets.load_dataset(
        "json",
        data_files={"train": str(out / "train.jsonl"), "validation": str(out / "eval.jsonl")},
        cache_dir=str(tmp_path / "reference"),
    )
    meta, text = read_card(out)
    for split in ("train", "validation"):
        part = data[split]
        assert set(part.column_names) == COLUMNS[fmt]
        # The same rows and types as the Hub's JSON loader gives.
        assert part.features == reference[split].features
        assert part.to_list() == reference[split].to_list()
        assert part.info.description == text
        assert text.startswith("# support (synthetic, synthgen)\n")
        assert part.info.dataset_name == meta["pretty_name"] == "support (synthetic, synthgen)"
        assert part.info.license == ("cc-by-4.0" if fmt == "trl" else "")
        assert part.info.homepage == part.info.citation == ""


@pytest.mark.parametrize("source", FORMATS)
@pytest.mark.parametrize("target", ["openai", "alpaca", "sharegpt"])
def test_load_converts_to_another_format(
    outs: dict[str, Path], source: str, target: str, tmp_path: Path
) -> None:
    """The demo teacher writes the same examples whatever the format, so a folder converted
    to ``target`` holds what the run that wrote ``target`` wrote, metadata included (from
    metadata.jsonl for openai rows)."""
    converted = synthgen.load(outs[source], format=target)
    written = synthgen.load(outs[target], cache_dir=tmp_path)
    assert list(converted) == ["train", "validation"]
    for split in ("train", "validation"):
        assert converted[split].column_names == written[split].column_names
        assert _no_none(converted[split].to_list()) == _no_none(written[split].to_list())


def test_split_names_come_from_the_card(outs: dict[str, Path], tmp_path: Path) -> None:
    """load() builds the splits the Hub would: from the card's configs."""
    out = tmp_path / "out"
    shutil.copytree(outs["sharegpt"], out)
    card = out / "README.md"
    card.write_text(
        card.read_text(encoding="utf-8").replace("split: validation", "split: test"),
        encoding="utf-8",
    )
    data = synthgen.load(out, cache_dir=tmp_path / "cache")
    assert {k: v.num_rows for k, v in data.items()} == {"train": 27, "test": 3}


def test_a_run_without_eval_loads_train_only(tmp_path: Path) -> None:
    # One example cannot be split: eval.jsonl is empty, and the card names no validation split.
    expand(SAMPLES / "support.jsonl", 1, model="demo", out_dir=tmp_path / "o")
    assert (tmp_path / "o" / "eval.jsonl").read_text(encoding="utf-8") == ""
    data = synthgen.load(tmp_path / "o", cache_dir=tmp_path / "cache")
    assert {k: v.num_rows for k, v in data.items()} == {"train": 1}


# The child records every connection attempt and name lookup, and refuses them all.
_OFFLINE_CHILD = """
import json, socket, sys
tried = []
def refuse(*args, **kwargs):
    tried.append(repr(args[:2]))
    raise OSError("no network in this test")
socket.socket.connect = lambda self, address: refuse(address)
socket.create_connection = refuse
socket.getaddrinfo = refuse
import synthgen
data = synthgen.load(sys.argv[1], cache_dir=sys.argv[2])
print(json.dumps({"rows": {k: v.num_rows for k, v in data.items()}, "tried": tried}))
"""


@pytest.mark.parametrize("offline", [True, False], ids=["offline-env", "no-offline-env"])
def test_load_makes_no_network_call(outs: dict[str, Path], tmp_path: Path, offline: bool) -> None:
    """Not even the download-count request load_dataset sends when HF_HUB_OFFLINE is unset."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["HF_HOME"] = str(tmp_path / "hf-home")
    if offline:
        env.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1")
    done = subprocess.run(
        [sys.executable, "-c", _OFFLINE_CHILD, str(outs["alpaca"]), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report == {"rows": {"train": 27, "validation": 3}, "tried": []}


# --- errors ----------------------------------------------------------------------------------


def test_missing_datasets_names_the_extra(
    outs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "datasets", None)  # what an environment without it has
    with pytest.raises(InputError) as caught:
        synthgen.load(outs["openai"])
    message = str(caught.value)
    assert message == "synthgen.load needs the datasets library: pip install 'synthgen[hf]'"


def test_not_an_output_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"not a synthgen output folder \(no report.json\)"):
        synthgen.load(tmp_path)
    with pytest.raises(InputError, match="no such folder"):
        synthgen.load(tmp_path / "missing")
    (tmp_path / ".synthgen").mkdir()
    with pytest.raises(InputError, match="an unfinished synthgen run"):
        synthgen.load(tmp_path)
    (tmp_path / "report.json").write_text('{"rows": 3}', encoding="utf-8")
    with pytest.raises(InputError, match=r"report\.json: not a synthgen report"):
        synthgen.load(tmp_path)


def test_bad_format_and_empty_folder(outs: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown output format 'chatml'"):
        synthgen.load(outs["openai"], format="chatml")
    out = tmp_path / "out"
    shutil.copytree(outs["openai"], out)
    for name in ("train.jsonl", "eval.jsonl"):
        (out / name).write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no rows to load: the run wrote no example"):
        synthgen.load(out)
    (out / "train.jsonl").unlink()
    with pytest.raises(InputError, match=r"train.jsonl: no such file \(the card in .* lists it"):
        synthgen.load(out)


def test_card_yaml_that_does_not_parse(outs: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(outs["openai"], out)
    (out / "README.md").write_text("---\na: 1\nb: x: y\n---\n# card\n", encoding="utf-8")
    problem = r"README.md:3: the card's YAML does not parse: mapping values are not allowed"
    with pytest.raises(InputError, match=problem) as caught:
        synthgen.load(out)
    assert "\n" not in str(caught.value)
