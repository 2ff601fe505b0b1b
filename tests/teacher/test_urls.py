"""Base URL checks, endpoints without credentials, redaction of the secrets in use, and
capped waits (issue 10.5, 10.6, 10.9)."""

from __future__ import annotations

import email.utils
import logging
import random
import time

import pytest

from synthgen.errors import ConfigError, TeacherError
from synthgen.redact import RedactFilter, redact, register_secret
from synthgen.teacher import host_of, make_teacher, public_endpoint, validate_base_url
from synthgen.teacher.errors_map import MAX_RETRY_AFTER, retry_after_seconds
from synthgen.teacher.pacing import Backoff


@pytest.mark.parametrize(
    "url,says",
    [
        ("file:///etc/passwd", "file://"),
        ("ftp://example.org/v1", "ftp://"),
        ("not a url", "spaces"),
        ("localhost:8000/v1", "no scheme: write http://localhost:8000/v1"),
        ("127.0.0.1:8000", "no scheme"),
        ("http://[::1", "not a valid URL"),
        ("http://localhost:99999/v1", "not a valid URL"),
        ("http://", "no host"),
        ("", "empty"),
        ("http://localhost:8000/v1/chat/completions", "'http://localhost:8000/v1'"),
    ],
)
def test_bad_base_urls_are_refused_up_front(url: str, says: str) -> None:
    with pytest.raises(ConfigError, match="base URL") as info:
        validate_base_url(url)
    assert says in str(info.value)
    assert info.value.exit_code == 2


def test_good_base_urls_are_cleaned_not_changed() -> None:
    assert validate_base_url(" http://localhost:8000/v1/ ") == "http://localhost:8000/v1"
    assert validate_base_url("HTTPS://api.example.com/v1") == "https://api.example.com/v1"
    assert validate_base_url("http://[::1]:8000/v1") == "http://[::1]:8000/v1"
    assert validate_base_url("http://h/v1?api-version=2") == "http://h/v1?api-version=2"


def test_a_bad_url_message_never_shows_its_password() -> None:
    with pytest.raises(ConfigError) as info:
        validate_base_url("ftp://bob:hunter2-secret@host/v1")
    assert "hunter2-secret" not in str(info.value) and "bob" not in str(info.value)


@pytest.mark.parametrize("transport", ["aiohttp", "openai-sdk"])
def test_make_teacher_refuses_a_bad_base_url(transport: str) -> None:
    with pytest.raises(ConfigError, match="ftp://"):
        make_teacher("m", base_url="ftp://localhost/v1", transport=transport)


def test_public_endpoint_drops_userinfo_and_secret_query_values() -> None:
    url = "http://user:PASS@host:8000/v1?api-key=abc123&api-version=2024-01&token=t0k3n#frag"
    assert public_endpoint(url) == "http://host:8000/v1?api-key=***&api-version=2024-01&token=***"
    assert public_endpoint("http://localhost:8000/v1") == "http://localhost:8000/v1"
    assert host_of(url) == "host:8000"
    assert host_of("http://[::1]:8000/v1") == "[::1]:8000"
    assert "PASS" not in public_endpoint("http://user:PASS@[::1/v1")  # unparseable too


def test_registered_secrets_are_redacted_whatever_their_shape() -> None:
    secret = "plain-words-but-secret-91"
    assert redact(f"key={secret}") == f"key={secret}"
    register_secret(secret)
    assert redact(f"key={secret}") == "key=***"
    assert secret not in str(TeacherError(f"server said {secret}"))
    assert redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer ***"


def test_log_records_are_redacted_by_the_filter(caplog: pytest.LogCaptureFixture) -> None:
    register_secret("log-secret-5521")
    logger = logging.getLogger("synthgen.test_redact")
    caplog.handler.addFilter(RedactFilter())
    with caplog.at_level(logging.INFO, logger="synthgen.test_redact"):
        logger.info("the server said %s", "log-secret-5521 is wrong")
    assert caplog.records[0].getMessage() == "the server said *** is wrong"


def test_retry_after_is_capped_and_dates_are_read() -> None:
    assert retry_after_seconds({"retry-after": "999999"}) == MAX_RETRY_AFTER == 60.0
    assert retry_after_seconds({"retry-after": "inf"}) == 60.0
    assert retry_after_seconds({"retry-after": "nan"}) is None
    assert retry_after_seconds({"retry-after-ms": "1500", "retry-after": "9"}) == 1.5
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    got = retry_after_seconds({"retry-after": soon})
    assert got is not None and 0 < got <= 31
    past = email.utils.formatdate(time.time() - 30, usegmt=True)
    assert retry_after_seconds({"retry-after": past}) == 0.0


def test_backoff_never_waits_past_its_retry_after_cap() -> None:
    rng = random.Random(0)
    backoff = Backoff(base=1.0, cap=8.0)
    waits = [backoff.delay(attempt, 999999.0, rng) for attempt in range(6)]
    assert all(60.0 <= w <= 60.0 + 0.8 for w in waits)
