"""The one place the version lives (pyproject reads it; report.json carries it)."""

__version__ = "0.1.0"
