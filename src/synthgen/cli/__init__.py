"""The command line: a thin mapping from flags to library calls."""

from synthgen.cli.app import main

__all__ = ["main"]
