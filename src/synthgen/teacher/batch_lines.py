"""The lines of a provider batch: a request as a line of the input file, and a line of the
output or error file back as a reply or as the error it would have been live.

OpenAI's format, which Azure and the servers that copy its batch API share: an input line is
``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}``; an output line
``{"custom_id", "response": {"status_code", "body"}, "error"}``, where ``body`` is the
chat.completion (or the error reply) the request would have got live, and ``error`` is set
instead of ``response`` for a line the batch never ran (``batch_expired``).
"""

from __future__ import annotations

import json
from typing import Any

from synthgen.errors import TeacherError
from synthgen.teacher.base import Completion, cached_tokens_of, reply_text
from synthgen.teacher.errors_map import read_error_body, status_error

__all__ = ["ENDPOINT", "Outcome", "input_line", "read_results"]

ENDPOINT = "/v1/chat/completions"

Outcome = Completion | TeacherError


def input_line(custom_id: str, body: dict[str, Any]) -> bytes:
    line = {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def read_results(data: bytes, *, model: str, where: str) -> dict[str, Outcome]:
    """custom_id -> what its request got, from an output or error file. Lines that cannot be
    read are skipped: their requests count as missing from the batch."""
    results: dict[str, Outcome] = {}
    for raw in data.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(line, dict) or not isinstance(line.get("custom_id"), str):
            continue
        results[line["custom_id"]] = _outcome(line, model=model, where=where)
    return results


def _outcome(line: dict[str, Any], *, model: str, where: str) -> Outcome:
    response = line.get("response")
    if not isinstance(response, dict):
        error = line.get("error")
        said = read_error_body({"error": error}) if isinstance(error, dict) else None
        code = said.code if said else ""
        why = "expired before it was run" if code == "batch_expired" else "was not run"
        # Retryable: the request goes into the next batch.
        return TeacherError(
            f"a request in a batch at {where} {why}" + (f" ({code})" if code else ""),
            kind="server",
            detail=said.message if said else "",
        )
    status, body = response.get("status_code"), response.get("body")
    if status != 200:
        number = status if isinstance(status, int) else 500
        err = status_error(number, model=model, where=where, body=read_error_body(body))
        if err.kind == "rate_limit":
            # A 429 inside a batch is the provider's queue, not this run's pace: no storm,
            # the request just goes into a later batch.
            return TeacherError(str(err), kind="server", status=number, detail=err.detail)
        return err
    return _completion(body, where)


def _completion(body: object, where: str) -> Outcome:
    choices = body.get("choices") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(choices, list) or not choices:
        return TeacherError(f"{where} returned a batch reply with no choices", kind="server")
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    usage = body.get("usage")
    counts = usage if isinstance(usage, dict) else {}
    prompt = counts.get("prompt_tokens")
    completion = counts.get("completion_tokens")
    prompt_tokens = prompt if type(prompt) is int and prompt > 0 else 0
    reason = choice.get("finish_reason")
    return Completion(
        text=reply_text(content if isinstance(content, str) else ""),
        finish_reason=reason if isinstance(reason, str) else None,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion if type(completion) is int and completion > 0 else 0,
        cached_tokens=cached_tokens_of(usage, prompt_tokens),
    )
