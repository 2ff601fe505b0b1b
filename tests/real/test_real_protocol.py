"""What llama-cpp-python's OpenAI-compatible server does with what synthgen sends, request by
request, without synthgen in between: the facts synthgen's transports must cope with.

Each test pins one behaviour of llama-cpp-python 0.3.36 (scripts/real_model/setup.sh), with
the status and the body it answers, so a change of server version that changes the protocol
shows up here first.
"""

from __future__ import annotations

import threading
import urllib.error
from typing import Any

from synthgen.prompts.reply import response_format
from tests.real.realserver import LlamaServer

HELLO = [{"role": "user", "content": "Say hello to Anna in one short sentence."}]
ASK_JSON = [
    {"role": "system", "content": "You answer with a single JSON object and nothing else."},
    {
        "role": "user",
        "content": 'Write 2 short conversations as {"conversations": [{"messages": '
        '[{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}]}',
    },
]
# SmolLM2's end-of-turn and end-of-text tokens (<|im_end|> = 2, <|endoftext|> = 0): banning
# them makes a reply that cannot stop by itself, like a small model looping under a grammar.
NEVER_STOP = {"0": -100.0, "2": -100.0}


def _message(body: Any) -> str:
    """The error message of an OpenAI-style error body."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return str(body)


def test_usage_and_finish_reason_are_reported(llama_server: LlamaServer) -> None:
    r = llama_server.chat({"messages": HELLO, "max_tokens": 4, "temperature": 0})
    assert r.status == 200, r.body
    choice, usage = r.body["choices"][0], r.body["usage"]
    assert choice["finish_reason"] == "length"  # cut by max_tokens
    assert usage["completion_tokens"] == 4
    assert usage["prompt_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]

    r = llama_server.chat({"messages": HELLO, "max_tokens": 64, "temperature": 0})
    assert r.status == 200, r.body
    assert r.body["choices"][0]["finish_reason"] == "stop"  # ended by itself
    assert 0 < r.body["usage"]["completion_tokens"] < 64


def test_json_schema_response_format_is_a_500_validation_error(llama_server: LlamaServer) -> None:
    """synthgen's default request. Not a 400: a fallback keyed on 400 never fires, and a
    client that retries 5xx retries this forever. The body names response_format."""
    r = llama_server.chat(
        {"messages": ASK_JSON, "max_tokens": 8, "response_format": response_format()}
    )
    assert r.status == 500, r.body
    assert r.body["error"]["type"] == "internal_server_error"
    message = _message(r.body)
    assert "response_format" in message
    assert "'text'" in message and "'json_object'" in message
    assert "validation error" in message


def test_json_object_with_schema_constrains_the_reply(llama_server: LlamaServer) -> None:
    """The step after json_schema: the schema goes in ``response_format.schema`` and the
    server turns it into a grammar; the reply starts the way the schema says."""
    schema = response_format()["json_schema"]["schema"]
    r = llama_server.chat(
        {
            "messages": ASK_JSON,
            "max_tokens": 24,
            "temperature": 0,
            "response_format": {"type": "json_object", "schema": schema},
        }
    )
    assert r.status == 200, r.body
    text = r.body["choices"][0]["message"]["content"]
    assert text.replace(" ", "").replace("\n", "").startswith('{"conversations":['), text


def test_json_object_without_schema_is_accepted(llama_server: LlamaServer) -> None:
    r = llama_server.chat(
        {
            "messages": ASK_JSON,
            "max_tokens": 16,
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
    )
    assert r.status == 200, r.body
    assert r.body["choices"][0]["message"]["content"].lstrip().startswith("{")


def test_text_response_format_is_accepted(llama_server: LlamaServer) -> None:
    r = llama_server.chat({"messages": HELLO, "max_tokens": 4, "response_format": {"type": "text"}})
    assert r.status == 200, r.body


def test_without_max_tokens_a_reply_runs_to_the_context_limit(
    small_context_server: LlamaServer,
) -> None:
    """No max_tokens means no limit but the context: a reply that does not stop by itself
    (here: end tokens banned; in a real run, a small model looping under a JSON grammar)
    generates until prompt + completion fill the whole context (256 tokens here; 2048 or
    more on a real deployment, minutes of generation)."""
    server = small_context_server
    r = server.chat({"messages": HELLO, "temperature": 0, "logit_bias": NEVER_STOP}, timeout=300)
    assert r.status == 200, r.body
    usage = r.body["usage"]
    assert r.body["choices"][0]["finish_reason"] == "length"
    assert usage["prompt_tokens"] + usage["completion_tokens"] == server.n_ctx
    print(f"no max_tokens: {usage['completion_tokens']} tokens in {r.seconds:.1f}s")


def test_a_prompt_over_the_context_is_a_400_that_does_not_name_response_format(
    llama_server: LlamaServer,
) -> None:
    """The 400 a client must not mistake for a response_format refusal: it names the
    context length, and the same request will get it again."""
    long = [{"role": "user", "content": "word " * (llama_server.n_ctx + 100)}]
    r = llama_server.chat(
        {"messages": long, "max_tokens": 8, "response_format": {"type": "json_object"}}
    )
    assert r.status == 400, r.body
    message = _message(r.body)
    assert "maximum context length" in message
    assert "response_format" not in message


def test_concurrent_requests_are_served_one_at_a_time(llama_server: LlamaServer) -> None:
    """Three requests at once all succeed (no 429, no 503), but the server generates for one
    at a time: each waits for the ones before it, and that wait counts against a client's
    timeout. (A client that gives up does not stop the generation it asked for: a
    non-streaming request runs to its end, so a timed-out retry queues behind its own
    abandoned first attempt.)"""
    body = {"messages": HELLO, "max_tokens": 48, "temperature": 0, "logit_bias": NEVER_STOP}
    replies: list[Any] = []

    def one() -> None:
        replies.append(llama_server.chat(body))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status for r in replies] == [200, 200, 200]
    waits = sorted(r.seconds for r in replies)
    print(f"3 at once: {[round(w, 2) for w in waits]}s")
    # Served one after another: the last takes about three times the first (not the same
    # time, as a batching server would).
    assert waits[-1] > 2 * waits[0], waits


def test_a_client_timeout_does_not_stop_the_generation(llama_server: LlamaServer) -> None:
    """A non-streaming request whose client gave up still runs to its end on the server:
    the next request waits for it. A client retrying on timeout queues behind its own
    abandoned attempts, and without max_tokens each one may run to the context."""
    long = {"messages": HELLO, "max_tokens": 200, "temperature": 0, "logit_bias": NEVER_STOP}
    short = {"messages": HELLO, "max_tokens": 2, "temperature": 0}
    baseline = llama_server.chat(short)
    generating = llama_server.chat(long)
    assert baseline.status == generating.status == 200
    try:
        llama_server.chat(long, timeout=0.5)
    except (TimeoutError, urllib.error.URLError):
        pass
    else:
        raise AssertionError("a 200-token reply came back within 0.5 s: nothing to measure")
    after = llama_server.chat(short)
    assert after.status == 200, after.body
    print(
        f"short alone {baseline.seconds:.2f}s; 200 tokens {generating.seconds:.2f}s; "
        f"short after an abandoned 200-token request {after.seconds:.2f}s"
    )
    assert after.seconds > baseline.seconds + generating.seconds / 2
