"""The web page in a real headless browser (Debian's chromium, driven by Playwright): enter
the token, submit a job through the form with an uploaded seeds file, watch it finish on its
page, open an example; nothing a job holds is ever run as markup."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from synthgen.teacher.demo import demo_reply
from synthgen.testing import FakeTeacher
from tests.helpers import SAMPLES
from tests.service.server import Server

CHROMIUM = "/usr/bin/chromium"
TOKEN = "alice-token-0123456789abcdef"
# Markup in a job's data: shown as text, never parsed (it would change the title if run).
PAYLOAD = "<img src=x onerror=\"document.title='pwned'\"> still there?"
MODEL = "m<b>bold</b>"


def handler(body: dict[str, Any], index: int) -> dict[str, Any]:
    """The demo teacher, its first conversation a placeholder answer (a counted rejection)
    asked with markup."""
    reply = demo_reply(body["messages"], ordinal=index)
    first = reply["conversations"][0]["messages"]
    first[0]["content"] = PAYLOAD
    first[1]["content"] = "TODO"
    return reply


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTeacher]:
    teacher = FakeTeacher(handler=handler).start()
    yield teacher
    teacher.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("serve-web")
    tokens = folder / "tokens.txt"
    tokens.write_text(f"alice:{TOKEN}\n", encoding="utf-8")
    running = Server(folder / "data", "--tokens", str(tokens)).start()
    yield running
    running.stop()


@pytest.fixture
def page() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: scripts/browser/setup.sh installs it")
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        # Generous waits (a shared, busy machine): they end as soon as the page is there.
        context.set_default_timeout(60_000)
        sync_api.expect.set_options(timeout=60_000)
        yield context.new_page()
        context.close()
        browser.close()


def test_submit_through_the_form_watch_it_finish_and_open_an_example(server, fake, page):
    dialogs: list[str] = []

    def on_dialog(dialog: Any) -> None:  # an alert() run by injected markup would land here
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    from playwright.sync_api import expect

    # No token yet: the job list is refused and the token field shows; the cookie it sets
    # (HttpOnly, so no script can read it) lets the page in.
    page.goto(server.url + "/")
    expect(page.locator("#jobs-error")).to_contain_text("enter your token")
    expect(page.locator("#token-form")).to_be_visible()
    page.fill("#token-input", TOKEN)
    page.click("#token-form button")
    expect(page.locator("#jobs")).to_contain_text("No jobs yet.")
    assert page.evaluate("document.cookie") == ""

    # The form: upload the seeds file, set n and the teacher, submit.
    page.set_input_files("#seeds", str(SAMPLES / "support.jsonl"))
    page.fill("#n", "24")
    page.fill("#model", MODEL)
    page.fill("#base_url", fake.base_url)
    page.fill("#concurrency", "4")
    page.fill("#api_key", "sk-test-0123456789abcdef")
    page.click("#submit-button")
    page.wait_for_url("**/jobs/job_*")
    job_id = page.url.rsplit("/", 1)[1]

    # Its page follows the event stream to the end.
    expect(page.locator("#state .state")).to_have_text("succeeded")
    expect(page.locator("#accepted")).to_have_text("24 / 24")
    expect(page.locator("#reasons")).to_contain_text("placeholder")
    expect(page.locator("#categories")).to_contain_text("24")
    train_link = page.locator("#files a", has_text="train.jsonl")
    expect(train_link).to_have_attribute("href", f"/v1/jobs/{job_id}/files/train.jsonl")
    download = page.request.get(server.url + train_link.get_attribute("href"))
    assert download.status == 200 and download.text().count("\n") >= 1

    # Open an accepted example: its whole record shows.
    first = page.locator("#examples .example").first
    first.locator(".summary").click()
    expect(first.locator("pre")).to_be_visible()
    expect(first.locator("pre")).to_contain_text('"messages"')

    # The rejected ones, with their reason; the markup in them is text.
    page.click("#tabs button[data-split=rejected]")
    rejected = page.locator("#examples .example").first
    expect(rejected.locator(".reason")).to_have_text("placeholder")
    expect(rejected.locator(".preview")).to_have_text(PAYLOAD)
    rejected.locator(".summary").click()
    expect(rejected.locator("pre")).to_contain_text("TODO")
    assert page.locator("#examples img").count() == 0

    # Back on the list: the job, its state, and its model name as typed.
    page.click("header a.home")
    row = page.locator(f'#jobs tr[data-job="{job_id}"]')
    expect(row.locator(".state")).to_have_text("succeeded")
    expect(row).to_contain_text(MODEL)
    assert row.locator("b").count() == 0
    assert page.title() == "synthgen · jobs" and dialogs == []


def test_pages_are_escaped_framed_out_and_the_token_cookie_is_guarded(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        home = http.get("/")
        csp = home.headers["content-security-policy"]
        nonce = re.search(r"script-src 'nonce-([^']+)'", csp)
        assert home.status_code == 200 and nonce is not None
        assert home.text.count(f'<script nonce="{nonce.group(1)}">') == 2
        assert home.headers["x-frame-options"] == "DENY"
        assert http.get("/").headers["content-security-policy"] != csp  # a nonce per page

        odd = http.get("/jobs/" + quote('"><script>alert(1)', safe=""))
        assert odd.status_code == 200
        assert "<script>alert(1)" not in odd.text and "&lt;script&gt;alert(1)" in odd.text

        form = {"token": TOKEN, "next": "//elsewhere.example/"}
        foreign = http.post("/token", data=form, headers={"Origin": "http://elsewhere.example"})
        assert foreign.status_code == 403 and "set-cookie" not in foreign.headers
        origin = {"Origin": server.url}
        same = http.post("/token", data=form, headers=origin)
        assert same.status_code == 303 and same.headers["location"] == "/"  # no open redirect
        cookie = same.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert http.get("/v1/jobs").status_code == 200  # the server takes the cookie
        http.post("/token", data={"token": ""}, headers=origin)  # forgets it
        assert http.get("/v1/jobs").status_code == 401
