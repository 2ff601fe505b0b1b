"""The data folder: uploads and job folders, what a job's files are called, and reading
examples back for the browser. Nothing is written for a request that is refused: an upload
or inline seeds are checked in a staging folder and moved into place only once they read."""

from __future__ import annotations

import json
import re
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from synthgen.errors import InputError, SeedError

__all__ = ["DataDir", "new_id"]

# Download names of a finished job, and where each lives in its output folder.
JOB_FILES = {
    "train.jsonl": "train.jsonl",
    "eval.jsonl": "eval.jsonl",
    "report.json": "report.json",
    "README.md": "README.md",
    "rejected.jsonl": ".synthgen/rejected.jsonl",
}
SPLIT_FILES = {"train": "train.jsonl", "eval": "eval.jsonl", "rejected": "rejected.jsonl"}
SEED_EXTENSIONS = (".jsonl", ".ndjson", ".json", ".txt", ".csv", ".tsv")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def new_id(prefix: str) -> str:
    """Unguessable: 128 random bits."""
    return f"{prefix}_{secrets.token_urlsafe(16)}"


class DataDir:
    """``DATA/files/<file id>/seeds.<ext>`` for uploads, ``DATA/jobs/<job id>/`` for jobs (its
    seeds beside ``out/``, the output folder), ``DATA/cache/`` for the response cache."""

    def __init__(self, root: Path) -> None:
        self.root = root
        for sub in ("files", "jobs", "staging"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    def job_dir(self, job_id: str) -> Path:
        return self.root / "jobs" / job_id

    def out_dir(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "out"

    def seeds_path(self, job_id: str, name: str) -> Path:
        return self.job_dir(job_id) / name

    def upload_path(self, file_id: str, name: str) -> Path:
        return self.root / "files" / file_id / name

    def stage(self) -> Path:
        path = self.root / "staging" / secrets.token_hex(8)
        path.mkdir()
        return path

    def store_upload(self, name: str, chunks: Iterable[bytes]) -> tuple[str, Path, int, int]:
        """Write an upload, read it with the seed readers (SeedError, naming ``name``, when
        it is empty, binary or malformed), and keep it: (file id, path, bytes, examples)."""
        from synthgen.data.seeds import load_seeds

        ext = seed_extension(name)
        staging = self.stage()
        try:
            path = staging / f"seeds{ext}"
            size = 0
            with path.open("wb") as f:
                for chunk in chunks:
                    size += len(chunk)
                    f.write(chunk)
            if size == 0:
                raise SeedError(f"{name}: the file is empty")
            examples = len(checked(lambda: load_seeds(path), path, name))
            file_id = new_id("file")
            final = self.upload_path(file_id, path.name)
            final.parent.mkdir(parents=True)
            path.replace(final)
            return file_id, final, size, examples
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def write_inline(self, seeds: list[dict[str, Any] | str]) -> Path:
        """Inline seeds as a file in a staging folder (objects: JSONL, text: one per line),
        so that the job reads, and after a restart re-reads, one file like any other."""
        if not seeds:
            raise SeedError("seeds: the list is empty")
        texts = [s for s in seeds if isinstance(s, str)]
        if texts and len(texts) != len(seeds):
            raise SeedError("seeds: give all objects or all text lines, not a mix")
        staging = self.stage()
        if texts:
            bad = next((i for i, t in enumerate(texts) if "\n" in t or "\r" in t), None)
            if bad is not None:
                shutil.rmtree(staging, ignore_errors=True)
                raise SeedError(f"seeds: item {bad + 1}: a text seed is one line")
            path = staging / "seeds.txt"
            path.write_text("".join(f"{t}\n" for t in texts), encoding="utf-8")
        else:
            path = staging / "seeds.jsonl"
            lines = (json.dumps(s, ensure_ascii=False) + "\n" for s in seeds)
            path.write_text("".join(lines), encoding="utf-8")
        return path

    def adopt(self, staged: Path, job_id: str) -> str:
        """Move (or, for an upload, copy) the checked seeds into the new job's folder."""
        folder = self.job_dir(job_id)
        folder.mkdir(parents=True)
        target = folder / staged.name
        if staged.is_relative_to(self.root / "staging"):
            staged.replace(target)
            shutil.rmtree(staged.parent, ignore_errors=True)
        else:
            shutil.copyfile(staged, target)
        return staged.name

    def discard_staged(self, staged: Path) -> None:
        if staged.is_relative_to(self.root / "staging"):
            shutil.rmtree(staged.parent, ignore_errors=True)

    def remove_job(self, job_id: str) -> None:
        shutil.rmtree(self.job_dir(job_id), ignore_errors=True)

    def job_files(self, job_id: str) -> list[str]:
        """The download names of the files a job has written."""
        out = self.out_dir(job_id)
        return [name for name, rel in JOB_FILES.items() if (out / rel).is_file()]

    def job_file(self, job_id: str, name: str) -> Path | None:
        """The file behind a download name, only for names on the fixed list."""
        rel = JOB_FILES.get(name)
        path = self.out_dir(job_id) / rel if rel else None
        return path if path is not None and path.is_file() else None

    def examples(
        self, job_id: str, split: str, offset: int, limit: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """(how many, the page) of a finished job's train, eval or rejected examples."""
        path = self.job_file(job_id, SPLIT_FILES[split])
        if path is None:
            return 0, []
        items: list[dict[str, Any]] = []
        total = 0
        with path.open("rb") as f:
            for total, line in enumerate(f, 1):
                if offset < total <= offset + limit:
                    items.append(_item(total - 1, json.loads(line), rejected=split == "rejected"))
        return total, items


def _item(index: int, row: dict[str, Any], *, rejected: bool) -> dict[str, Any]:
    if not rejected:
        return {"index": index, "record": row, "reason": None, "detail": None}
    record = {k: v for k, v in row.items() if k not in ("reason", "detail")}
    return {
        "index": index,
        "record": record,
        "reason": row.get("reason"),
        "detail": row.get("detail"),
    }


def seed_extension(name: str) -> str:
    """The extension of an uploaded seeds file; SeedError for one synthgen does not read."""
    base = _SAFE_NAME.sub("_", Path(name).name).lower()
    ext = next((e for e in SEED_EXTENSIONS if base.endswith(e)), None)
    if ext is None:
        raise SeedError(
            f"{safe_name(name)}: a seeds file must end with {', '.join(SEED_EXTENSIONS)}"
        )
    return ext


def safe_name(name: str) -> str:
    """A client's file name as it may be echoed and stored: its last part, plain characters."""
    return _SAFE_NAME.sub("_", Path(name.replace("\\", "/")).name)[:200] or "upload"


def checked(load: Any, path: Path, name: str) -> Any:
    """Run ``load``, its errors naming ``name`` instead of the server's path."""
    try:
        return load()
    except InputError as e:
        raise type(e)(str(e).replace(str(path), name)) from None
