"""Where the ``synthgen`` logger's records go when the command line runs the library: stderr,
one line each (``synthgen: warning: ...``), redacted. Warnings by default, INFO with -v, only
errors with -q."""

from __future__ import annotations

import logging
import sys

__all__ = ["one_line", "printed", "setup_logging"]


class _StderrLines(logging.Handler):
    """One line per record. ``sys.stderr`` is looked up for each record, not kept: under the
    progress bar, rich puts a stand-in there that prints above the bar."""

    def __init__(self, level: int) -> None:
        super().__init__(level)
        self.printed: set[str] = set()  # the messages, as printed

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = one_line(record.getMessage())
            print(f"synthgen: {record.levelname.lower()}: {message}", file=sys.stderr, flush=True)
            self.printed.add(message)
        except Exception:
            self.handleError(record)


def one_line(message: str) -> str:
    return " ".join(message.split())


def printed() -> set[str]:
    """The messages the stderr handler has printed (e.g. the report's warnings, which the
    run also logs as they happen: the summary does not repeat them)."""
    for handler in logging.getLogger("synthgen").handlers:
        if isinstance(handler, _StderrLines):
            return handler.printed
    return set()


def setup_logging(*, verbose: bool = False, quiet: bool = False) -> None:
    from synthgen.redact import RedactFilter

    level = logging.INFO if verbose else logging.ERROR if quiet else logging.WARNING
    logger = logging.getLogger("synthgen")
    for old in [h for h in logger.handlers if isinstance(h, _StderrLines)]:
        logger.removeHandler(old)
    handler = _StderrLines(level)
    # On the handler: a filter on the logger would miss records of its child loggers.
    handler.addFilter(RedactFilter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False  # printed once, whatever the root logger does
