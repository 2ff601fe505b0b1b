"""docs/openapi.json is the schema the app serves."""

from __future__ import annotations

import json
from pathlib import Path

from synthgen.service.openapi_doc import DOC, openapi_text

ROOT = Path(__file__).resolve().parents[2]


def test_the_checked_in_schema_is_current():
    current = openapi_text()
    assert (ROOT / DOC).read_text(encoding="utf-8") == current, (
        "docs/openapi.json is stale: run python -m synthgen.service.openapi_doc"
    )
    paths = json.loads(current)["paths"]
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/files", "/healthz"} <= set(paths)
