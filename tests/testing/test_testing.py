"""FakeTeacher driven by the real openai SDK (aiohttp transport) and by plain aiohttp."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import openai
import pytest
from openai import AsyncOpenAI, DefaultAioHttpClient

from synthgen.errors import ConfigError
from synthgen.testing import FakeTeacher, Fault, Reply, demo_reply

T = TypeVar("T")
MakeFake = Callable[..., FakeTeacher]
USER: Any = [{"role": "user", "content": "Write exactly 2 conversations about tea."}]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def with_openai(
    fake: FakeTeacher,
    use: Callable[[AsyncOpenAI], Awaitable[T]],
    *,
    api_key: str = "test-key",
    timeout: float = 30.0,
) -> T:
    """Run ``use(client)`` with a real AsyncOpenAI client pointed at the fake."""

    async def main() -> T:
        client = AsyncOpenAI(
            base_url=fake.base_url,
            api_key=api_key,
            max_retries=0,
            timeout=timeout,
            http_client=DefaultAioHttpClient(),
        )
        async with client:
            return await use(client)

    return run(main())


def chat(model: str = "gpt-test", messages: Any = None) -> Callable[[AsyncOpenAI], Awaitable[Any]]:
    async def use(client: AsyncOpenAI) -> Any:
        return await client.chat.completions.create(model=model, messages=messages or USER)

    return use


def post(
    target: FakeTeacher | str, body: Any, *, timeout: float = 30.0, raw: bytes | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One POST /v1/chat/completions with plain aiohttp: status, headers, body bytes."""
    base_url = target if isinstance(target, str) else target.base_url

    async def main() -> tuple[int, dict[str, str], bytes]:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as s:
            data = raw if raw is not None else json.dumps(body).encode()
            headers = {"Content-Type": "application/json"}
            async with s.post(f"{base_url}/chat/completions", data=data, headers=headers) as r:
                return r.status, dict(r.headers), await r.read()

    return run(main())


def content_of(fake: FakeTeacher, **body: Any) -> str:
    status, _, raw = post(fake, {"model": "m", "messages": USER, **body})
    assert status == 200
    text: str = json.loads(raw)["choices"][0]["message"]["content"]
    return text


# ---- the happy path -----------------------------------------------------------------------------


def test_completion_has_openai_shape_and_usage(fake_teacher: FakeTeacher) -> None:
    completion = with_openai(fake_teacher, chat("gpt-test"))

    assert completion.object == "chat.completion"
    assert completion.model == "gpt-test"
    assert completion.id.startswith("chatcmpl-")
    choice = completion.choices[0]
    assert choice.index == 0
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    content = choice.message.content
    assert content is not None
    data = json.loads(content)
    assert len(data["conversations"]) == 2  # "exactly 2" in the user message
    for conversation in data["conversations"]:
        roles = [m["role"] for m in conversation["messages"]]
        assert roles == ["user", "assistant"]
        assert all(m["content"].startswith("[demo] ") for m in conversation["messages"])
    usage = completion.usage
    assert usage is not None
    assert usage.prompt_tokens == len(USER[0]["content"]) // 4 + 1
    assert usage.completion_tokens == len(content) // 4 + 1
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_per_reply_default_and_override(make_fake_teacher: MakeFake) -> None:
    default = make_fake_teacher()
    plain = [{"role": "user", "content": "Some examples please."}]
    assert len(json.loads(content_of(default, messages=plain))["conversations"]) == 3
    fixed = make_fake_teacher(per_reply=5)
    assert len(json.loads(content_of(fixed))["conversations"]) == 5


def test_models_endpoint_lists_demo_by_default(fake_teacher: FakeTeacher) -> None:
    async def use(client: AsyncOpenAI) -> list[str]:
        return [m.id async for m in client.models.list()]

    assert with_openai(fake_teacher, use) == ["demo"]


def test_model_names_are_listed_and_enforced(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(model_names=["alpha", "beta"])

    async def use(client: AsyncOpenAI) -> tuple[list[str], str]:
        listed = [m.id async for m in client.models.list()]
        one = await client.models.retrieve("beta")
        return listed, one.id

    assert with_openai(fake, use) == (["alpha", "beta"], "beta")
    assert with_openai(fake, chat("alpha")).model == "alpha"
    with pytest.raises(openai.NotFoundError):
        with_openai(fake, chat("gamma"))


def test_unknown_model_gets_404_model_not_found(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(unknown_models={"gpt-nope"})
    with pytest.raises(openai.NotFoundError) as caught:
        with_openai(fake, chat("gpt-nope"))
    assert caught.value.status_code == 404
    assert caught.value.code == "model_not_found"
    assert "gpt-nope" in caught.value.message
    assert with_openai(fake, chat("gpt-fine")).model == "gpt-fine"


def test_require_key_rejects_a_wrong_key(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(require_key="sk-right")
    with pytest.raises(openai.AuthenticationError) as caught:
        with_openai(fake, chat(), api_key="sk-wrong-secret")
    assert caught.value.status_code == 401
    assert "sk-wrong-secret" not in str(caught.value.body)
    assert with_openai(fake, chat(), api_key="sk-right").choices[0].finish_reason == "stop"
    # Models need the key too.
    status, _, _ = run(_get(f"{fake.base_url}/models"))
    assert status == 401


async def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as s, s.get(url) as r:
        return r.status, dict(r.headers), await r.read()


# ---- scripted replies and handlers --------------------------------------------------------------


def test_scripted_replies_in_order_then_generator(make_fake_teacher: MakeFake) -> None:
    fenced = '```json\n{"conversations": []}\n```'
    fake = make_fake_teacher(
        replies=[{"n": 1, "text": "héllo"}, fenced, Reply("cut off", finish_reason="length")]
    )
    assert content_of(fake) == '{"n": 1, "text": "héllo"}'  # ensure_ascii=False
    assert content_of(fake) == fenced
    raw = post(fake, {"model": "m", "messages": USER})[2]
    choice = json.loads(raw)["choices"][0]
    assert (choice["message"]["content"], choice["finish_reason"]) == ("cut off", "length")
    assert "conversations" in json.loads(content_of(fake))  # script used up: generator


def test_handler_overrides_everything(make_fake_teacher: MakeFake) -> None:
    seen: list[int] = []

    def handler(body: dict[str, Any], index: int) -> Any:
        seen.append(index)
        return Fault("500") if index == 1 else {"index": index, "model": body["model"]}

    fake = make_fake_teacher(handler=handler, replies=[{"never": True}], faults={"429": 1.0})
    assert json.loads(content_of(fake)) == {"index": 0, "model": "m"}
    assert post(fake, {"model": "m", "messages": USER})[0] == 500
    assert json.loads(content_of(fake)) == {"index": 2, "model": "m"}
    assert seen == [0, 1, 2]


def test_async_handler(make_fake_teacher: MakeFake) -> None:
    async def handler(body: dict[str, Any], index: int) -> Any:
        await asyncio.sleep(0)
        return f"reply {index}"

    fake = make_fake_teacher(handler=handler)
    assert [content_of(fake), content_of(fake)] == ["reply 0", "reply 1"]


# ---- faults -------------------------------------------------------------------------------------


def test_429_carries_retry_after(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("429", retry_after=2), Fault("429", retry_after=0.5)])
    with pytest.raises(openai.RateLimitError) as caught:
        with_openai(fake, chat())
    assert caught.value.status_code == 429
    assert caught.value.response.headers["retry-after"] == "2"
    assert caught.value.code == "rate_limit_exceeded"
    status, headers, raw = post(fake, {"model": "m", "messages": USER})
    assert (status, headers["Retry-After"]) == (429, "0.5")
    assert json.loads(raw)["error"]["type"] == "requests"
    assert fake.status_counts[429] == 2


@pytest.mark.parametrize(
    ("kind", "error"),
    [
        ("500", openai.InternalServerError),
        ("503", openai.InternalServerError),
        ("401", openai.AuthenticationError),
        ("403", openai.PermissionDeniedError),
        ("404", openai.NotFoundError),
        ("400", openai.BadRequestError),
    ],
)
def test_status_faults(make_fake_teacher: MakeFake, kind: str, error: type[Exception]) -> None:
    fake = make_fake_teacher(replies=[Fault(kind)])
    with pytest.raises(error) as caught:
        with_openai(fake, chat())
    assert isinstance(caught.value, openai.APIStatusError)
    assert caught.value.status_code == int(kind)
    assert fake.status_counts == {int(kind): 1}
    assert fake.fault_counts == {kind: 1}


def test_hang_times_out_without_blocking_the_server(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("hang"), {"after": "hang"}])
    with pytest.raises(openai.APITimeoutError):
        with_openai(fake, chat(), timeout=0.3)
    assert json.loads(content_of(fake)) == {"after": "hang"}
    assert fake.status_counts == {200: 1}  # the hung request never got an answer


def test_hang_is_released_by_stop(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("hang")])

    async def main() -> None:
        async with aiohttp.ClientSession() as s:
            pending = asyncio.ensure_future(
                s.post(f"{fake.base_url}/chat/completions", json={"model": "m", "messages": USER})
            )
            while fake.request_count == 0:
                await asyncio.sleep(0.01)
            await asyncio.to_thread(fake.stop)
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await pending

    run(main())


def test_drop_closes_the_connection(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("drop"), Fault("drop")])
    with pytest.raises(aiohttp.ServerDisconnectedError):
        post(fake, {"model": "m", "messages": USER})
    # The openai SDK reports a dropped connection as a connection error.
    with pytest.raises(openai.APIConnectionError) as caught:
        with_openai(fake, chat())
    assert "disconnected" in str(caught.value.__cause__).lower()
    assert fake.status_counts == {}


def test_malformed_body_breaks_json_parsing(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("malformed"), Fault("malformed")])
    status, headers, raw = post(fake, {"model": "m", "messages": USER})
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(raw)
    with pytest.raises((ValueError, openai.APIError)):
        with_openai(fake, chat())


def test_length_cuts_content_in_half_and_empty_is_empty(make_fake_teacher: MakeFake) -> None:
    full = '{"conversations": ["a long enough reply"]}'
    fake = make_fake_teacher(replies=[Fault("length", reply=full), Fault("empty")])
    completion = with_openai(fake, chat())
    assert completion.choices[0].finish_reason == "length"
    assert completion.choices[0].message.content == full[: len(full) // 2]
    completion = with_openai(fake, chat())
    assert completion.choices[0].finish_reason == "stop"
    assert completion.choices[0].message.content == ""


def test_slow_delays_then_answers(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[Fault("slow", delay=30), Fault("slow", delay=0.01)])
    with pytest.raises(openai.APITimeoutError):
        with_openai(fake, chat(), timeout=0.3)
    content = with_openai(fake, chat()).choices[0].message.content
    assert content is not None
    assert "conversations" in json.loads(content)


def test_random_faults_follow_the_fault_seed(make_fake_teacher: MakeFake) -> None:
    def statuses(fake: FakeTeacher) -> list[int]:
        return [post(fake, {"model": "m", "messages": USER})[0] for _ in range(40)]

    first = statuses(make_fake_teacher(faults={"500": 0.3, "429": 0.2}, fault_seed=7))
    again = statuses(make_fake_teacher(faults={"500": 0.3, "429": 0.2}, fault_seed=7))
    other = statuses(make_fake_teacher(faults={"500": 0.3, "429": 0.2}, fault_seed=8))
    assert first == again
    assert first != other
    assert {200, 429, 500} <= set(first)


def test_random_faults_do_not_consume_the_script(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[{"k": 0}, {"k": 1}], faults={"503": 0.5}, fault_seed=3)
    got: list[Any] = []
    while len(got) < 2:
        status, _, raw = post(fake, {"model": "m", "messages": USER})
        if status == 200:
            got.append(json.loads(json.loads(raw)["choices"][0]["message"]["content"]))
    assert got == [{"k": 0}, {"k": 1}]
    assert fake.status_counts[503] > 0


# ---- the generator ------------------------------------------------------------------------------


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(len(words) - 2)}


def test_generator_is_deterministic_per_request(make_fake_teacher: MakeFake) -> None:
    prompts = [[{"role": "user", "content": f"prompt {i}"}] for i in range(3)]

    def replies(fake: FakeTeacher) -> list[str]:
        # Each prompt twice: a repeated prompt must still get new text.
        return [content_of(fake, messages=p) for p in prompts + prompts]

    first = replies(make_fake_teacher(seed=1))
    assert first == replies(make_fake_teacher(seed=1))
    assert first != replies(make_fake_teacher(seed=2))
    assert len(set(first)) == len(first)
    reordered = make_fake_teacher(seed=1)
    assert [content_of(reordered, messages=p) for p in reversed(prompts)] == first[2::-1]


def test_generated_texts_are_not_near_duplicates() -> None:
    texts: list[str] = []
    for i in range(20):
        reply = demo_reply([{"role": "user", "content": f"p{i}"}], per_reply=5)
        for conversation in reply["conversations"]:
            texts.extend(m["content"] for m in conversation["messages"])
    assert len(texts) == 200
    assert all(8 <= len(t.split()) - 1 <= 25 for t in texts)  # minus the "[demo]" tag
    shingles = [_shingles(t) for t in texts]
    worst = max(len(a & b) / len(a | b) for i, a in enumerate(shingles) for b in shingles[i + 1 :])
    assert worst < 0.8


def test_demo_reply_reads_exactly_n_from_the_last_user_message() -> None:
    messages = [
        {"role": "system", "content": "exactly 9"},
        {"role": "user", "content": "exactly 7"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "now exactly 4 more"}]},
    ]
    assert len(demo_reply(messages)["conversations"]) == 4


# ---- inspection and validation ------------------------------------------------------------------


def test_request_count_requests_and_reset(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(replies=[{"first": 1}])
    assert json.loads(content_of(fake)) == {"first": 1}
    with_openai(fake, chat("gpt-other"), api_key="sk-do-not-store")
    assert fake.request_count == 2
    bodies = fake.requests
    assert [b["model"] for b in bodies] == ["m", "gpt-other"]
    assert bodies[1]["messages"] == USER
    assert "sk-do-not-store" not in json.dumps(bodies)
    assert fake.status_counts == {200: 2}
    fake.reset()
    assert (fake.request_count, fake.requests, fake.status_counts) == (0, [], {})
    assert json.loads(content_of(fake)) == {"first": 1}  # the script starts over


def test_concurrent_requests_with_latency(make_fake_teacher: MakeFake) -> None:
    fake = make_fake_teacher(latency=0.2)

    async def use(client: AsyncOpenAI) -> list[Any]:
        calls = [
            client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": f"n{i}"}]
            )
            for i in range(64)
        ]
        return list(await asyncio.gather(*calls))

    results = with_openai(fake, use)
    assert len({r.choices[0].message.content for r in results}) == 64
    assert fake.request_count == 64


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        (b"{not json", None),
        (None, {"model": "m"}),
        (None, {"model": "m", "messages": []}),
        (None, {"model": "m", "messages": USER, "stream": True}),
    ],
)
def test_bad_requests_get_400(fake_teacher: FakeTeacher, raw: bytes | None, body: Any) -> None:
    status, _, reply = post(fake_teacher, body, raw=raw)
    assert status == 400
    assert json.loads(reply)["error"]["type"] == "invalid_request_error"
    assert fake_teacher.request_count == 1


def test_bad_options_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown fault kind"):
        Fault("418")
    with pytest.raises(ConfigError, match="unknown fault kind"):
        FakeTeacher(faults={"teapot": 0.1})
    with pytest.raises(ConfigError, match="more than 1"):
        FakeTeacher(faults={"500": 0.6, "429": 0.6})
    with pytest.raises(ConfigError, match="latency"):
        FakeTeacher(latency=-1)


def test_start_twice_and_stop_twice(fake_teacher: FakeTeacher) -> None:
    with pytest.raises(RuntimeError, match="already running"):
        fake_teacher.start()
    port = fake_teacher.port
    assert fake_teacher.base_url == f"http://127.0.0.1:{port}/v1"
    fake_teacher.stop()
    fake_teacher.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


# ---- the process entry point --------------------------------------------------------------------


def test_module_runs_as_a_process_until_sigterm() -> None:
    command = [sys.executable, "-m", "synthgen.testing", "--port", "0", "--faults", "500=1"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.fullmatch(r"READY (http://127\.0\.0\.1:(\d+)/v1)\n", line)
        assert match, line
        assert post(match.group(1), {"model": "m", "messages": USER})[0] == 500
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stdout is not None
        process.stdout.close()


def test_module_rejects_bad_faults() -> None:
    command = [sys.executable, "-m", "synthgen.testing", "--faults", "500"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "KIND=PROBABILITY" in done.stderr


# ---- the network guard from conftest ------------------------------------------------------------


def test_guard_blocks_non_loopback_connections() -> None:
    # A blackhole address: without the guard this would wait for the 30 s timeout.
    with pytest.raises(RuntimeError, match="must not use the network"):
        socket.create_connection(("10.255.255.1", 80), timeout=30)
    with socket.socket() as sock, pytest.raises(RuntimeError, match="must not use the network"):
        sock.connect_ex(("10.255.255.1", 80))
    with pytest.raises(RuntimeError, match="must not use the network"):
        socket.getaddrinfo("api.openai.com", 443)


def test_guard_blocks_asyncio_clients() -> None:
    async def main() -> None:
        await asyncio.wait_for(asyncio.open_connection("10.255.255.1", 80), timeout=30)

    with pytest.raises(RuntimeError, match="must not use the network"):
        run(main())


def test_guard_allows_loopback_and_unix_sockets(fake_teacher: FakeTeacher) -> None:
    socket.create_connection(("127.0.0.1", fake_teacher.port), timeout=5).close()
    socket.create_connection(("localhost", fake_teacher.port), timeout=5).close()
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        left.sendall(b"x")
        assert right.recv(1) == b"x"


class TestEnvironmentScrub:
    @pytest.fixture(scope="class")
    @classmethod
    def planted(cls) -> Iterator[None]:
        # Class scope: set up before conftest's function-scoped autouse fixture runs.
        planted = {
            "OPENAI_API_KEY": "sk-real",
            "OPENAI_BASE_URL": "https://api.openai.com/v1",
            "ANTHROPIC_API_KEY": "a",
            "AWS_SECRET_ACCESS_KEY": "b",
            "AZURE_OPENAI_ENDPOINT": "c",
            "SOMEPROVIDER_API_KEY": "d",
            "SYNTHGEN_MODEL": "gpt-real",
            "SYNTHGEN_BASE_URL": "https://example.com",
            "HTTPS_PROXY": "http://proxy.example:3128",
        }
        with pytest.MonkeyPatch.context() as patch:
            for name, value in planted.items():
                patch.setenv(name, value)
            yield

    def test_keys_and_settings_are_removed(self, planted: None) -> None:
        leaked = [n for n in os.environ if n.endswith("_API_KEY") or n.startswith("AWS_")]
        assert leaked == []
        for name in ("OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT", "SYNTHGEN_MODEL", "HTTPS_PROXY"):
            assert name not in os.environ
        assert os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"

    def test_each_test_gets_its_own_cache_dir(self, planted: None, tmp_path: Path) -> None:
        cache = Path(os.environ["SYNTHGEN_CACHE_DIR"])
        assert cache.is_dir()
        assert list(cache.iterdir()) == []
        assert not cache.is_relative_to(tmp_path)
