"""``synthgen serve`` as a real subprocess on a free port, for the service tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx

SEEDS = [
    {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
    for q, a in [
        ("How do I reset my password?", "Open Settings, then Account, and choose Reset password."),
        ("Can I export my notes?", "Yes: File, then Export, lets you save notes as Markdown."),
        ("Why is sync slow?", "Large attachments sync last; check Settings, then Sync status."),
        ("How do I share a notebook?", "Right-click the notebook and choose Share with a link."),
    ]
]


class Server:
    """A running ``synthgen serve``; ``url`` once it answers /healthz."""

    def __init__(self, data: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.data = data
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.stderr_path = data.parent / f"{data.name}-serve.stderr"

    def start(self, timeout: float = 60) -> Server:
        command = [sys.executable, "-m", "synthgen", "serve", "--port", "0"]
        command += ["--data", str(self.data), *self.args]
        with self.stderr_path.open("a") as err:
            self.proc = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=err, text=True, env=self.env
            )
        line = _first_line(self.proc, timeout)
        if "listening on " not in line:
            raise RuntimeError(f"serve did not start: {line!r} {self.stderr()}")
        self.url = line.split("listening on ", 1)[1].split()[0]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/healthz", timeout=5).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve did not answer /healthz: {self.stderr()}")

    def stderr(self) -> str:
        return self.stderr_path.read_text() if self.stderr_path.exists() else ""

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)
        self._close()

    def _close(self) -> None:
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            self._close()
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self._close()


def _first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """stdout's first line, or '' if the process says nothing in time."""
    box: list[str] = []
    reader = threading.Thread(
        target=lambda: box.append(proc.stdout.readline() if proc.stdout else "")
    )
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    return box[0] if box else ""


def wait_for(client: httpx.Client, job_id: str, timeout: float = 120) -> dict[str, Any]:
    """Poll until the job reaches a terminal state; its final JobView."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/v1/jobs/{job_id}").json()
        if view["state"] in ("succeeded", "failed", "cancelled"):
            return view
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not finish: {view}")


def job_body(fake_url: str, n: int, **settings: Any) -> dict[str, Any]:
    """A job on a FakeTeacher, with inline seeds."""
    return {
        "seeds": SEEDS,
        "settings": {"n": n, "model": "m", "base_url": fake_url, "language": None, **settings},
    }
