"""The web page of ``synthgen serve``: ``/`` (the job list and a form to submit a job) and
``/jobs/{id}`` (a job's live progress, its drops by reason, its examples and files).

Server-rendered shells (Jinja2, autoescaped) whose small inline scripts call the JSON API
(``/v1/...``) with fetch and EventSource; no front-end build step. Data from the API reaches
the page only through ``textContent``, and a per-response Content-Security-Policy nonce lets
only the page's own inline scripts run, so a job's examples can never run as code.

With tokens configured the browser authenticates with the cookie ``synthgen_token``, set by
the token form (``POST /token``): HttpOnly, so no script reads it, and SameSite=Strict, so no
other site's form can submit a job with it.
"""

import functools
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from synthgen._version import __version__

__all__ = ["TOKEN_COOKIE", "add_web"]

TOKEN_COOKIE = "synthgen_token"
TEMPLATES = Path(__file__).resolve().parent / "web_templates"
# A token form body is a few hundred bytes; anything larger is not one.
_MAX_FORM_BYTES = 4096
_COOKIE_DAYS = 30


@functools.cache
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value rendered into a page is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_page(name: str, request: Request, **context: Any) -> Response:
    """The page ``name`` with the headers every page gets: a fresh script nonce in a strict
    Content-Security-Policy, no framing, no sniffing, no referrer to other sites."""
    nonce = secrets.token_urlsafe(16)
    html = (
        _templates()
        .get_template(name)
        .render(
            nonce=nonce,
            version=__version__,
            has_token=bool(request.cookies.get(TOKEN_COOKIE)),
            **context,
        )
    )
    response = HTMLResponse(html)
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        "form-action 'self'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    # same-origin, not no-referrer: under no-referrer the token form is posted with
    # "Origin: null", which the form's own check must refuse.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


def add_web(app: FastAPI) -> None:
    """Mount the page's routes on ``app`` (create_app calls this last). They stay out of the
    OpenAPI schema: they are pages, not API."""

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> Response:
        return render_page("index.html.j2", request)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def job_page(request: Request, job_id: str) -> Response:
        return render_page("job.html.j2", request, job_id=job_id)

    @app.post("/token", include_in_schema=False)
    async def set_token(request: Request) -> Response:
        """The token form: remember the token in the cookie (an empty one forgets it), then
        back to the page the form was on."""
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            # Another site's form would plant its own token in this browser (login CSRF).
            return Response("token form from another site", status_code=403)
        body = await request.body()
        if len(body) > _MAX_FORM_BYTES:
            return Response("token form too large", status_code=413)
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        token = (form.get("token") or [""])[0].strip()
        back = (form.get("next") or ["/"])[0]
        # Only a path on this server: never an open redirect to another site.
        if not back.startswith("/") or back.startswith("//") or "\\" in back:
            back = "/"
        response = RedirectResponse(back, status_code=303)
        if token:
            response.set_cookie(
                TOKEN_COOKIE,
                token,
                max_age=_COOKIE_DAYS * 86400,
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
                path="/",
            )
        else:
            response.delete_cookie(TOKEN_COOKIE, path="/")
        return response
