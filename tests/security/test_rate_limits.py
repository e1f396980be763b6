"""Rate limits an attacker would try to get around: log-in, sign-up and password-reset
attempts (by address), likes and follows (by person, pages and API sharing one budget).

The limits are set tight here; each test checks the limit holds whatever the attacker varies
(the account tried, a forged X-Forwarded-For, page or API, session or token), that a refusal
is a clear 429 with Retry-After, and that it lifts when the window has passed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import time_machine

from app.models import utcnow
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token


@pytest.fixture
def app_config(app_config):
    app_config.update(
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_SIGNUP="2 per minute",
        RATELIMIT_RESET="2 per minute",
        RATELIMIT_LIKES="3 per minute",
        RATELIMIT_FOLLOWS="3 per minute",
    )
    return app_config


def forged(n: int) -> dict[str, str]:
    """Headers claiming another client address (no proxy is trusted by default)."""
    return {"X-Forwarded-For": f"203.0.113.{n}", "X-Real-IP": f"198.51.100.{n}"}


def refused(response: Any) -> bool:
    return response.status_code == 429 and bool(response.headers.get("Retry-After"))


def later() -> Any:
    return time_machine.travel(utcnow() + timedelta(seconds=61), tick=False)


def test_log_in_attempts_are_limited_whoever_is_tried_and_from_wherever(client):
    victim = UserFactory()
    for n in range(3):
        attempt = client.post_form(
            "/login",
            {"login": f"guess{n}@example.com", "password": "wrong-pass"},
            headers=forged(n),
        )
        assert attempt.status_code == 422
    # Even the right password waits: the limit is on attempts, before any password check.
    blocked = client.post_form(
        "/login", {"login": victim.email, "password": "correct horse battery"}
    )
    assert refused(blocked)
    assert "Too many attempts" in blocked.get_data(as_text=True)
    with later():
        assert login(client, victim).status_code == 302


def test_sign_ups_are_limited_from_one_address(client):
    for n in range(2):
        created = client.post_form(
            "/signup",
            {"email": f"bot{n}@example.com", "handle": f"bot{n}x", "password": "long enough pw"},
            headers=forged(n),
        )
        assert created.status_code == 302
        client.post_form("/logout")
    third = {"email": "bot9@example.com", "handle": "bot9x", "password": "long enough pw"}
    assert refused(client.post_form("/signup", third, headers=forged(9)))
    with later():
        assert client.post_form("/signup", third).status_code == 302


def test_password_resets_are_limited_both_asking_and_guessing_tokens(client, outbox):
    for n in range(2):
        asked = client.post_form("/password/forgot", {"email": f"x{n}@example.com"})
        assert asked.status_code == 302
    assert refused(client.post_form("/password/forgot", {"email": "x9@example.com"}))
    # Guessing reset tokens is limited too.
    guesses = [
        client.post_form(f"/password/reset/guess{n}", {"password": "new long password"})
        for n in range(3)
    ]
    assert [g.status_code for g in guesses[:2]] == [400, 400]
    assert refused(guesses[2])


def test_likes_share_one_budget_across_pages_api_and_tokens(app, client):
    products = [ProductFactory() for _ in range(6)]
    liker, other = UserFactory(), UserFactory()
    token = make_token(app.test_client(), liker)
    login(client, liker)
    assert client.post_form(f"/like/product/{products[0].id}").status_code == 302
    assert client.api("PUT", f"/api/v1/likes/product/{products[1].id}").status_code == 200
    by_token = app.test_client().put(
        f"/api/v1/likes/product/{products[2].id}", headers={**bearer(token), **forged(1)}
    )
    assert by_token.status_code == 200
    # The fourth, however it comes, is refused: page, session API, token API, an unlike.
    assert refused(client.post_form(f"/like/product/{products[3].id}", headers=forged(2)))
    api = client.api("PUT", f"/api/v1/likes/product/{products[3].id}")
    assert refused(api) and api.mimetype == "application/problem+json"
    token_call = app.test_client().put(
        f"/api/v1/likes/product/{products[3].id}", headers=bearer(token)
    )
    assert refused(token_call)
    assert refused(client.api("DELETE", f"/api/v1/likes/product/{products[0].id}"))
    # The budget is the person's: someone else on the same address likes freely.
    login(client, other)
    assert client.api("PUT", f"/api/v1/likes/product/{products[4].id}").status_code == 200
    with later():  # (and past the log-in limit, which this test's logins have used up)
        login(client, liker)
        assert client.api("PUT", f"/api/v1/likes/product/{products[5].id}").status_code == 200


def test_follows_share_one_budget_across_pages_api_and_tokens(app, client):
    people = [UserFactory() for _ in range(6)]
    follower = UserFactory()
    token = make_token(app.test_client(), follower)
    login(client, follower)
    assert client.post_form(f"/people/{people[0].handle}/follow").status_code == 302
    assert client.api("PUT", f"/api/v1/people/{people[1].handle}/follow").status_code == 200
    by_token = app.test_client().put(
        f"/api/v1/people/{people[2].handle}/follow", headers=bearer(token)
    )
    assert by_token.status_code == 200
    assert refused(client.post_form(f"/people/{people[3].handle}/follow", headers=forged(3)))
    assert refused(client.api("PUT", f"/api/v1/people/{people[3].handle}/follow"))
    token_call = app.test_client().delete(
        f"/api/v1/people/{people[0].handle}/follow", headers=bearer(token)
    )
    assert refused(token_call)
    with later():
        assert client.api("PUT", f"/api/v1/people/{people[4].handle}/follow").status_code == 200
