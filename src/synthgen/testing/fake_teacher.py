"""FakeTeacher: a real OpenAI-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` like OpenAI, answers with
scripted replies or deterministic placeholder data, and injects faults on demand::

    with FakeTeacher(replies=[{"conversations": []}, Fault("429", retry_after=0.1)]) as fake:
        client = AsyncOpenAI(base_url=fake.base_url, api_key="x")

Which reply a request gets: ``handler`` when given; else a 429 of a ``storm`` or of the
``rate_limit``; else a random fault drawn from ``faults`` (:mod:`synthgen.testing.faults`);
else the next scripted item of ``replies``; else the placeholder generator of the demo teacher
(:mod:`synthgen.teacher.demo`). Auth (``require_key``) and model checks (``model_names``,
``unknown_models``) come first, as at OpenAI.

Run it as a process for benchmarks and demos::

    python -m synthgen.testing --port 0 --latency 0.2 --faults 429=0.05,hang=0.02
"""

from __future__ import annotations

import inspect
import json
import threading
from collections import Counter, deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError
from synthgen.teacher.demo import MAX_PER_REPLY, DemoGenerator, demo_trace, rough_tokens
from synthgen.testing.batches import FakeBatches
from synthgen.testing.faults import Faults, RateLimit, Storm
from synthgen.testing.scripting import (
    ERRORS,
    REASONING_SHAPES,
    Fault,
    Handler,
    Reply,
    ReplyItem,
    completion_body,
    error_body,
)
from synthgen.testing.usage import PromptCache

if TYPE_CHECKING:
    import asyncio

    from aiohttp import web

__all__ = ["FakeTeacher"]  # the package (synthgen.testing) exports the rest

_REQUESTS_KEPT = 10_000


class FakeTeacher:
    """An OpenAI-compatible chat completions server in a background thread.

    Use as a context manager or call ``start()``/``stop()``. Counters (``request_count``,
    ``requests``, ``status_counts``, ``fault_counts``) are safe to read from any thread.
    Request headers are never stored or logged.
    """

    def __init__(
        self,
        *,
        replies: Sequence[ReplyItem] | None = None,
        handler: Handler | None = None,
        latency: float = 0.0,
        faults: dict[str, float] | None = None,
        fault_seed: int = 0,
        hang: float | None = None,
        storm: Storm | None = None,
        rate_limit: RateLimit | None = None,
        per_reply: int | None = None,
        seed: int = 0,
        model_names: Sequence[str] | None = None,
        unknown_models: set[str] | frozenset[str] | None = None,
        require_key: str | None = None,
        port: int = 0,
        batch_delay: float = 0.0,
        reasoning: str | None = None,
    ) -> None:
        if latency < 0:
            raise ConfigError(f"latency must be >= 0, got {latency}")
        if per_reply is not None and not 0 <= per_reply <= MAX_PER_REPLY:
            raise ConfigError(f"per_reply must be within 0..{MAX_PER_REPLY}, got {per_reply}")
        self._faults = Faults(faults, fault_seed, storm, rate_limit, hang)
        self._script = list(replies or [])
        self._handler = handler
        self._latency = latency
        self._per_reply = per_reply
        self._seed = seed
        self._model_names = list(model_names) if model_names is not None else None
        self._unknown_models = frozenset(unknown_models or ())
        self._require_key = require_key
        self._wanted_port = port
        # Generated and scripted (not Reply) replies come from a reasoning model: with a
        # placeholder trace sent this way (scripting.REASONING_SHAPES).
        if reasoning is not None and reasoning not in REASONING_SHAPES:
            raise ConfigError(f"reasoning must be one of {', '.join(REASONING_SHAPES)}")
        self._reasoning = reasoning
        # /v1/files and /v1/batches; a batch stays in progress for batch_delay seconds.
        self.batches = FakeBatches(self, delay=batch_delay)

        self._lock = threading.Lock()
        self._reset_state()

        self.port = 0
        self.base_url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._closing: asyncio.Event | None = None

    # ---- inspection -------------------------------------------------------------------------

    def _reset_state(self) -> None:
        with self._lock:
            self._request_count = 0
            self._requests: deque[dict[str, Any]] = deque(maxlen=_REQUESTS_KEPT)
            self._status_counts: Counter[int] = Counter()
            self._script_pos = 0
            self._generator = DemoGenerator(seed=self._seed, per_reply=self._per_reply)
            self._faults.reset()
            self._prompt_cache = PromptCache()  # cached_tokens as OpenAI reports them

    def reset(self) -> None:
        """Back to a fresh server: counters, recorded requests, script and RNGs restart."""
        self._reset_state()

    @property
    def request_count(self) -> int:
        """POSTs received on /v1/chat/completions, valid or not."""
        with self._lock:
            return self._request_count

    @property
    def requests(self) -> list[dict[str, Any]]:
        """JSON bodies of the last 10,000 chat requests, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def status_counts(self) -> Counter[int]:
        """HTTP statuses sent (drops and hangs send none)."""
        with self._lock:
            return Counter(self._status_counts)

    @property
    def fault_counts(self) -> Counter[str]:
        """Faults served, by kind (scripted or drawn)."""
        return self._faults.served()

    @property
    def hanging(self) -> int:
        """Requests hanging now (a "hang" fault the client has not given up on)."""
        return self._faults.hanging

    # ---- lifecycle --------------------------------------------------------------------------

    def __enter__(self) -> FakeTeacher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> FakeTeacher:
        """Bind 127.0.0.1 (port 0: the OS picks) and serve in a daemon thread."""
        import asyncio

        if self._thread is not None:
            raise RuntimeError("FakeTeacher is already running")
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="FakeTeacher", daemon=True)
        thread.start()
        try:
            self.port = asyncio.run_coroutine_threadsafe(self._astart(), loop).result(timeout=30)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            loop.close()
            raise
        self._loop, self._thread = loop, thread
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        return self

    def stop(self) -> None:
        """Stop serving; hung requests are dropped. Safe to call twice."""
        import asyncio

        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._astop(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()
            self._loop = self._thread = None

    async def _astart(self) -> int:
        import asyncio

        from aiohttp import web

        self._closing = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model}", self._model)
        self.batches.add_routes(app)
        # handler_cancellation: a client that gives up must not leave a hung handler behind.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await runner.setup()
        # A large backlog: 256 clients connecting at once must not wait on SYN retransmits.
        site = web.TCPSite(runner, "127.0.0.1", self._wanted_port, backlog=2048)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port: int = runner.addresses[0][1]
        return port

    async def _astop(self) -> None:
        import asyncio

        if self._closing is not None:
            self._closing.set()
        # Connections the OS accepted before stop() are set up over the next loop turns.
        # Closing the server under one of them leaks its socket (asyncio then refuses to
        # attach its transport), so let them come up first; cleanup() closes them.
        for _ in range(3):
            await asyncio.sleep(0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- HTTP handlers ----------------------------------------------------------------------

    def _json(
        self, payload: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        from aiohttp import web

        return self._send(
            web.Response(
                body=json.dumps(payload, ensure_ascii=False).encode(),
                status=status,
                headers=headers,
                content_type="application/json",
            )
        )

    def _send(self, response: web.Response) -> web.Response:
        with self._lock:
            self._status_counts[response.status] += 1
        return response

    def _error(
        self, kind: str, message: str | None = None, headers: dict[str, str] | None = None
    ) -> web.Response:
        return self._json(error_body(kind, message), ERRORS[kind][0], headers)

    def _auth_failure(self, request: web.Request) -> web.Response | None:
        if self._require_key is None:
            return None
        # Compared, never stored: the header value goes nowhere else.
        if request.headers.get("Authorization", "") == f"Bearer {self._require_key}":
            return None
        return self._error("401", "Incorrect API key provided (FakeTeacher).")

    def _model_failure(self, model: str) -> web.Response | None:
        known = self._model_names is None or model in self._model_names
        if known and model not in self._unknown_models:
            return None
        message = f"The model `{model}` does not exist or you do not have access to it."
        return self._error("404", message)

    def _model_card(self, name: str) -> dict[str, Any]:
        return {"id": name, "object": "model", "created": 0, "owned_by": "synthgen-fake"}

    async def _models(self, request: web.Request) -> web.Response:
        failure = self._auth_failure(request)
        if failure is not None:
            return failure
        names = self._model_names if self._model_names is not None else ["demo"]
        return self._json({"object": "list", "data": [self._model_card(n) for n in names]})

    async def _model(self, request: web.Request) -> web.Response:
        name = request.match_info["model"]
        failure = self._auth_failure(request) or self._model_failure(name)
        return failure or self._json(self._model_card(name))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        import asyncio

        with self._lock:
            index = self._request_count
            self._request_count += 1
        failure = self._auth_failure(request)
        if failure is not None:
            return failure
        try:
            body = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return self._error("400", "We could not parse the JSON body of your request.")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return self._error("400", "'messages' is a required property.")
        if not body["messages"]:
            return self._error("400", "[] is too short - 'messages'.")
        with self._lock:
            self._requests.append(body)
        if body.get("stream"):
            return self._error("400", "FakeTeacher does not support stream=true.")
        model = str(body.get("model", ""))
        failure = self._model_failure(model)
        if failure is not None:
            return failure
        if self._latency:
            await asyncio.sleep(self._latency)
        item, headers = await self._choose(body, index)
        if isinstance(item, Fault):
            response = await self._faults.serve(self, request, body, item, index)
        else:
            response = self._completion(body, self._content(body, item), index)
        if headers:
            response.headers.update(headers)
        return response

    async def _choose(
        self, body: dict[str, Any], index: int
    ) -> tuple[ReplyItem | None, dict[str, str] | None]:
        """The reply item for this request (None: "use the generator") and the rate-limit
        headers its reply carries."""
        if self._handler is not None:
            result = self._handler(body, index)
            if inspect.isawaitable(result):
                result = await result
            return result, None
        fault, headers = self._faults.draw() if self._faults.active else (None, None)
        if fault is not None:
            return fault, headers
        with self._lock:
            if self._script_pos < len(self._script):
                self._script_pos += 1
                return self._script[self._script_pos - 1], headers
        return None, headers

    def _content(self, body: dict[str, Any], item: ReplyItem | None) -> Reply:
        if (
            (item is None or isinstance(item, Fault))
            and "n" in body
            and not body.get("response_format")
        ):  # a request for the assistant's next turn (preference pairs): plain text
            item = Reply(self._generator.answer(body["messages"]))
        elif item is None or isinstance(item, Fault):
            item = self._generator.reply(body["messages"])
        if isinstance(item, Reply):
            return item
        text = item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)
        if self._reasoning is None:
            return Reply(text)
        trace = demo_trace(text)
        # Servers that send the trace in a field count its tokens (DeepSeek, OpenRouter).
        spent = None if self._reasoning == "think" else rough_tokens(trace)
        return Reply(text, reasoning=trace, reasoning_as=self._reasoning, reasoning_tokens=spent)

    def _completion(self, body: dict[str, Any], reply: Reply, index: int) -> web.Response:
        return self._json(self._prompt_cache.stamp(completion_body(body, reply, index), body))
