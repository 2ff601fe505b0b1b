"""A recording pass-through between synthgen and the real server.

synthgen talks to the recorder as it would to the server; the recorder forwards every request
unchanged, and keeps each exchange (the request body synthgen sent, the status and body the
server answered, how long it took), so a test can check what went over the wire: which
``response_format`` was sent after a refusal, whether ``max_tokens`` was set, how many 500s
were bought. It is plain standard library, one thread per connection.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Exchange:
    method: str
    path: str
    body: dict[str, Any] | None
    status: int
    reply: bytes
    seconds: float

    @property
    def reply_json(self) -> Any:
        try:
            return json.loads(self.reply)
        except ValueError:
            return None


class Recorder:
    """Forwards ``http://127.0.0.1:<port>/...`` to ``upstream`` (host, port)."""

    def __init__(
        self, upstream: tuple[str, int], *, cap: int | None = None, timeout: float = 600.0
    ) -> None:
        self.upstream = upstream
        # A request that sets no max_tokens is forwarded with max_tokens=cap, so that a
        # model looping to the context cannot hold the suite for minutes; the recorded body
        # is still the one the client sent.
        self.cap = cap
        self.exchanges: list[Exchange] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                sent = raw
                if (
                    recorder.cap is not None
                    and isinstance(body, dict)
                    and "messages" in body
                    and body.get("max_tokens") is None
                ):
                    sent = json.dumps({**body, "max_tokens": recorder.cap}).encode()
                started = time.monotonic()
                conn = http.client.HTTPConnection(*recorder.upstream, timeout=timeout)
                try:
                    headers = {"Content-Type": self.headers.get("Content-Type", "application/json")}
                    conn.request(self.command, self.path, body=sent or None, headers=headers)
                    resp = conn.getresponse()
                    status, reply = resp.status, resp.read()
                    ctype = resp.getheader("Content-Type", "application/json")
                except OSError as e:  # upstream gone: say so as a 502, like a gateway
                    status, reply, ctype = 502, str(e).encode(), "text/plain"
                finally:
                    conn.close()
                with recorder._lock:
                    recorder.exchanges.append(
                        Exchange(
                            self.command,
                            self.path,
                            body,
                            status,
                            reply,
                            time.monotonic() - started,
                        )
                    )
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", ctype)
                    self.send_header("Content-Length", str(len(reply)))
                    self.end_headers()
                    self.wfile.write(reply)
                except OSError:
                    pass  # the client gave up (its --timeout): nothing to answer

            do_GET = _forward
            do_POST = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> Recorder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def chat(self) -> list[Exchange]:
        """The chat-completion exchanges so far, in the order they were answered."""
        with self._lock:
            return [x for x in self.exchanges if x.path.endswith("/chat/completions")]
