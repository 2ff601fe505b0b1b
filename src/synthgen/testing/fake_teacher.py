"""FakeTeacher: a real OpenAI-compatible HTTP server on 127.0.0.1 for tests and ``--model demo``.

It speaks ``POST /v1/chat/completions`` and ``GET /v1/models`` like OpenAI, answers with
scripted replies or deterministic placeholder data, and injects faults on demand::

    with FakeTeacher(replies=[{"conversations": []}, Fault("429", retry_after=0.1)]) as fake:
        client = AsyncOpenAI(base_url=fake.base_url, api_key="x")

Which reply a request gets: ``handler`` when given; else a random fault drawn from ``faults``;
else the next scripted item of ``replies``; else the built-in generator. Auth (``require_key``)
and model checks (``model_names``, ``unknown_models``) come first, as at OpenAI.

Run it as a process for benchmarks and demos::

    python -m synthgen.testing --port 0 --latency 0.2 --faults 429=0.05,hang=0.02
"""

from __future__ import annotations

import contextlib
import hashlib
import inspect
import json
import random
import re
import threading
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from synthgen.errors import ConfigError

if TYPE_CHECKING:
    import asyncio

    from aiohttp import web

__all__ = ["FAULT_KINDS", "FakeTeacher", "Fault", "Reply", "ReplyItem", "demo_reply", "main"]

FAULT_KINDS = frozenset(
    {"400", "401", "403", "404", "429", "500", "503"}
    | {"slow", "hang", "drop", "malformed", "length", "empty"}
)
_DEFAULT_SLOW = 1.0
_DEFAULT_HANG_CAP = 600.0
_REQUESTS_KEPT = 10_000
_MAX_PER_REPLY = 1_000
_EXACTLY = re.compile(r"exactly (\d+)")


@dataclass(frozen=True)
class Reply:
    """Assistant content sent as is, with the given ``finish_reason``."""

    content: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fault:
    """A failure to inject; ``kind`` is one of FAULT_KINDS.

    ``retry_after`` is the 429 ``Retry-After`` header in seconds (None: no header).
    ``delay`` is the extra wait of "slow" (default 1 s) or the cap of "hang" (default 600 s).
    ``reply`` is what "slow" and "length" serve (and cut, for "length"); None: the generator.
    """

    kind: str
    retry_after: float | None = 1.0
    delay: float | None = None
    reply: dict[str, Any] | str | Reply | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ConfigError(
                f"unknown fault kind {self.kind!r}; "
                f"expected one of {', '.join(sorted(FAULT_KINDS))}"
            )


ReplyItem = dict[str, Any] | str | Reply | Fault
Handler = Callable[[dict[str, Any], int], ReplyItem | Awaitable[ReplyItem]]

_ERRORS: dict[str, tuple[int, str, str | None, str]] = {
    # kind: (status, error type, code, message) — the shapes OpenAI sends
    "400": (400, "invalid_request_error", None, "Invalid request (injected by FakeTeacher)."),
    "401": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    "403": (403, "invalid_request_error", "unsupported_country_region_territory", "Forbidden."),
    "404": (404, "invalid_request_error", "model_not_found", "The model does not exist."),
    "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached. Please try again."),
    "500": (500, "server_error", None, "The server had an error while processing your request."),
    "503": (503, "server_error", None, "The engine is currently overloaded, please try later."),
}

_WORDS = """
able about above accept across act add afraid after again age agree air all allow almost
alone along already always amount angle animal answer apple area arm army art ask attack
autumn away baby back bad bag ball band bank base basket bath bear beauty bed bee before
begin bell best better bird birth bit bitter black blade blood blue board boat body bone
book boot bottle box boy brain brake branch brass bread breath brick bridge bright broken
brother brown brush bucket build burn butter button cake camera card care carpet cart cat
cause chain chalk chance change cheap cheese chest chief child chin church circle clean
clear clock cloth cloud coat cold collar colour comb come comfort common copper copy cord
cork cotton cough country cover cow crack credit crime cruel crush cry cup current curtain
curve cushion damage danger dark daughter day dead dear debt decision deep degree design
desire detail develop different digestion direction dirty discovery disease dog door doubt
drain drawer dream dress drink drop dry dust early earth east edge effect egg elastic
electric end engine enough equal error even event example expert eye face fact fall false
family farm father fear feather feeble feeling field fight finger fire first fish flag
flame flat flight floor flower fly fold food foolish foot force fork form forward frame
free friend front fruit full future garden general girl glass glove goat gold good grain
grass great green grey grip group growth guide gun hair hammer hand happy harbour harmony
hat hate head healthy hearing heart heat help high history hole hollow hook hope horn
horse hospital hour house humour ice idea ill important impulse increase industry ink
insect iron island jelly jewel join journey judge jump keep kettle key kick kind kiss knee
knife knot language last late laugh lead leaf learning leather left leg letter level
library lift light limit line linen lip liquid list little living lock long loose loss
loud love low machine make male manager map mark market mass meal measure meat medical
meeting memory metal middle milk mind mine minute mist mixed money monkey month moon
morning mother motion mountain mouth move muscle music nail narrow nation natural near
neck needle nerve net new news night noise normal north nose note number nut office oil
old open opinion orange order oven owner page pain paint paper parallel parcel part paste
peace pen pencil person picture pig pin pipe place plane plant plate play pleasure plough
pocket point poison polish porter pot potato powder power price print prison private
process profit property prose protest public pull pump punishment purpose push quality
question quick quiet quite rail rain range rat rate ray reaction reading ready reason
receipt record regret regular relation religion request respect rest reward rhythm rice
right ring river road rod roll roof room root rough round rub rule run sad safe sail salt
sand scale school science scissors screw sea seat second secret seed self sense serious
servant shade shake shame sharp sheep shelf ship shirt shock shoe short silver simple
sister size skin skirt sky sleep slip slope slow small smash smell smile smoke smooth
snake sneeze snow soap society sock soft solid song sort sound soup south space spade
special sponge spoon spring square stage stamp star start statement station steam steel
stem step stick sticky stiff still stitch stomach stone stop store story straight strange
street stretch strong structure sugar summer sun support surprise sweet swim system table
tail talk tall taste tax teaching tendency test theory thick thin thing thought thread
throat thumb thunder ticket tight tired toe tongue tooth top touch town trade train
transport tray tree trick trouble trousers true turn twist umbrella unit use value verse
vessel view violent voice waiting walk wall war warm wash waste watch water wave wax way
weather week weight well west wet wheel whip whistle white wide wind window wine wing
winter wire wise woman wood wool word work worm wound writing year yellow young
"""
_VOCABULARY = _WORDS.split()


def _tokens(text: str) -> int:
    """Rough token count (four characters per token), as good as a fake needs."""
    return len(text) // 4 + 1


def _text_of(content: Any) -> str:
    """The text of a message's content, which may be a string or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _per_reply_from(messages: Sequence[Any], default: int = 3) -> int:
    """How many conversations the request asks for: "exactly N" in the last user message."""
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            found = _EXACTLY.search(_text_of(message.get("content")))
            return min(int(found.group(1)), _MAX_PER_REPLY) if found else default
    return default


def demo_reply(
    messages: Sequence[Any], *, seed: int = 0, ordinal: int = 0, per_reply: int | None = None
) -> dict[str, Any]:
    """Placeholder conversations for a request: same inputs, same reply; else new text.

    ``ordinal`` counts earlier requests with the same messages, so repeating a prompt gives
    fresh text while every run of the same prompts gives the same texts.
    """
    canonical = json.dumps(list(messages), sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(f"{seed}\0{ordinal}\0{canonical}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:16], "big"))
    count = _per_reply_from(messages) if per_reply is None else per_reply

    def sentence(end: str) -> str:
        words = rng.choices(_VOCABULARY, k=rng.randint(8, 25))
        return "[demo] " + " ".join(words).capitalize() + end

    return {
        "conversations": [
            {
                "messages": [
                    {"role": "user", "content": sentence("?")},
                    {"role": "assistant", "content": sentence(".")},
                ]
            }
            for _ in range(count)
        ]
    }


def _error_body(kind: str, message: str | None = None) -> dict[str, Any]:
    _, etype, code, default = _ERRORS[kind]
    return {"error": {"message": message or default, "type": etype, "param": None, "code": code}}


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
        per_reply: int | None = None,
        seed: int = 0,
        model_names: Sequence[str] | None = None,
        unknown_models: set[str] | frozenset[str] | None = None,
        require_key: str | None = None,
        port: int = 0,
    ) -> None:
        if latency < 0:
            raise ConfigError(f"latency must be >= 0, got {latency}")
        if per_reply is not None and not 0 <= per_reply <= _MAX_PER_REPLY:
            raise ConfigError(f"per_reply must be within 0..{_MAX_PER_REPLY}, got {per_reply}")
        self._faults = dict(faults or {})
        for kind, probability in self._faults.items():
            Fault(kind)  # validates the kind
            if not 0.0 <= probability <= 1.0:
                raise ConfigError(f"fault {kind} probability must be in 0..1, got {probability}")
        if sum(self._faults.values()) > 1.0 + 1e-9:
            raise ConfigError("fault probabilities add up to more than 1")
        self._script = list(replies or [])
        self._handler = handler
        self._latency = latency
        self._fault_seed = fault_seed
        self._per_reply = per_reply
        self._seed = seed
        self._model_names = list(model_names) if model_names is not None else None
        self._unknown_models = frozenset(unknown_models or ())
        self._require_key = require_key
        self._wanted_port = port

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
            self._fault_counts: Counter[str] = Counter()
            self._script_pos = 0
            self._ordinals: dict[bytes, int] = {}
            self._fault_rng = random.Random(self._fault_seed)

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
        with self._lock:
            return Counter(self._fault_counts)

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
        if self._closing is not None:
            self._closing.set()
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
        return self._json(_error_body(kind, message), _ERRORS[kind][0], headers)

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
        item = await self._choose(body, index)
        return await self._answer(request, body, item, index)

    async def _choose(self, body: dict[str, Any], index: int) -> ReplyItem | None:
        """The reply item for this request; None means "use the generator"."""
        if self._handler is not None:
            result = self._handler(body, index)
            if inspect.isawaitable(result):
                result = await result
            return result
        with self._lock:
            if self._faults:
                draw, edge = self._fault_rng.random(), 0.0
                for kind, probability in self._faults.items():
                    edge += probability
                    if draw < edge:
                        return Fault(kind)
            if self._script_pos < len(self._script):
                self._script_pos += 1
                return self._script[self._script_pos - 1]
        return None

    def _generate(self, body: dict[str, Any]) -> dict[str, Any]:
        messages = body["messages"]
        canonical = json.dumps(messages, sort_keys=True, ensure_ascii=False, default=str)
        key = hashlib.sha256(canonical.encode()).digest()
        with self._lock:
            ordinal = self._ordinals.get(key, 0)
            self._ordinals[key] = ordinal + 1
        return demo_reply(messages, seed=self._seed, ordinal=ordinal, per_reply=self._per_reply)

    def _content(self, body: dict[str, Any], item: ReplyItem | None) -> Reply:
        if item is None or isinstance(item, Fault):
            item = self._generate(body)
        if isinstance(item, Reply):
            return item
        if isinstance(item, str):
            return Reply(item)
        return Reply(json.dumps(item, ensure_ascii=False))

    def _completion(self, body: dict[str, Any], reply: Reply, index: int) -> dict[str, Any]:
        messages = [m for m in body["messages"] if isinstance(m, dict)]
        prompt = sum(_tokens(_text_of(m.get("content"))) for m in messages)
        completion = _tokens(reply.content)
        return {
            "id": f"chatcmpl-fake{index:010d}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            },
        }

    async def _answer(
        self, request: web.Request, body: dict[str, Any], item: ReplyItem | None, index: int
    ) -> web.StreamResponse:
        import asyncio

        from aiohttp import web

        if not isinstance(item, Fault):
            return self._json(self._completion(body, self._content(body, item), index))
        with self._lock:
            self._fault_counts[item.kind] += 1
        kind = item.kind
        if kind in _ERRORS:
            headers = None
            if kind == "429" and item.retry_after is not None:
                headers = {"Retry-After": f"{item.retry_after:g}"}
            return self._error(kind, headers=headers)
        if kind == "slow":
            await asyncio.sleep(_DEFAULT_SLOW if item.delay is None else item.delay)
            return self._json(self._completion(body, self._content(body, item.reply), index))
        if kind in ("length", "empty"):
            full = self._content(body, item.reply).content if kind == "length" else ""
            cut = Reply(full[: len(full) // 2], "length" if kind == "length" else "stop")
            return self._json(self._completion(body, cut, index))
        if kind == "malformed":
            payload = self._completion(body, self._content(body, item.reply), index)
            whole = json.dumps(payload).encode()
            return self._send(
                web.Response(body=whole[: len(whole) // 2], content_type="application/json")
            )
        if kind == "hang":
            # Wait for the client to give up (the handler is then cancelled) or for stop().
            assert self._closing is not None
            cap = _DEFAULT_HANG_CAP if item.delay is None else item.delay
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=cap)
        return await self._drop(request)

    async def _drop(self, request: web.Request) -> web.StreamResponse:
        """Close the connection without a response."""
        import asyncio

        transport = request.transport
        if transport is not None:
            transport.close()
        # Closing makes aiohttp cancel this handler; wait for that instead of writing.
        await asyncio.sleep(3600)
        raise ConnectionResetError("FakeTeacher dropped the connection")


# ---- python -m synthgen.testing ---------------------------------------------------------------


def _parse_faults(text: str) -> dict[str, float]:
    faults: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        kind, sep, value = part.partition("=")
        if not sep:
            raise ConfigError(f"--faults: expected KIND=PROBABILITY, got {part!r}")
        try:
            faults[kind.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--faults: {value!r} is not a probability") from None
    return faults


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM/SIGINT; print ``READY <base_url>`` once listening."""
    import argparse
    import signal

    parser = argparse.ArgumentParser(
        prog="python -m synthgen.testing", description="Run a FakeTeacher server."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free)")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per reply")
    parser.add_argument("--faults", default="", help="e.g. 429=0.05,500=0.05,hang=0.02")
    parser.add_argument("--fault-seed", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0, help="seed of the placeholder data")
    parser.add_argument("--per-reply", type=int, default=None, help="conversations per reply")
    args = parser.parse_args(argv)
    try:
        fake = FakeTeacher(
            latency=args.latency,
            faults=_parse_faults(args.faults),
            fault_seed=args.fault_seed,
            seed=args.seed,
            per_reply=args.per_reply,
            port=args.port,
        )
    except ConfigError as error:
        parser.error(str(error))
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with fake:
        print(f"READY {fake.base_url}", flush=True)
        while not stopping.wait(0.5):
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
