"""Every provider litellm speaks (anthropic/..., gemini/..., bedrock/..., ...).

litellm is slow and heavy to import (BENCHMARKS.md), so it is imported only when a run uses
it, and ``LITELLM_LOCAL_MODEL_COST_MAP`` is set first: without it litellm stalls for seconds
fetching a price list from the network at import time.
"""

from __future__ import annotations

import os
from typing import Any

from synthgen.errors import TeacherError
from synthgen.redact import register_secret
from synthgen.teacher.base import (
    ChatRequest,
    Completion,
    cached_tokens_of,
    reply_text,
    request_body,
)
from synthgen.teacher.errors_map import ErrorBody, retry_after_seconds, status_error
from synthgen.teacher.reasoning import traced
from synthgen.teacher.urls import host_of, public_endpoint, url_secrets, validate_base_url


def _import_litellm() -> Any:
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        import litellm
    except ImportError:  # pragma: no cover - litellm is a declared dependency
        raise TeacherError(
            "this model needs litellm: pip install 'synthgen' (litellm is a dependency) "
            "or pip install litellm",
            kind="bad_request",
        ) from None
    litellm.telemetry = False
    litellm.suppress_debug_info = True
    litellm.drop_params = True  # providers that lack response_format just ignore it
    return litellm


class LiteLLMTeacher:
    def __init__(self, model: str, *, timeout: float = 120.0, api_base: str | None = None):
        self._litellm = _import_litellm()
        self.model = model
        if api_base is not None:
            api_base = validate_base_url(api_base)
            for secret in url_secrets(api_base):
                register_secret(secret)
        # litellm reads the provider's key from its environment variable, whose value
        # redact() already knows by name.
        self.endpoint = (
            f"litellm:{model.split('/', 1)[0]}" if api_base is None else public_endpoint(api_base)
        )
        self._where = model.split("/", 1)[0] if api_base is None else host_of(api_base)
        self._timeout = timeout
        self._api_base = api_base

    async def complete(self, request: ChatRequest) -> Completion:
        litellm = self._litellm
        kwargs = request_body(self.model, request, response_format=request.response_format)
        kwargs.update(timeout=self._timeout, num_retries=0)
        if self._api_base:
            kwargs["api_base"] = self._api_base
        try:
            resp = await litellm.acompletion(**kwargs)
        except litellm.Timeout:
            raise TeacherError(f"{self._where} timed out", kind="timeout") from None
        except litellm.APIConnectionError:
            raise TeacherError(f"cannot connect to {self._where}", kind="connection") from None
        except Exception as e:  # litellm maps provider errors onto openai's classes
            status = getattr(e, "status_code", None)
            if not isinstance(status, int):
                raise TeacherError(
                    f"{self._where} failed: {type(e).__name__}", kind="unknown"
                ) from None
            response = getattr(e, "response", None)
            headers = getattr(response, "headers", None)
            message = getattr(e, "message", None)
            raise status_error(
                status,
                model=self.model,
                where=self._where,
                retry_after=retry_after_seconds(headers),
                body=ErrorBody(message=message if isinstance(message, str) else ""),
            ) from None
        choice = resp.choices[0]
        usage = getattr(resp, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        # litellm maps every provider's trace (Anthropic's thinking blocks, DeepSeek's, ...)
        # into message.reasoning_content.
        answer, trace, spent = traced(
            reply_text(choice.message.content or ""), choice.message, usage, self.model
        )
        return Completion(
            text=answer,
            finish_reason=choice.finish_reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=getattr(usage, "completion_tokens", 0) or 0,
            # litellm maps every provider's cache reads (Anthropic's cache_read_input_tokens,
            # DeepSeek's prompt_cache_hit_tokens) into prompt_tokens_details.cached_tokens,
            # and counts them in prompt_tokens.
            cached_tokens=cached_tokens_of(usage, prompt_tokens),
            reasoning=trace,
            reasoning_tokens=spent,
        )

    async def aclose(self) -> None:
        return None
