"""Service fixtures: a real ``synthgen serve`` subprocess, and PostgreSQL databases of
their own (created with a random name, dropped after)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.service.server import Server

PG_ADMIN = "postgresql://127.0.0.1:5432/test"


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """``start_server(*serve_args, data=None)``: a started server, stopped after the test."""
    started: list[Server] = []

    def start(*args: str, data: Path | None = None, env: dict[str, str] | None = None) -> Server:
        server = Server(data or tmp_path / "data", *args, env=env).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database on 127.0.0.1:5432, dropped after the test."""
    import psycopg

    name = f"synthgen_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
