from __future__ import annotations

import pytest


@pytest.fixture
def app_config(app_config):
    app_config.update(
        RATELIMIT_LOGIN="3 per minute",
        RATELIMIT_SIGNUP="2 per minute",
        RATELIMIT_RESET="2 per minute",
    )
    return app_config


def test_login_is_rate_limited(client):
    for _ in range(3):
        assert (
            client.post_form(
                "/login", {"login": "x@example.com", "password": "whatever1"}
            ).status_code
            == 422
        )
    blocked = client.post_form("/login", {"login": "x@example.com", "password": "whatever1"})
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.get_data(as_text=True)
    assert blocked.headers.get("Retry-After")
    # Reading the page is not limited, only attempts.
    assert client.get("/login").status_code == 200


def test_signup_is_rate_limited(client):
    for i in range(2):
        client.post_form(
            "/signup",
            {"email": f"p{i}@example.com", "handle": f"p{i}xx", "password": "long enough pw"},
        )
        client.post_form("/logout")
    assert (
        client.post_form(
            "/signup", {"email": "p9@example.com", "handle": "p9xx", "password": "long enough pw"}
        ).status_code
        == 429
    )


def test_password_reset_is_rate_limited(client):
    for _ in range(2):
        assert client.post_form("/password/forgot", {"email": "a@example.com"}).status_code == 302
    assert client.post_form("/password/forgot", {"email": "a@example.com"}).status_code == 429
