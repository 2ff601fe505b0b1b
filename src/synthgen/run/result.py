"""What a run hands back to its caller: the examples, the report, where they were written."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synthgen.data.example import Example
from synthgen.report.model import Report

__all__ = ["Result"]


@dataclass
class Result:
    """What ``expand`` produced. ``complete`` is False when a budget, the yield guard or
    an interrupt ended the run early; ``report["stop"]`` says which.

    ``report`` is report.json as a dict (a dry run's holds the estimate instead);
    ``typed_report`` is the same report as a :class:`Report`, None for a dry run."""

    train: list[Example]
    eval: list[Example]
    report: dict[str, Any]
    out_dir: Path | None = None
    complete: bool = True
    previews: list[list[dict[str, str]]] = field(default_factory=list)
    typed_report: Report | None = None
