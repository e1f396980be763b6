from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, UserFactory


def signup(client, **overrides):
    data = {
        "email": "Mia@Example.com",
        "handle": "Mia_Rose",
        "display_name": "Mia",
        "password": "a good long password",
    }
    data.update(overrides)
    return client.post_form("/signup", data)


def test_signup_creates_account_logs_in_and_welcomes(client, outbox):
    response = signup(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/@mia_rose")
    user = db.session.scalar(select(User))
    assert user.email == "mia@example.com" and user.handle == "mia_rose"
    assert user.password_hash.startswith("$argon2id$")
    assert client.get("/account/").status_code == 200
    messages = outbox()
    assert [m["To"] for m in messages] == ["mia@example.com"]
    assert "/@mia_rose" in messages[0].get_content()


def test_signup_refuses_duplicates_case_insensitively(client):
    UserFactory(email="mia@example.com", handle="mia_rose")
    response = signup(client, email="MIA@example.COM", handle="MIA_ROSE")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "An account with this email already exists" in page
    assert "That handle is taken" in page
    assert db.session.scalar(select(db.func.count(User.id))) == 1


def test_signup_bad_inputs(client):
    cases = [
        ({"email": "not-an-email"}, "Enter a valid email address"),
        ({"handle": "a b"}, "A handle has 3 to 30 characters"),
        ({"handle": "admin"}, "reserved"),
        ({"password": "short"}, "at least 8 characters"),
        ({"password": "x" * 129}, "at most 128 characters"),
        ({"password": "aaaaaaaaaa"}, "too easy to guess"),
    ]
    for overrides, message in cases:
        response = signup(client, **overrides)
        assert response.status_code == 422, overrides
        assert message in response.get_data(as_text=True), overrides
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_password_of_128_characters_is_accepted(client):
    assert signup(client, password="kindred!" * 16).status_code == 302


def test_login_with_email_or_handle_and_logout(client):
    user = UserFactory(handle="ana", email="ana@example.com")
    response = client.post_form("/login", {"login": "ANA", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert client.post_form("/logout").status_code == 302
    assert client.get("/account/").status_code == 302  # back to the login page
    assert login(client, user).status_code == 302


def test_login_wrong_password_says_so_without_saying_which(client):
    UserFactory(handle="ana", email="ana@example.com")
    for login_name in ("ana@example.com", "nobody@example.com"):
        response = client.post_form("/login", {"login": login_name, "password": "wrong password"})
        assert response.status_code == 422
        assert "do not match" in response.get_data(as_text=True)


def test_session_rotates_at_login(client):
    user = UserFactory()
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    login(client, user)
    with client.session_transaction() as session:
        assert "planted" not in session


def test_logout_needs_post_with_csrf(client):
    user = UserFactory()
    login(client, user)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert client.get("/account/").status_code == 200  # still logged in


def test_login_redirects_only_within_the_site(client):
    user = UserFactory()
    for target, expected in [
        ("/account/tokens", "/account/tokens"),
        ("https://evil.example/phish", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
    ]:
        client.post_form("/logout")
        response = client.post_form(
            f"/login?next={target}", {"login": user.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302
        location = response.headers["Location"]
        assert location.replace("http://kindred.test", "") == expected, target


def test_protected_page_sends_to_login_with_next(client):
    response = client.get("/account/tokens")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


def test_csrf_is_required_on_forms(client):
    response = client.post(
        "/signup", data={"email": "x@example.com", "handle": "xavier", "password": "long enough pw"}
    )
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(User.id))) == 0


def test_password_change_signs_out_other_sessions(app, client):
    user = UserFactory()
    other = app.test_client()
    login(client, user)
    login(other, user)
    response = client.post_form(
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new secret"},
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302


def test_password_change_needs_current_password(client):
    user = UserFactory()
    login(client, user)
    response = client.post_form(
        "/account/password",
        {"current_password": "wrong one!", "new_password": "a brand new secret"},
    )
    assert response.status_code == 422
    assert "current password is not right" in response.get_data(as_text=True)


def make_api_token(user, name: str = "script") -> dict[str, str]:
    from app.accounts import services

    _token, secret = services.create_token(user, name)
    db.session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_password_change_lists_the_tokens_and_revokes_them_by_default(client):
    user = UserFactory()
    headers = make_api_token(user, "stock script")
    login(client, user)
    page = client.get("/account/password").get_data(as_text=True)
    assert "stock script" in page
    (checkbox,) = re.findall(r"<input[^>]*revoke_tokens[^>]*>", page)
    assert " checked " in checkbox  # revoking them is the default
    response = client.post_form(
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "a brand new secret",
            "revoke_tokens": "y",
        },
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_password_change_may_keep_the_tokens(client):
    user = UserFactory()
    headers = make_api_token(user)
    login(client, user)
    response = client.post_form(
        "/account/password",
        {"current_password": DEFAULT_PASSWORD, "new_password": "a brand new secret"},
    )
    assert response.status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 200


# --- per-account throttle ------------------------------------------------------------------


@pytest.fixture
def tight_account_limits(app):
    app.config.update(
        ACCOUNT_LOGIN_FAILURES="3 per 15 minutes",
        ACCOUNT_LOCK_SECONDS=300,
        ACCOUNT_LOCK_NOTICE_SECONDS=86400,
    )


def attempt(client, login_name: str, password: str, address: str) -> Any:
    # Each from another address: the per-address limit is not what stops them.
    return client.post_form(
        "/login",
        {"login": login_name, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


LOCKED = "Too many failed attempts to log in to this account"


def test_failed_passwords_lock_the_account_briefly_and_tell_its_owner_once(
    app, client, outbox, tight_account_limits
):
    user = UserFactory(email="ana@example.com")
    with time_machine.travel(utcnow(), tick=False) as traveller:
        for n in range(2):
            response = attempt(client, user.email, "wrong password", f"198.51.100.{n}")
            assert "do not match" in response.get_data(as_text=True)
        third = attempt(client, user.email, "wrong password", "198.51.100.3")
        assert LOCKED in third.get_data(as_text=True)
        # Locked: even the right password is refused, from anywhere, without being checked.
        right = attempt(client, user.email, DEFAULT_PASSWORD, "192.0.2.1")
        assert right.status_code == 422 and LOCKED in right.get_data(as_text=True)
        for n in range(5):
            attempt(client, user.email, "wrong password", f"198.51.100.{10 + n}")
        messages = outbox()
        assert [m["To"] for m in messages] == ["ana@example.com"]
        assert "/password/reset/" in messages[0].get_content()
        # A short lock: a few minutes later the owner logs in.
        traveller.shift(timedelta(minutes=5, seconds=1))
        assert attempt(client, user.email, DEFAULT_PASSWORD, "192.0.2.1").status_code == 302
        client.post_form("/logout")
        # Locked again the same day: no second mail.
        for n in range(3):
            attempt(client, user.email, "wrong password", f"198.51.100.{20 + n}")
        assert LOCKED in attempt(client, user.handle.upper(), "x" * 9, "192.0.2.1").get_data(
            as_text=True
        )
        assert len(outbox()) == 1


def test_a_password_reset_lifts_the_lock(app, client, outbox, tight_account_limits):
    user = UserFactory(email="ana@example.com")
    for n in range(3):
        attempt(client, user.email, "wrong password", f"198.51.100.{n}")
    link = re.search(r"http://kindred\.test(/password/reset/\S+)", outbox()[0].get_content())
    assert client.post_form(link.group(1), {"password": "my new password"}).status_code == 302
    assert attempt(client, user.email, "my new password", "192.0.2.1").status_code == 302


def test_a_name_without_an_account_locks_the_same_way(client, outbox, tight_account_limits):
    for n in range(3):
        response = attempt(client, "nobody@example.com", "wrong password", f"198.51.100.{n}")
    assert LOCKED in response.get_data(as_text=True)
    assert outbox() == []


def test_the_locked_page_says_when_to_try_again(app, client, outbox, tight_account_limits):
    user = UserFactory()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        for n in range(3):
            locked = attempt(client, user.email, "wrong password", f"198.51.100.{n}")
        assert LOCKED in locked.get_data(as_text=True)
        assert 299 <= int(locked.headers["Retry-After"]) <= 300
        traveller.shift(timedelta(minutes=2))
        later = attempt(client, user.email, DEFAULT_PASSWORD, "192.0.2.1")
        assert later.status_code == 422
        assert 170 <= int(later.headers["Retry-After"]) <= 181
