"""synthgen: seed examples in, a clean, balanced fine-tuning dataset out.

    from synthgen import expand
    result = expand("seeds.txt", n=500, model="gpt-4o-mini", out_dir="out")
    result.train, result.eval, result.report

Names are imported on first use, so ``import synthgen`` (and ``synthgen --help``) stays
fast: the teacher SDKs load only when a run needs them.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from synthgen._version import __version__ as __version__

# A library logs; the application decides where it goes (the CLI's -v sends it to stderr).
logging.getLogger("synthgen").addHandler(logging.NullHandler())


_EXPORTS = {
    "expand": "run.expand",
    "merge": "run.merge",
    "aexpand": "run.expand",
    "Result": "run.result",
    "Settings": "settings",
    "Example": "data.example",
    "Message": "data.example",
    "load": "data.hf",
    "load_seeds": "data.seeds",
    "SeedSet": "data.seeds",
    "dedup": "data.dedup",
    "DedupIndex": "text.index",
    "split": "data.split",
    "write": "data.formats",
    "to_record": "data.formats",
    "validate_file": "data.validate",
    "load_template": "prompts.templates",
    "FakeTeacher": "testing",
    "SynthgenError": "errors",
    "InputError": "errors",
    "SeedError": "errors",
    "TemplateError": "errors",
    "ConfigError": "errors",
    "OutputExistsError": "errors",
    "RunError": "errors",
    "TeacherError": "errors",
    "TeacherFatalError": "errors",
    "BudgetExceeded": "errors",
    "Client": "service.client",
    "AsyncClient": "service.client",
}

__all__ = [
    "AsyncClient",
    "BudgetExceeded",
    "Client",
    "ConfigError",
    "DedupIndex",
    "Example",
    "FakeTeacher",
    "InputError",
    "Message",
    "OutputExistsError",
    "Result",
    "RunError",
    "SeedError",
    "SeedSet",
    "Settings",
    "SynthgenError",
    "TeacherError",
    "TeacherFatalError",
    "TemplateError",
    "aexpand",
    "dedup",
    "expand",
    "load",
    "load_seeds",
    "load_template",
    "merge",
    "split",
    "to_record",
    "validate_file",
    "write",
]

if TYPE_CHECKING:
    from synthgen.data.dedup import dedup
    from synthgen.data.example import Example, Message
    from synthgen.data.formats import to_record, write
    from synthgen.data.hf import load
    from synthgen.data.seeds import SeedSet, load_seeds
    from synthgen.data.split import split
    from synthgen.data.validate import validate_file
    from synthgen.errors import (
        BudgetExceeded,
        ConfigError,
        InputError,
        OutputExistsError,
        RunError,
        SeedError,
        SynthgenError,
        TeacherError,
        TeacherFatalError,
        TemplateError,
    )
    from synthgen.prompts.templates import load_template
    from synthgen.run.expand import aexpand, expand
    from synthgen.run.merge import merge
    from synthgen.run.result import Result
    from synthgen.service.client import AsyncClient, Client
    from synthgen.settings import Settings
    from synthgen.testing import FakeTeacher
    from synthgen.text.index import DedupIndex


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'synthgen' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
