"""Redis for the tests: the shared server at 127.0.0.1:6379 under a key prefix of each test's
own (deleted after), and private servers a test may kill."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from pathlib import Path

SHARED_URL = "redis://127.0.0.1:6379/0"


def free_port() -> int:
    """A TCP port nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def unique_prefix() -> str:
    return f"synthgen-test:{uuid.uuid4().hex[:12]}"


def delete_prefix(prefix: str, url: str = SHARED_URL) -> None:
    """Remove every key of ``prefix`` (as RedisDedupIndex names them)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        names = list(client.scan_iter(match="{" + prefix + "}:*", count=1000))
        for start in range(0, len(names), 1000):
            client.unlink(*names[start : start + 1000])
    finally:
        client.close()


class PrivateRedis:
    """A redis-server of the test's own on a free port, with no persistence: killing it
    loses everything, as losing a real one mid-run would."""

    def __init__(self, folder: Path, port: int | None = None, password: str | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.password = password
        auth = f":{password}@" if password else ""
        self.url = f"redis://{auth}127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PrivateRedis:
        import redis

        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(
            ["redis-server", *args, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("the private redis-server did not start") from None
                time.sleep(0.02)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
