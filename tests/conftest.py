"""Shared fixtures: no real keys, no network, and a FakeTeacher to talk to.

Every test runs with provider keys removed and outgoing connections limited to loopback (the
idea of pydantic-ai's ``ALLOW_MODEL_REQUESTS = False``): a test that would reach a real
service fails at once with NetworkBlockedError instead of spending money or hanging.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from synthgen.testing import FakeTeacher

_SECRET_NAMES = {
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_API_BASE",
    "OPENAI_ORG_ID",
    "OPENAI_ORGANIZATION",
    "OPENAI_PROJECT_ID",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "GOOGLE_API_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "MISTRAL_API_KEY",
    "GROQ_API_KEY",
    "TOGETHER_API_KEY",
    "TOGETHERAI_API_KEY",
    "COHERE_API_KEY",
    "OPENROUTER_API_KEY",
    "DEEPSEEK_API_KEY",
    "FIREWORKS_API_KEY",
    "XAI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "HUGGINGFACE_API_KEY",
    "LITELLM_API_KEY",
    "LITELLM_PROXY_API_KEY",
}
# Catch-alls for providers not named above; SYNTHGEN_* so a developer's own settings
# (SYNTHGEN_MODEL, SYNTHGEN_BASE_URL, ...) never leak into a test.
_SECRET_PREFIXES = ("AWS_", "AZURE_", "VERTEX", "SYNTHGEN_")
_SECRET_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_BASE_URL")
# A proxy would route even 127.0.0.1 traffic elsewhere in some clients.
_PROXY_NAMES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Remove real provider keys and settings; give each test its own cache folder."""
    for name in list(os.environ):
        upper = name.upper()
        if (
            upper in _SECRET_NAMES
            or upper in _PROXY_NAMES
            or upper.startswith(_SECRET_PREFIXES)
            or upper.endswith(_SECRET_SUFFIXES)
        ):
            monkeypatch.delenv(name, raising=False)
    # A separate folder, so tests that list tmp_path do not see the cache.
    monkeypatch.setenv("SYNTHGEN_CACHE_DIR", str(tmp_path_factory.mktemp("synthgen-cache")))
    # Without it, importing litellm stalls for seconds retrying a network fetch.
    monkeypatch.setenv("LITELLM_LOCAL_MODEL_COST_MAP", "True")


class NetworkBlockedError(RuntimeError):
    """A test tried to reach something other than this machine.

    Deliberately not an OSError: clients would turn an OSError into a retryable connection
    error and a test could pass without noticing it had tried the network.
    """


def _is_local_host(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in ("localhost", "localhost.") or name.endswith(".localhost"):
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return  # AF_UNIX and friends stay on this machine
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_local_host(host):
        raise NetworkBlockedError(f"tests must not use the network: connect to {address!r}")


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Allow loopback and AF_UNIX connections only; refuse to resolve other names."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo
    own_name = socket.gethostname().lower()

    def connect(self: socket.socket, address: Any) -> None:
        _check_address(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_address(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # A DNS query is network traffic too, and the connect after it would fail anyway.
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        # Unspecified addresses are for binding a server, which contacts no one.
        allowed = name in (None, "", "0.0.0.0", "::") or str(name).lower() == own_name
        if not allowed and not _is_local_host(name):
            raise NetworkBlockedError(f"tests must not use the network: resolve {name!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def make_fake_teacher() -> Iterator[Callable[..., FakeTeacher]]:
    """Factory: ``make_fake_teacher(**options)`` returns a started FakeTeacher, stopped after."""
    started: list[FakeTeacher] = []

    def make(**options: Any) -> FakeTeacher:
        fake = FakeTeacher(**options).start()
        started.append(fake)
        return fake

    yield make
    for fake in started:
        fake.stop()


@pytest.fixture
def fake_teacher(make_fake_teacher: Callable[..., FakeTeacher]) -> FakeTeacher:
    """A started FakeTeacher with default settings (placeholder data, no faults)."""
    return make_fake_teacher()
