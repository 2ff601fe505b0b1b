"""The public API: every exported name exists, and importing the CLI stays light."""

from __future__ import annotations

import subprocess
import sys

import synthgen


def test_all_exports_resolve():
    assert synthgen.__all__ == sorted(synthgen.__all__)
    for name in synthgen.__all__:
        assert getattr(synthgen, name) is not None, name


def test_cli_import_does_not_load_heavy_modules():
    code = (
        "import sys, synthgen.cli;"
        "heavy = ('openai', 'litellm', 'datasketch', 'numpy', 'tiktoken', 'aiohttp', 'rich',"
        " 'jinja2', 'ray', 'datasets', 'torch', 'sentence_transformers', 'transformers');"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
