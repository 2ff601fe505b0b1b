"""FakeTeacher's batch API: ``/v1/files`` and ``/v1/batches`` as OpenAI speaks them.

A JSONL file uploaded with purpose "batch" becomes a batch on ``POST /v1/batches``; the batch
stays ``in_progress`` for ``delay`` seconds (read when it is polled, so a test may shorten it
while a batch waits), then each of its lines is answered the way ``/v1/chat/completions``
would answer it: the same scripted replies, faults and placeholder data, in line order.
Lines answered with a 200 go to the output file, the others to the error file. The next
``expire`` batches expire instead, with only the first half of their lines answered.
Counters (``files_uploaded``, ``batches_created``, ``polls``, ``lines``) are safe to read
from any thread.
"""

from __future__ import annotations

import json
import threading
import time
from typing import TYPE_CHECKING, Any

from synthgen.testing.scripting import ERRORS, Fault, Reply, completion_body, error_body

if TYPE_CHECKING:
    from aiohttp import web

    from synthgen.testing.fake_teacher import FakeTeacher

__all__ = ["FakeBatches"]

_EXPIRED = {
    "code": "batch_expired",
    "message": "This request could not be executed before the completion window expired.",
}


class FakeBatches:
    def __init__(self, fake: FakeTeacher, *, delay: float = 0.0) -> None:
        self._fake = fake
        self.delay = delay  # seconds a batch stays in_progress
        self.expire = 0  # the next this many batches expire, half done
        self._lock = threading.Lock()
        self._files: dict[str, tuple[str, bytes]] = {}  # id -> (purpose, content)
        self._batches: dict[str, dict[str, Any]] = {}
        self._started: dict[str, float] = {}  # batch id -> time.monotonic() created
        self.files_uploaded = 0
        self.batches_created = 0
        self.polls = 0
        self.lines = 0  # batch lines answered

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self._upload)
        app.router.add_get("/v1/files/{id}/content", self._content)
        app.router.add_post("/v1/batches", self._create)
        app.router.add_get("/v1/batches", self._list)
        app.router.add_get("/v1/batches/{id}", self._retrieve)
        app.router.add_post("/v1/batches/{id}/cancel", self._cancel)

    @property
    def batches(self) -> list[dict[str, Any]]:
        """The batch objects, oldest first, as last polled."""
        with self._lock:
            return [dict(b) for b in self._batches.values()]

    # ---- files ------------------------------------------------------------------------------

    def _add_file(self, purpose: str, data: bytes, name: str) -> dict[str, Any]:
        with self._lock:
            file_id = f"file-fake{len(self._files):06d}"
            self._files[file_id] = (purpose, data)
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": name,
            "purpose": purpose,
            "status": "processed",
        }

    async def _upload(self, request: web.Request) -> web.Response:
        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        form = await request.post()
        upload, purpose = form.get("file"), str(form.get("purpose", ""))
        content = getattr(upload, "file", None)
        if content is None or purpose != "batch":
            return self._fake._error("400", "Expected a file and purpose=batch.")
        with self._lock:
            self.files_uploaded += 1
        return self._fake._json(
            self._add_file(purpose, content.read(), str(getattr(upload, "filename", "")))
        )

    async def _content(self, request: web.Request) -> web.Response:
        from aiohttp import web

        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        with self._lock:
            found = self._files.get(request.match_info["id"])
        if found is None:
            return self._fake._error("404", "No such file.")
        return self._fake._send(web.Response(body=found[1], content_type="application/jsonl"))

    # ---- batches ----------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        body = json.loads(await request.read())
        file_id = str(body.get("input_file_id", ""))
        with self._lock:
            known = file_id in self._files
            if known:
                self.batches_created += 1
                batch_id = f"batch_fake{len(self._batches):06d}"
                batch = {
                    "id": batch_id,
                    "object": "batch",
                    "endpoint": body.get("endpoint", "/v1/chat/completions"),
                    "input_file_id": file_id,
                    "completion_window": body.get("completion_window", "24h"),
                    "status": "in_progress",
                    "created_at": int(time.time()),
                    "metadata": body.get("metadata"),
                    "request_counts": {"total": 0, "completed": 0, "failed": 0},
                }
                self._batches[batch_id] = batch
                self._started[batch_id] = time.monotonic()
        if not known:
            return self._fake._error("400", f"No file {file_id!r} to make a batch of.")
        return self._fake._json(dict(batch))

    async def _list(self, request: web.Request) -> web.Response:
        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        with self._lock:
            data = [dict(b) for b in reversed(self._batches.values())]  # newest first
        return self._fake._json({"object": "list", "data": data, "has_more": False})

    async def _retrieve(self, request: web.Request) -> web.Response:
        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        batch_id = request.match_info["id"]
        with self._lock:
            self.polls += 1
            batch = self._batches.get(batch_id)
            due = batch is not None and batch["status"] == "in_progress"
            due = due and time.monotonic() - self._started[batch_id] >= self.delay
            if due:
                assert batch is not None
                batch["status"] = "finalizing"  # answered below, once
        if batch is None:
            return self._fake._error("404", f"No batch {batch_id!r}.")
        if due:
            await self._finish(batch)
        with self._lock:
            return self._fake._json(dict(batch))

    async def _cancel(self, request: web.Request) -> web.Response:
        failure = self._fake._auth_failure(request)
        if failure is not None:
            return failure
        with self._lock:
            batch = self._batches.get(request.match_info["id"])
            if batch is not None and batch["status"] == "in_progress":
                batch["status"] = "cancelled"
        if batch is None:
            return self._fake._error("404", "No such batch.")
        return self._fake._json(dict(batch))

    async def _finish(self, batch: dict[str, Any]) -> None:
        with self._lock:
            data = self._files[batch["input_file_id"]][1]
            expiring = self.expire > 0
            self.expire -= 1 if expiring else 0
        lines = [json.loads(x) for x in data.decode("utf-8").splitlines() if x.strip()]
        keep = len(lines) // 2 if expiring else len(lines)
        done: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for k, line in enumerate(lines):
            if k >= keep:
                failed.append(_line(line, None, error=_EXPIRED))
                continue
            status, payload = await self._answer(line.get("body") or {})
            (done if status == 200 else failed).append(_line(line, (status, payload)))
        outputs = {"output_file_id": done, "error_file_id": failed}
        for key, rows in outputs.items():
            text = "".join(json.dumps(r) + "\n" for r in rows).encode()
            batch[key] = self._add_file("batch_output", text, f"{batch['id']}.jsonl")["id"]
        with self._lock:
            batch["request_counts"] = {
                "total": len(lines),
                "completed": len(done),
                "failed": len(failed),
            }
            batch["status"] = "expired" if expiring else "completed"

    async def _answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """What /v1/chat/completions would have answered ``body`` with: (status, JSON)."""
        fake = self._fake
        with self._lock:
            index = self.lines
            self.lines += 1
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            return 400, error_body("400", "'messages' is a required property.")
        model = str(body.get("model", ""))
        known = fake._model_names is None or model in fake._model_names
        if not known or model in fake._unknown_models:
            return 404, error_body("404", f"The model `{model}` does not exist.")
        item, _ = await fake._choose(body, index)
        if isinstance(item, Fault):
            if item.kind in ERRORS:
                return ERRORS[item.kind][0], error_body(item.kind)
            if item.kind not in ("length", "empty", "slow"):
                return 500, error_body("500")
            full = fake._content(body, item.reply).content
            if item.kind != "slow":
                cut = full[: len(full) // 2] if item.kind == "length" else ""
                reply = Reply(cut, "length" if item.kind == "length" else "stop")
                return 200, completion_body(body, reply, index)
            item = Reply(full)
        reply = fake._content(body, item)
        return 200, fake._prompt_cache.stamp(completion_body(body, reply, index), body)


def _line(
    line: dict[str, Any],
    answer: tuple[int, dict[str, Any]] | None,
    *,
    error: dict[str, str] | None = None,
) -> dict[str, Any]:
    custom_id = line.get("custom_id")
    response = None
    if answer is not None:
        response = {"status_code": answer[0], "request_id": f"req_{custom_id}", "body": answer[1]}
    return {
        "id": f"batch_req_{custom_id}",
        "custom_id": custom_id,
        "response": response,
        "error": error,
    }
