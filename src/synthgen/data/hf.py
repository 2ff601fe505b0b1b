"""``synthgen.load``: an output folder as a ``datasets.DatasetDict``, read the way the Hub
reads it once the folder is uploaded.

The splits and their files come from the ``configs`` of the dataset card's YAML
(OUT/README.md), the same list the Hub builds its splits from: ``train`` from train.jsonl and,
when the run held examples out, ``validation`` from eval.jsonl. The files are read by the JSON
builder that ``datasets.load_dataset("json", data_files=...)`` runs (the Hub's loader for
JSONL), so rows and features are the same, but not through ``load_dataset`` itself, which
sends a download-count request unless HF_HUB_OFFLINE is set: ``load`` makes no network call.

Each split's ``.info`` carries the card: ``description`` is its text (the markdown after the
YAML), ``dataset_name`` its ``pretty_name``, ``license`` its ``license`` (empty when the run
gave none); ``homepage`` and ``citation`` stay empty. The full run report is OUT/report.json
(:func:`read_card` gives the card's YAML as a dict).

``datasets`` is imported only here, on first use: ``pip install 'synthgen[hf]'``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from synthgen.data.formats import FORMATS, to_record
from synthgen.data.seeds import read_records
from synthgen.data.sidecar import SIDECAR_NAME, read_metadata
from synthgen.errors import ConfigError, InputError

if TYPE_CHECKING:
    import datasets

__all__ = ["EXTRA", "load", "read_card"]

# What to install for load(): the extra in pyproject.toml that brings `datasets`.
EXTRA = "synthgen[hf]"
CARD = "README.md"
REPORT = "report.json"
# run.outdir.STATE_DIR: where a run keeps its journal (that layer sits above this one).
_STATE_DIR = ".synthgen"


def load(
    out_dir: str | os.PathLike[str],
    *,
    format: str | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> datasets.DatasetDict:
    """The splits of a synthgen output folder as a ``DatasetDict`` (``train``, and
    ``validation`` when the run held examples out), with the dataset card on each split's
    ``.info``.

    ``format`` None reads the rows as they were written. Another output format (``openai``,
    ``prompt-completion``, ``sharegpt``, ``alpaca``, ``trl``) converts every row to it, with
    its metadata (from metadata.jsonl when the rows were written without it), built in memory.
    ``cache_dir`` is where the JSON builder keeps its Arrow files (default: the datasets
    library's cache folder)."""
    folder = Path(out_dir)
    written = _written_format(folder)
    if format is not None and format not in FORMATS:
        raise ConfigError(f"unknown output format {format!r}; choose one of: {', '.join(FORMATS)}")
    meta, text = read_card(folder)
    files = _split_files(folder, meta)
    ds = _datasets()
    if format is None or format == written:
        # The JSON builder load_dataset("json") runs, minus load_dataset's download-count
        # request to the Hub's servers: a local folder is read without the network.
        found = ds.DatasetDict.from_json(
            {name: [str(p) for p in paths] for name, paths in files.items()},
            cache_dir=None if cache_dir is None else str(cache_dir),
        )
    else:
        found = ds.DatasetDict(
            {name: _converted(folder, paths, written, format) for name, paths in files.items()}
        )
    for part in found.values():
        info = part.info
        info.description = text
        info.dataset_name = str(meta.get("pretty_name") or "")
        info.license = str(meta.get("license") or "")
        info.homepage = ""
        info.citation = ""
    return found


def read_card(out_dir: str | os.PathLike[str]) -> tuple[dict[str, Any], str]:
    """``(metadata, text)`` of OUT/README.md: the YAML between its ``---`` lines as a dict
    (empty when the card has none) and the markdown after it. A missing card is
    ``({}, "")``; YAML that does not parse is an ``InputError`` naming the file."""
    import yaml

    path = Path(out_dir) / CARD
    try:
        card = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, ""
    except OSError as e:
        raise InputError(f"{path}: cannot read: {e.strerror or e}") from None
    if not card.startswith("---\n"):
        return {}, card
    head, sep, body = card[4:].partition("\n---\n")
    if not sep:
        return {}, card
    try:
        meta = yaml.safe_load(head)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        # The mark counts from the line after the opening ---, from 0.
        where = f"{path}:{mark.line + 2}" if mark is not None else str(path)
        problem = getattr(e, "problem", None) or " ".join(str(e).split())
        raise InputError(f"{where}: the card's YAML does not parse: {problem}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise InputError(f"{path}: the YAML between the --- lines is not a mapping")
    return meta, body.lstrip("\n")


def _datasets() -> Any:
    try:
        import datasets
    except ImportError:
        raise InputError(
            f"synthgen.load needs the datasets library: pip install '{EXTRA}'"
        ) from None
    return datasets


def _written_format(folder: Path) -> str:
    """The format the run wrote, from report.json; a folder without one is not an output."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such folder")
    path = folder / REPORT
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if (folder / _STATE_DIR).is_dir():
            raise InputError(
                f"{folder}: an unfinished synthgen run (no {REPORT} yet): run the same"
                " `synthgen expand` command again to finish it"
            ) from None
        raise InputError(
            f"{folder}: not a synthgen output folder (no {REPORT}); give the folder"
            " `synthgen expand -o` wrote"
        ) from None
    except (OSError, ValueError) as e:
        raise InputError(f"{path}: cannot read it as JSON: {e}") from None
    settings = report.get("settings") if isinstance(report, dict) else None
    fmt = settings.get("format") if isinstance(settings, dict) else None
    if fmt not in FORMATS:
        raise InputError(
            f"{path}: not a synthgen report (no settings.format naming an output format)"
        )
    return str(fmt)


def _split_files(folder: Path, meta: Mapping[str, Any]) -> dict[str, list[Path]]:
    """``{split: files}`` from the card's default config, the list the Hub reads; a card
    without one gives train.jsonl and eval.jsonl as ``train`` and ``validation``. Empty files
    are left out: ``load_dataset`` cannot read one, and an empty eval split is no split."""
    listed = _card_files(meta)
    if listed is None:
        listed = {"train": ["train.jsonl"], "validation": ["eval.jsonl"]}
    out: dict[str, list[Path]] = {}
    for name, paths in listed.items():
        kept = [folder / p for p in paths if _has_rows(folder / p, folder)]
        if kept:
            out[name] = kept
    if not out:
        raise InputError(f"{folder}: no rows to load: the run wrote no example")
    return out


def _card_files(meta: Mapping[str, Any]) -> dict[str, list[str]] | None:
    configs = meta.get("configs")
    if not isinstance(configs, list) or not configs:
        return None
    chosen = next(
        (c for c in configs if isinstance(c, dict) and c.get("config_name") == "default"),
        configs[0],
    )
    entries = chosen.get("data_files") if isinstance(chosen, dict) else None
    if not isinstance(entries, list):
        return None
    out: dict[str, list[str]] = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("split"), str):
            continue
        path = entry.get("path")
        paths = [path] if isinstance(path, str) else path
        if isinstance(paths, list):
            out.setdefault(entry["split"], []).extend(str(p) for p in paths)
    return out or None


def _has_rows(path: Path, folder: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        raise InputError(f"{path}: no such file (the card in {folder / CARD} lists it)") from None


def _converted(folder: Path, paths: list[Path], written: str, fmt: str) -> Any:
    """One split's rows read back into examples and written in ``fmt``."""
    sidecar: dict[str, list[dict[str, Any]]] = {}
    if written == "openai" and (folder / SIDECAR_NAME).is_file():
        # openai rows cannot carry metadata: the sidecar has it, by split and position.
        sidecar = read_metadata(folder)
    records: list[dict[str, Any]] = []
    for path in paths:
        extra = sidecar.get(path.stem, [])
        for index, (_, example) in enumerate(read_records(path)):
            if index < len(extra) and not example.metadata:
                example = example.model_copy(update={"metadata": extra[index]})
            records.append(to_record(example, fmt))
    # Every key of every row: a key only some rows have (alpaca's history) stays a column.
    keys = list(dict.fromkeys(k for r in records for k in r))
    return _datasets().Dataset.from_dict({k: [r.get(k) for r in records] for k in keys})
