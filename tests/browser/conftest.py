"""Browser tests: Playwright drives Debian's Chromium against the app served on loopback.

They need /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it). Screenshots
of the key pages are kept under test-artifacts/screenshots.
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if not Path(CHROMIUM).exists():
        reason = "Debian's chromium is not installed (apt-get install -y chromium)"
        for item in items:
            if "tests/browser" in str(item.fspath):
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so fixtures can tell whether the test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    report = getattr(request.node, "report_call", None)
    return bool(report is not None and report.failed)


def _server_side(app: Any) -> str:
    """What the database is doing (on PostgreSQL: every session of the test database and what
    it waits for) and the app's connection pool, for a failed browser test's report."""
    from sqlalchemy import text

    from app.extensions import db

    lines = [f"pool: {db.engine.pool.status()}"]
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT pid, state, wait_event_type, wait_event, "
                    "now() - xact_start AS open_for, left(query, 160) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
            lines += [" | ".join(str(value) for value in row) for row in rows]
    return "\n".join(lines)


def _describe_pages(pages: list[Any]) -> str:
    """Where each person's page is and what it shows, for a failed browser test's report."""
    parts = []
    for index, page in enumerate(pages):
        try:
            body = " ".join(page.locator("body").inner_text(timeout=5_000).split())
        except Exception as error:  # the page may be mid-navigation or hung: say so
            body = f"(no text: {error.__class__.__name__})"
        parts.append(f"page {index}: {page.url}\n  {body[:1500]}")
    return "\n".join(parts)


@pytest.fixture
def live_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def app_config(app_config: dict[str, Any], live_port: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{live_port}"
    app_config.update(SERVER_NAME=None, BASE_URL=url, PREFERRED_URL_SCHEME="http")
    return app_config


class Gate:
    """WSGI middleware: while the gate is shut, requests wait at it, and are served once it
    opens; shutting it waits for the requests inside to finish (their whole work, the
    emulator's webhook deliveries after the response included).

    A test that moves the clock shuts it first. Otherwise a request a browser sends on its
    own (a favicon, say) may be served in the moved time: its session cookie is then signed
    days ahead, and back in the present its age is negative, which the signature check
    refuses, and that person is logged out."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._state = threading.Condition()
        self._open = True
        self._inside = 0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        with self._state:
            self._state.wait_for(lambda: self._open)
            self._inside += 1
        try:
            result = self.app(environ, start_response)
            try:
                return list(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        finally:
            with self._state:
                self._inside -= 1
                self._state.notify_all()

    @contextmanager
    def shut(self, timeout: float = 30.0) -> Iterator[None]:
        with self._state:
            self._open = False
            assert self._state.wait_for(lambda: self._inside == 0, timeout), "requests hung"
        try:
            yield
        finally:
            with self._state:
                self._open = True
                self._state.notify_all()


@pytest.fixture
def live_gate(app: Any) -> Gate:
    return Gate(app)


@pytest.fixture
def live_server(live_gate: Gate, live_port: int) -> Iterator[str]:
    server = make_server("127.0.0.1", live_port, live_gate, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{live_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture(params=["phone", "laptop"])
def viewport(request: pytest.FixtureRequest) -> dict[str, int]:
    return PHONE if request.param == "phone" else LAPTOP


@pytest.fixture
def page(browser: Any, viewport: dict[str, int]) -> Iterator[Any]:
    context = browser.new_context(viewport=viewport, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)  # generous: CI machines are shared
    yield page
    context.close()


def overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than the window (0 when nothing sticks out, so
    a phone never scrolls sideways)."""
    return int(page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") or 0)


def screenshot(page: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    width = page.viewport_size["width"] if page.viewport_size else 0
    path = ARTIFACTS / f"{name}-{width}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def open_menu(page: Any) -> None:
    """Open the header's menu where it is one (a phone); on a wide screen its links are
    in the header already."""
    button = page.locator("summary.nav-menu-button")
    if button.is_visible() and not page.locator("details.nav-menu").evaluate("m => m.open"):
        button.click()


def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Wait (bounded) for something the server does after a response, like a webhook delivery."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(interval)


def log_in(page: Any, base: str, user: Any, password: str | None = None) -> None:
    """Log in through the log-in page, as a person would; with two-step sign-in on, the code
    page comes next and gets a code their app would show now."""
    from app.extensions import db
    from tests.browser.two_step import Authenticator
    from tests.factories import DEFAULT_PASSWORD

    page.goto(f"{base}/login")
    page.get_by_label("Email or handle").fill(user.handle)
    page.get_by_label("Password", exact=True).fill(password or DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    if "/login/code" in page.url:
        db.session.refresh(user)
        app = Authenticator(user.two_step_secret, last_step=user.two_step_last_step)
        page.get_by_label("Code", exact=True).fill(app.code())
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    assert page.locator(f"a.nav-me:has-text('@{user.handle}')").count() == 1, page.url


@pytest.fixture
def open_as(
    request: pytest.FixtureRequest,
    app: Any,
    browser: Any,
    viewport: dict[str, int],
    live_server: str,
) -> Iterator[Any]:
    """`open_as(user)`: a page in that person's own browser context, logged in, at the
    viewport of the test (several people can use the site side by side). When the test fails,
    its report says where each page was, what it showed, and what the database was doing."""
    contexts: list[Any] = []
    pages: list[Any] = []

    def open_page(user: Any | None = None, **options: Any) -> Any:
        context = browser.new_context(viewport=viewport, locale="en-GB", **options)
        contexts.append(context)
        page = context.new_page()
        pages.append(page)
        page.set_default_timeout(30_000)  # generous: CI machines are shared
        if user is not None:
            log_in(page, live_server, user)
        return page

    yield open_page
    if _failed(request):
        # Printed in teardown, it shows under the failed test's "Captured stdout teardown".
        print("== the pages when the test failed\n" + _describe_pages(pages))
        print("== the server side\n" + _server_side(app))
    for context in contexts:
        context.close()


def png(colour: tuple[int, int, int] = (200, 120, 80), size: int = 48) -> bytes:
    """A small generated PNG, for uploads."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(out, format="PNG")
    return out.getvalue()
