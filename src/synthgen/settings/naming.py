"""How a message names a setting, for whoever called: by its flag when the command line runs
the library (``--force``, ``--max-cost 5``), by its parameter otherwise (``force=True``,
``max_cost=5``). The CLI says which around everything it runs, with :func:`flag_names`; the
choice follows the context into the run's tasks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

__all__ = ["flag_names", "flags_named", "setting"]

_FLAGS: ContextVar[bool] = ContextVar("synthgen_flag_names", default=False)
_NO_VALUE = object()


@contextlib.contextmanager
def flag_names() -> Iterator[None]:
    """Within this block, messages name settings by their command-line flags."""
    token = _FLAGS.set(True)
    try:
        yield
    finally:
        _FLAGS.reset(token)


def flags_named() -> bool:
    """Whether messages name flags here: so that work handed to another process (a Ray
    task) can name them as its caller would."""
    return _FLAGS.get()


def setting(name: str, value: object = _NO_VALUE) -> str:
    """The Settings field ``name`` (set to ``value``, when given) as the caller knows it:
    ``--max-cost 5`` / ``max_cost=5``; ``--force`` / ``force=True``; ``-o`` / ``out_dir``."""
    from synthgen.settings.model import Settings
    from synthgen.settings.spec import spec_of

    spec = spec_of(Settings.model_fields[name])
    if not (_FLAGS.get() and spec.flags):
        return name if value is _NO_VALUE else f"{name}={value!r}"
    flag = spec.flags[0]
    if value is _NO_VALUE or (isinstance(value, bool) and value != spec.negated):
        return flag
    if value is None and spec.none_as is not None:
        return f"{flag} {spec.none_as}"
    return f"{flag} {value}"
