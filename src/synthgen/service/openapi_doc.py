"""docs/openapi.json: the API's schema, generated from the app. Regenerate with
``python -m synthgen.service.openapi_doc``; a test fails when the file is stale."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

__all__ = ["DOC", "openapi_text"]

DOC = Path("docs") / "openapi.json"


def openapi_text() -> str:
    from synthgen.service.app import create_app

    with tempfile.TemporaryDirectory() as data:
        app = create_app(data)
        schema = app.openapi()
        app.state.service.store.close()
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    """Write DOC (or, with --check, exit 1 when it differs from the app's schema)."""
    text = openapi_text()
    if "--check" in sys.argv[1:]:
        if not DOC.is_file() or DOC.read_text(encoding="utf-8") != text:
            print(f"{DOC} is stale: run python -m synthgen.service.openapi_doc", file=sys.stderr)
            raise SystemExit(1)
        return
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text, encoding="utf-8")
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
