"""The production smoke journey, over HTTP against a running gunicorn and Celery worker.

    python scripts/smoke_journey.py --base-url http://127.0.0.1:8000 --redis-url redis://…/5

Run by scripts/prod_smoke.sh (`make prod-smoke`), which starts the servers. Each step prints
one line; the first failure stops the journey with a non-zero exit. Every wait is bounded.
Standard library only (plus redis, to watch the worker's heartbeat), so it runs anywhere the
app's virtualenv does.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
TIMEOUT = 15.0  # seconds, per HTTP request


class Failure(Exception):
    pass


class Browser:
    """Cookies, CSRF tokens and request ids: just enough of a browser for the journey."""

    def __init__(self, base_url: str, run_id: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.run_id = run_id
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        self.count = 0

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], str]:
        self.count += 1
        request_id = f"{self.run_id}-{self.count}"
        data = None
        all_headers = {"X-Request-ID": request_id, **(headers or {})}
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            all_headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        req = urllib.request.Request(  # noqa: S310 - base_url is ours, http(s) only
            self.base_url + path, data=data, method=method, headers=all_headers
        )
        try:
            with self.opener.open(req, timeout=TIMEOUT) as response:
                return response.status, dict(response.headers), response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read().decode(errors="replace")

    def csrf(self, path: str) -> str:
        status, _headers, body = self.request("GET", path)
        match = CSRF_RE.search(body)
        if status != 200 or not match:
            raise Failure(f"no CSRF token on {path} (status {status})")
        return match.group(1)

    def submit(
        self, path: str, form: dict[str, str], *, page: str | None = None
    ) -> tuple[int, dict[str, str], str]:
        """Post a form as its page would: with the CSRF token read from `page` (or `path`)."""
        token = self.csrf(page or path)
        return self.request("POST", path, form={"csrf_token": token, **form})


def step(name: str):
    def wrap(function):
        def run(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = function(*args, **kwargs)
            except Failure as failure:
                print(f"FAIL  {name}: {failure}", flush=True)
                raise
            print(f"ok    {name} ({(time.perf_counter() - started) * 1000:.0f} ms)", flush=True)
            return result

        return run

    return wrap


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


@step("server answers /healthz")
def wait_for_server(browser: Browser, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    last = "no answer"
    for _attempt in range(int(seconds * 4)):
        try:
            status, _h, _b = browser.request("GET", "/healthz")
            if status == 200:
                return
            last = f"status {status}"
        except OSError as error:
            last = str(error)
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    raise Failure(f"gunicorn not answering after {seconds:.0f}s: {last}")


@step("/readyz: database, migrations and Redis")
def readyz(browser: Browser) -> None:
    status, headers, body = browser.request("GET", "/readyz")
    checks = json.loads(body).get("checks", {})
    expect(status == 200, f"status {status}: {body}")
    expect(set(checks) == {"database", "migrations", "redis"}, f"checks {sorted(checks)}")
    expect(headers.get("X-Request-ID") == f"{browser.run_id}-{browser.count}", "request id echo")


@step("sign up")
def sign_up(browser: Browser, handle: str, password: str) -> None:
    status, _h, body = browser.submit(
        "/signup",
        {
            "email": f"{handle}@example.com",
            "handle": handle,
            "display_name": "Smoke Test",
            "password": password,
        },
    )
    expect(status == 200 and f"@{handle}" in body, f"status {status}, not signed in")


@step("log out and log in")
def log_in(browser: Browser, handle: str, password: str) -> None:
    status, _h, body = browser.submit("/logout", {}, page="/account/")
    expect(status == 200 and f"@{handle}" not in body, "still logged in after logout")
    status, _h, body = browser.submit("/login", {"login": handle, "password": password})
    expect(status == 200 and f"@{handle}" in body, f"status {status}, login failed")


@step("home page")
def home(browser: Browser) -> str:
    status, _h, body = browser.request("GET", "/")
    expect(status == 200 and "<main" in body, f"status {status}")
    return f"{browser.run_id}-{browser.count}"


@step("search")
def search(browser: Browser) -> None:
    status, _h, body = browser.request("GET", "/search?q=mug")
    expect(status == 200 and "<main" in body, f"status {status}")


@step("API with a personal access token")
def api_with_token(browser: Browser, handle: str) -> str:
    token = browser.csrf("/account/tokens")
    status, _h, body = browser.request(
        "POST", "/api/v1/tokens", json_body={"name": "smoke"}, headers={"X-CSRFToken": token}
    )
    expect(status == 201, f"token creation: status {status}: {body[:200]}")
    secret = json.loads(body)["token"]
    anonymous = Browser(browser.base_url, browser.run_id + "-api")
    status, _h, body = anonymous.request(
        "GET", "/api/v1/me", headers={"Authorization": f"Bearer {secret}"}
    )
    expect(status == 200 and json.loads(body)["handle"] == handle, f"/me: {status} {body[:200]}")
    status, _h, body = anonymous.request(
        "GET", "/api/v1/search?q=mug", headers={"Authorization": f"Bearer {secret}"}
    )
    expect(status == 200, f"API search: status {status}")
    return secret


def _heartbeat(redis_url: str) -> dict[str, Any] | None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        raw = client.get("kindred:jobs:heartbeat")
    finally:
        client.close()
    return json.loads(raw) if raw else None


def _forget_heartbeat(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        client.delete("kindred:jobs:heartbeat")
    finally:
        client.close()


def _wait_heartbeat(redis_url: str, after: float, seconds: float) -> dict[str, Any]:
    for _attempt in range(int(seconds * 4)):
        beat = _heartbeat(redis_url)
        if beat and beat["at"] >= after:
            return beat
        time.sleep(0.25)
    raise Failure(f"no heartbeat within {seconds:.0f}s")


@step("a job queued by `flask jobs enqueue` runs on the worker")
def job_through_worker(redis_url: str, flask: str) -> None:
    _forget_heartbeat(redis_url)
    started = time.time()
    done = subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [flask, "jobs", "enqueue", "app.heartbeat"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    expect(done.returncode == 0, f"flask jobs enqueue failed: {done.stderr[-500:]}")
    beat = _wait_heartbeat(redis_url, started, 30)
    expect(beat["pid"] != os.getpid(), "the job ran in this process, not on the worker")


@step("beat schedules the heartbeat")
def beat_schedules(redis_url: str) -> None:
    _forget_heartbeat(redis_url)
    _wait_heartbeat(redis_url, time.time(), 30)


FORM_ACTION_RE = re.compile(r'<form method="post" action="([^"]*/c/pay/[^"]+)"')


def _variant_in_stock(api: Browser, auth: dict[str, str]) -> tuple[int, int]:
    """A demo product's variant that is in stock: (variant id, its price)."""
    status, _h, body = api.request("GET", "/api/v1/products?per_page=20", headers=auth)
    expect(status == 200, f"products: status {status}")
    for summary in json.loads(body)["items"]:
        status, _h, body = api.request("GET", f"/api/v1/products/{summary['id']}", headers=auth)
        variants = json.loads(body).get("variants", []) if status == 200 else []
        for variant in variants:
            if variant["stock"] > 0:
                return int(variant["id"]), int(variant["price_minor"])
    raise Failure("no demo product in stock")


@step("buy: cart, checkout, the hosted payment page, the webhook, the worker's order")
def buy(browser: Browser, secret: str, seconds: float = 45.0) -> None:
    """Money through production serving: the payment's webhook reaches a gunicorn worker and
    the order is made by the jobs the Celery worker runs."""
    auth = {"Authorization": f"Bearer {secret}"}
    api = Browser(browser.base_url, browser.run_id + "-buy")
    variant_id, price = _variant_in_stock(api, auth)
    status, _h, body = api.request(
        "POST",
        "/api/v1/cart/lines",
        json_body={"variant_id": variant_id, "quantity": 1},
        headers=auth,
    )
    expect(status == 201, f"add to cart: status {status}: {body[:200]}")
    status, _h, body = browser.submit(
        "/checkout",
        {
            "name": "Smoke Test",
            "line1": "1 rue du Test",
            "city": "Lyon",
            "postal_code": "69001",
            "country": "FR",
        },
    )
    action = FORM_ACTION_RE.search(body)
    expect(status == 200 and action is not None, f"checkout: status {status}, no payment page")
    assert action is not None
    status, _h, body = browser.request(
        "POST",
        action.group(1),
        form={
            "email": "smoke@example.com",
            "card_number": "4242 4242 4242 4242",
            "exp": "12 / 34",
            "cvc": "123",
            "name": "Smoke Test",
        },
    )
    expect(status == 200 and "<main" in body, f"payment page: status {status}: {body[:200]}")
    deadline = time.monotonic() + seconds
    orders: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        status, _h, body = api.request("GET", "/api/v1/orders", headers=auth)
        orders = json.loads(body).get("items", []) if status == 200 else []
        if orders and orders[0].get("status") == "paid":
            break
        time.sleep(0.25)
    expect(bool(orders), f"no order {seconds:.0f}s after paying")
    expect(orders[0]["status"] == "paid", f"the order is {orders[0]['status']}, not paid")
    expect(orders[0]["total_minor"] >= price, f"order total {orders[0]['total_minor']} < {price}")


def main() -> int:
    parser = argparse.ArgumentParser(description="The production smoke journey.")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--flask", default=os.path.join(os.path.dirname(sys.executable), "flask"))
    parser.add_argument("--wait", type=float, default=60.0, help="seconds to wait for gunicorn")
    parser.add_argument("--no-beat", action="store_true", help="skip the beat check")
    args = parser.parse_args()

    run_id = f"smoke-{os.getpid()}"
    browser = Browser(args.base_url, run_id)
    handle = f"smoke_{os.getpid()}"
    password = "smoke-test-password-1"  # noqa: S105 - a throwaway account in a throwaway db
    try:
        wait_for_server(browser, args.wait)
        readyz(browser)
        sign_up(browser, handle, password)
        log_in(browser, handle, password)
        home_request_id = home(browser)
        search(browser)
        secret = api_with_token(browser, handle)
        buy(browser, secret)
        job_through_worker(args.redis_url, args.flask)
        if not args.no_beat:
            beat_schedules(args.redis_url)
    except Failure:
        return 1
    # The shell script checks the access log for this id.
    print(f"home-request-id {home_request_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
