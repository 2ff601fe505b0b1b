"""``synthgen merge``: the output folders of a job's shards (``expand --shard I/N``) joined into
one dataset, written as one run of the job writes it.

What is read: each shard's job marker (which shard of which job), its report.json (it has
written its dataset, so its run is over) and its journal, whose accepted examples are the
data (the written files are in the output format, which may have lost fields; the journal has
every example as curated, with its metadata, and every count). Every check comes before
anything is written: a folder that is missing, not a shard, still running or unfinished,
shards of other jobs (anything but ``--shard`` differs) or a shard missing or given twice are
an InputError (exit 2) naming the folder, and OUT is checked as ``expand`` checks it.

What is written to OUT: the examples of all shards in the job's request order (a shard's
request numbers are turned back into the job's, in metadata.jsonl and rejected.jsonl too),
less any near-duplicate of an earlier one (none when the shards shared a ``--dedup-index``;
shards with an index each their own can write some, which are dropped here and counted),
split by the same leakage-free, stratified split as ``expand``, with one report.json
(:mod:`synthgen.run.merge_report`) and one dataset card. A shard that stopped short (a
budget, the yield guard) makes a short merge, as a short ``expand`` is: what there is is
written, ``complete`` is false and the report's stop names the shard.
"""

from __future__ import annotations

import heapq
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.data.example import Example
from synthgen.errors import InputError
from synthgen.prompts.plan import shard_request
from synthgen.report.model import Report
from synthgen.run.journal import RunState
from synthgen.run.ledger import Ledger
from synthgen.run.outdir import MARKER, STATE_DIR, OutLock, read_marker
from synthgen.run.result import Result
from synthgen.run.settled import SettledLog
from synthgen.run.shard import SHARD_KEY, merged_job, shared_job
from synthgen.settings.naming import setting
from synthgen.settings.shard import parse_shard

__all__ = ["Merged", "ShardRun", "merge"]


@dataclass
class ShardRun:
    """One shard's finished run, its folder locked while it is read."""

    dir: Path
    index: int
    count: int
    job: dict[str, Any]
    report: Report
    lock: OutLock

    @property
    def name(self) -> str:
        return f"{self.dir} (shard {self.index}/{self.count})"

    def request(self, ordinal: int) -> int:
        """The job's number of this shard's request ``ordinal``."""
        return shard_request(
            ordinal,
            categories=len(self.report.quotas),
            cycle=sum(t.weight for t in self.report.teacher.templates),
            shard=(self.index, self.count),
        )

    def state(self) -> RunState:
        return RunState(self.dir, self.job)


@dataclass
class Merged:
    """The shards' examples in the job's request order, and their counts summed."""

    examples: list[Example]
    ledger: Ledger
    dropped: Counter[str] = field(default_factory=Counter)  # cross-shard duplicates, by reason


def merge(
    shard_dirs: Sequence[str | Path],
    out_dir: str | Path,
    *,
    force: bool = False,
    command: str | None = None,
) -> Result:
    """Join the output folders of a job's shards (``expand(..., shard="i/N")``) into one
    dataset in ``out_dir``: all N shards, each finished; ``force`` replaces another job's
    files in ``out_dir``; ``command`` is how the merge was started, for the card. The
    result is ``complete`` when every shard was and the merge has exactly ``n`` examples."""
    from synthgen.run.merge_report import write_merged

    out = Path(out_dir)
    if not shard_dirs:
        raise InputError("merge needs the output folders of a job's shards (expand --shard I/N)")
    shards: list[ShardRun] = []
    try:
        seen: set[Path] = set()
        for d in map(Path, shard_dirs):
            if d.resolve() not in seen:  # a folder given twice (or by two paths) is read once
                seen.add(d.resolve())
                shards.append(_open_shard(d))
        _check_together(shards, out)
        merged = _collect(shards)
        state = RunState(out, merged_job(shards[0].job))
        state.check(force=force)  # raises before anything is written
        return write_merged(shards, merged, state, command=command)
    finally:
        for shard in shards:
            shard.lock.release()


def _open_shard(d: Path) -> ShardRun:
    if not d.is_dir():
        raise InputError(f"{d}: {'is not a folder' if d.exists() else 'no such folder'}")
    if read_marker(d) is None:
        raise InputError(f"{d}: holds no synthgen run ({STATE_DIR}/{MARKER})")
    job = json.loads((d / STATE_DIR / MARKER).read_bytes()).get("job")
    if not isinstance(job, dict) or not isinstance(job.get(SHARD_KEY), str):
        raise InputError(
            f"{d}: was not made with {setting('shard')} (a whole job's folder); merge joins "
            "the folders of the shards of one job"
        )
    index, count = parse_shard(job[SHARD_KEY])
    lock = OutLock.acquire(d / STATE_DIR, d)  # OutputInUseError while its run goes on
    try:
        try:
            report = Report.model_validate_json((d / "report.json").read_bytes())
        except FileNotFoundError:
            raise InputError(
                f"{d}: shard {index}/{count} has not written its dataset (no report.json): "
                "run its command again to finish it (it resumes)"
            ) from None
        except ValueError as e:
            raise InputError(f"{d / 'report.json'}: cannot be read ({_first_line(e)})") from None
    except BaseException:
        lock.release()
        raise
    return ShardRun(d, index, count, job, report, lock)


def _first_line(e: BaseException) -> str:
    return str(e).splitlines()[0] if str(e) else type(e).__name__


def _check_together(shards: list[ShardRun], out: Path) -> None:
    first = shards[0]
    seen: dict[int, ShardRun] = {}
    for shard in shards:
        if shard.count != first.count:
            raise InputError(
                f"{shard.dir}: is shard {shard.index}/{shard.count}, and {first.dir} shard "
                f"{first.index}/{first.count}: not shards of one job"
            )
        key = _difference(shared_job(first.job), shared_job(shard.job))
        if key is not None:
            raise InputError(
                f"{shard.dir}: is another job than {first.dir} (its {key!r} differs); the "
                f"shards of one job differ only in {setting('shard')}"
            )
        if shard.index in seen:
            raise InputError(
                f"{seen[shard.index].dir} and {shard.dir}: are both shard "
                f"{shard.index}/{shard.count}"
            )
        seen[shard.index] = shard
    missing = [f"{i}/{first.count}" for i in range(first.count) if i not in seen]
    if missing:
        raise InputError(
            f"shard {', '.join(missing)} missing: give the folders of all {first.count} shards"
        )
    where = out.resolve()
    for shard in shards:
        home = shard.dir.resolve()
        if where == home or home in where.parents:
            raise InputError(
                f"{setting('out_dir')} {out}: is {'in ' if where != home else ''}the folder of "
                f"shard {shard.index}/{shard.count}; merge into a folder of its own"
            )


def _difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first key whose value differs between two jobs, or None."""
    for key in [*a, *(k for k in b if k not in a)]:
        if a.get(key) != b.get(key):
            return key
    return None


def _collect(shards: list[ShardRun]) -> Merged:
    """Every shard's journal counted into one ledger, and the accepted examples in the job's
    request order, less the duplicates of earlier ones."""
    from synthgen.text.index import DedupIndex

    balance_by = shards[0].report.settings.balance_by
    ledger = Ledger(balance_by=balance_by)
    found: list[tuple[int, int, Example]] = []
    for shard in sorted(shards, key=lambda s: s.index):
        accepted = 0
        for record in shard.state().replay():
            ledger.count(record)
            number = shard.request(record.i)
            for j, example in enumerate(record.acc):
                found.append((number, j, example.with_metadata(request=number)))
            accepted += len(record.acc)
        if accepted != shard.report.accepted:
            raise InputError(
                f"{shard.dir}: its journal holds {accepted} accepted examples and its "
                f"report.json {shard.report.accepted}: a run of it stopped before writing its "
                "dataset; run its command again to finish it (it resumes)"
            )
        for entry in SettledLog(shard.dir / STATE_DIR).read():
            ledger.count_settled(entry)
    ledger.stats.sent = sum(s.report.requests.sent for s in shards)
    found.sort(key=lambda item: (item[0], item[1]))
    index = DedupIndex(threshold=float(shards[0].report.settings.model_dump()["dedup_threshold"]))
    merged = Merged(examples=[], ledger=ledger)
    for number, j, example in found:
        match = index.check_and_add(f"{number}:{j}", example.dedup_text())
        if match is None:
            merged.examples.append(example)
            continue
        merged.dropped[match.reason] += 1
        stats = ledger.stats
        stats.accepted -= 1
        stats.rejected[match.reason] += 1
        category = example.metadata.get(balance_by) if balance_by else None
        stats.per_category[str(category) if category is not None else "all"] -= 1
    return merged


def journal_rows(shards: list[ShardRun], kind: str) -> Iterator[dict[str, Any]]:
    """The shards' rejected.jsonl (``kind`` "rejected") or failures.jsonl ("failures") rows
    in the job's request order, each with the job's request number."""

    def rows(shard: ShardRun) -> Iterator[dict[str, Any]]:
        state = shard.state()
        for row in state.rejected() if kind == "rejected" else state.failures():
            yield {**row, "request": shard.request(int(row["request"]))}

    return heapq.merge(*(rows(s) for s in shards), key=lambda row: int(row["request"]))
