from __future__ import annotations

import re
from datetime import timedelta

import time_machine

from app.models import utcnow
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, UserFactory

LINK_RE = re.compile(r"http://kindred\.test(/password/reset/\S+)")


def request_reset(client, outbox, email):
    response = client.post_form("/password/forgot", {"email": email})
    assert response.status_code == 302
    messages = outbox()
    return LINK_RE.search(messages[-1].get_content()).group(1) if messages else None


def test_reset_by_emailed_link(client, outbox):
    user = UserFactory(email="ana@example.com")
    path = request_reset(client, outbox, "ANA@example.com")
    assert client.get(path).status_code == 200
    response = client.post_form(path, {"password": "my new password"})
    assert response.status_code == 302
    assert login(client, user, "my new password").status_code == 302
    client.post_form("/logout")
    assert login(client, user, DEFAULT_PASSWORD).status_code == 422
    assert outbox()[-1]["Subject"] == "Your Kindred password was changed"


def test_unknown_email_gets_the_same_answer_and_no_mail(client, outbox):
    response = client.post_form(
        "/password/forgot", {"email": "nobody@example.com"}, follow_redirects=True
    )
    assert "If an account uses that address" in response.get_data(as_text=True)
    assert outbox() == []


def test_reset_link_works_once(client, outbox):
    UserFactory(email="ana@example.com")
    path = request_reset(client, outbox, "ana@example.com")
    assert client.post_form(path, {"password": "my new password"}).status_code == 302
    again = client.post_form(path, {"password": "another password"})
    assert again.status_code == 400
    assert "already been used" in again.get_data(as_text=True)


def test_reset_link_expires(client, outbox):
    UserFactory(email="ana@example.com")
    with time_machine.travel(utcnow(), tick=False) as traveller:
        path = request_reset(client, outbox, "ana@example.com")
        traveller.shift(timedelta(hours=1, seconds=5))
        response = client.get(path)
    assert response.status_code == 400
    assert "expired" in response.get_data(as_text=True)


def test_tampered_link_is_refused(client, outbox):
    UserFactory(email="ana@example.com")
    path = request_reset(client, outbox, "ana@example.com")
    response = client.get(path[:-3] + "xyz")
    assert response.status_code == 400
    assert "not valid" in response.get_data(as_text=True)


def test_reset_refuses_weak_password_and_keeps_the_old_one(client, outbox):
    user = UserFactory(email="ana@example.com")
    path = request_reset(client, outbox, "ana@example.com")
    response = client.post_form(path, {"password": "short"})
    assert response.status_code == 422
    assert login(client, user, DEFAULT_PASSWORD).status_code == 302


def test_a_reset_revokes_every_api_token(app, client, outbox):
    from app.accounts import services
    from app.extensions import db

    user = UserFactory(email="ana@example.com")
    _token, secret = services.create_token(user, "script")
    db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    path = request_reset(client, outbox, "ana@example.com")
    assert client.post_form(path, {"password": "my new password"}).status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_reset_signs_out_every_session(app, client, outbox):
    user = UserFactory(email="ana@example.com")
    other = app.test_client()
    login(other, user)
    path = request_reset(client, outbox, "ana@example.com")
    assert client.post_form(path, {"password": "my new password"}).status_code == 302
    assert other.get("/account/").status_code == 302
