"""Sign-in sessions are records on the server: signing out ends them, wherever the cookie went."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, UserFactory

SESSION_COOKIE = "session"
REMEMBER_COOKIE = "remember_token"


def copy_cookie(source, target, name: str) -> None:
    cookie = source.get_cookie(name, domain="kindred.test")
    assert cookie is not None, f"no {name} cookie to copy"
    target.set_cookie(name, cookie.value, domain="kindred.test")


def log_in_remembered(client, user) -> None:
    response = client.post_form(
        "/login", {"login": user.email, "password": DEFAULT_PASSWORD, "remember": "y"}
    )
    assert response.status_code == 302


def test_a_copied_session_cookie_dies_at_logout(app, client):
    user = UserFactory()
    login(client, user)
    thief = app.test_client()
    copy_cookie(client, thief, SESSION_COOKIE)
    assert thief.get("/account/").status_code == 200  # the copy works while the session lives
    assert client.post_form("/logout").status_code == 302
    assert thief.get("/account/").status_code == 302  # and no longer once it is signed out


def test_a_copied_remember_cookie_dies_at_logout(app, client):
    user = UserFactory()
    log_in_remembered(client, user)
    before = app.test_client()
    copy_cookie(client, before, REMEMBER_COOKIE)
    # Only the remember cookie, no session: Flask-Login signs this browser in from it.
    assert before.get("/account/").status_code == 200
    thief = app.test_client()
    copy_cookie(client, thief, REMEMBER_COOKIE)
    assert client.post_form("/logout").status_code == 302
    assert thief.get("/account/").status_code == 302
    assert before.get("/account/").status_code == 302


def test_each_sign_in_is_a_session_record_with_its_device(app, client):
    from app.accounts.models import LoginSession

    user = UserFactory()
    client.post_form(
        "/login",
        {"login": user.email, "password": DEFAULT_PASSWORD},
        headers={
            "User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
            "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
        },
        environ_base={"REMOTE_ADDR": "203.0.113.9"},
    )
    record = db.session.scalar(select(LoginSession).where(LoginSession.user_id == user.id))
    assert record is not None and record.revoked_at is None
    assert record.device == "Safari on iPhone"
    assert record.ip_address == "203.0.113.9"
    client.post_form("/logout")
    db.session.refresh(record)
    assert record.revoked_at is not None


def test_last_seen_is_recorded_at_most_every_few_minutes(app, client):
    from app.accounts.models import LoginSession

    user = UserFactory()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        login(client, user)
        record = db.session.scalar(select(LoginSession))
        first = record.last_seen_at
        traveller.shift(timedelta(minutes=1))
        client.post_form("/account/", {"display_name": "Mia", "bio": "", "locale": ""})
        db.session.refresh(record)
        assert record.last_seen_at == first  # a minute later: not worth a write
        traveller.shift(timedelta(minutes=10))
        client.post_form("/account/", {"display_name": "Mia", "bio": "", "locale": ""})
        db.session.refresh(record)
        assert record.last_seen_at == first + timedelta(minutes=11)


def test_password_change_keeps_this_session_and_ends_the_others(app, client):
    user = UserFactory()
    other = app.test_client()
    login(client, user)
    login(other, user)
    response = client.post_form(
        "/account/password",
        {
            "current_password": DEFAULT_PASSWORD,
            "new_password": "a brand new secret",
            "revoke_tokens": "y",
        },
    )
    assert response.status_code == 302
    assert client.get("/account/").status_code == 200
    assert other.get("/account/").status_code == 302
    from app.accounts.models import LoginSession

    live = db.session.scalars(select(LoginSession).where(LoginSession.revoked_at.is_(None))).all()
    assert len(live) == 1


FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_the_security_page_lists_sessions_and_revokes_them_one_by_one(app, client):
    from app.accounts.models import LoginSession

    user = UserFactory()
    login(client, user)
    laptop = app.test_client()
    laptop.post_form(
        "/login",
        {"login": user.email, "password": DEFAULT_PASSWORD},
        headers={"User-Agent": FIREFOX},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    page = client.get("/account/security").get_data(as_text=True)
    assert "Firefox on Windows" in page and "198.51.100.7" in page
    assert page.count("this device") == 1
    assert page.count("<h1") == 1
    laptop_session = db.session.scalar(
        select(LoginSession).where(LoginSession.device == "Firefox on Windows")
    )
    response = client.post_form(f"/account/sessions/{laptop_session.id}/revoke")
    assert response.status_code == 302
    assert laptop.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 200


def test_someone_elses_session_cannot_be_revoked(app, client):
    from app.accounts.models import LoginSession

    owner, other = UserFactory(), UserFactory()
    owners_browser = app.test_client()
    login(owners_browser, owner)
    login(client, other)
    record = db.session.scalar(select(LoginSession).where(LoginSession.user_id == owner.id))
    assert client.post_form(f"/account/sessions/{record.id}/revoke").status_code == 404
    assert owners_browser.get("/account/").status_code == 200


def test_sign_out_everywhere_else(app, client):
    user = UserFactory()
    others = [app.test_client() for _n in range(2)]
    for browser in [*others, client]:
        login(browser, user)
    response = client.post_form("/account/sessions/revoke-others", follow_redirects=True)
    assert "2 other sessions are signed out" in response.get_data(as_text=True)
    assert client.get("/account/").status_code == 200
    assert all(browser.get("/account/").status_code == 302 for browser in others)


def test_tokens_are_listed_and_revoked_from_the_security_page(client):
    from app.accounts import services

    user = UserFactory()
    token, _secret = services.create_token(user, "stock script")
    db.session.commit()
    login(client, user)
    assert "stock script" in client.get("/account/security").get_data(as_text=True)
    response = client.post_form(f"/account/tokens/{token.id}/revoke", {"next": "/account/security"})
    assert response.headers["Location"].endswith("/account/security")
    db.session.refresh(token)
    assert token.revoked_at is not None
