"""schemathesis against the served /openapi.json of a real ``synthgen serve``: no 500, no
response that breaks the schema. Bounded: a few examples per operation, derandomized."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
]


def test_api_conforms_to_its_schema(start_server):
    server = start_server()
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 9
    calls: list[int] = []
    for operation in operations:

        @settings(
            max_examples=10,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case):
            response = case.call_and_validate(checks=CHECKS, timeout=30)
            calls.append(response.status_code)

        check()
    assert len(calls) >= 3 * len(operations)
    assert any(code < 300 for code in calls) and any(400 <= code < 500 for code in calls)
