"""Two-step sign-in: turning it on and off, the code after the password, recovery codes, the
throttle on codes, and the pages that need it."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import time_machine
from sqlalchemy import select

from app.accounts.models import RecoveryCode, User
from app.extensions import db
from app.models import utcnow
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, TWO_STEP_SECRET, TwoStepUserFactory, UserFactory

CODE = re.compile(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b")


def code_now(secret: str = TWO_STEP_SECRET, offset: int = 0) -> str:
    totp = pyotp.TOTP(secret)
    return totp.at(utcnow(), counter_offset=offset)


def password_step(client, user):
    return client.post_form("/login", {"login": user.email, "password": DEFAULT_PASSWORD})


def logged_in(client) -> bool:
    return client.get("/account/").status_code == 200


# --- turning it on -------------------------------------------------------------------------


def test_turning_it_on_needs_a_code_and_shows_recovery_codes_once(client):
    user = UserFactory()
    login(client, user)
    page = client.get("/account/two-step").get_data(as_text=True)
    assert "<svg" in page and "<img" not in page.split("<main")[1]  # the QR code, inline
    secret = re.search(r'id="two-step-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    # The same secret while it is being set up (a reload does not change it).
    reloaded = client.get("/account/two-step").get_data(as_text=True).replace(" ", "")
    assert secret in reloaded
    wrong = client.post_form("/account/two-step", {"code": "000000"})
    assert wrong.status_code == 422 and "not right" in wrong.get_data(as_text=True)
    db.session.refresh(user)
    assert not user.two_step_enabled
    done = client.post_form("/account/two-step", {"code": code_now(secret)})
    assert done.status_code == 200
    codes = CODE.findall(done.get_data(as_text=True))
    assert len(set(codes)) == 10
    db.session.refresh(user)
    assert user.two_step_enabled and user.two_step_secret == secret
    stored = db.session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)  # only hashes are kept
    # Once on, the page manages it; the codes are not shown again.
    again = client.get("/account/two-step").get_data(as_text=True)
    assert "Turn off two-step verification" in again and not CODE.search(again)


# --- logging in ----------------------------------------------------------------------------


def test_the_password_alone_is_not_a_log_in(client):
    user = TwoStepUserFactory()
    response = password_step(client, user)
    assert response.status_code == 302 and response.headers["Location"].endswith("/login/code")
    assert not logged_in(client)
    with client.session_transaction() as session:
        assert "_user_id" not in session
    assert client.get("/api/v1/me").status_code == 401
    assert client.post_form("/login/code", {"code": code_now()}).status_code == 302
    assert logged_in(client)


def test_the_code_step_keeps_next_and_remember(client):
    user = TwoStepUserFactory()
    client.post_form(
        "/login?next=/account/tokens",
        {"login": user.email, "password": DEFAULT_PASSWORD, "remember": "y"},
    )
    response = client.post_form("/login/code", {"code": code_now()})
    assert response.headers["Location"].endswith("/account/tokens")
    assert client.get_cookie("remember_token", domain="kindred.test") is not None


def test_the_half_way_state_expires(client):
    user = TwoStepUserFactory()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        password_step(client, user)
        traveller.shift(timedelta(minutes=5, seconds=5))
        response = client.post_form("/login/code", {"code": code_now()})
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert not logged_in(client)


def test_the_code_page_without_a_password_sends_to_log_in(client):
    response = client.get("/login/code")
    assert response.status_code == 302 and response.headers["Location"].endswith("/login")


def test_a_code_works_once(app, client):
    user = TwoStepUserFactory()
    with time_machine.travel(utcnow(), tick=False):
        code = code_now()
        password_step(client, user)
        assert client.post_form("/login/code", {"code": code}).status_code == 302
        client.post_form("/logout")
        other = app.test_client()
        password_step(other, user)
        reused = other.post_form("/login/code", {"code": code})
        assert reused.status_code == 422 and "not right" in reused.get_data(as_text=True)
        assert not logged_in(other)


def test_a_code_from_the_next_step_is_accepted_and_earlier_ones_then_refused(app, client):
    user = TwoStepUserFactory()
    with time_machine.travel(utcnow(), tick=False):
        password_step(client, user)
        assert client.post_form("/login/code", {"code": code_now(offset=1)}).status_code == 302
        client.post_form("/logout")
        password_step(client, user)
        assert client.post_form("/login/code", {"code": code_now()}).status_code == 422


def test_a_recovery_code_stands_in_for_the_app_once(app, client):
    from app.accounts import two_step

    user = TwoStepUserFactory()
    codes = two_step.new_recovery_codes(user)
    db.session.commit()
    password_step(client, user)
    assert client.post_form("/login/code", {"code": codes[3].upper()}).status_code == 302
    client.post_form("/logout")
    password_step(client, user)
    assert client.post_form("/login/code", {"code": codes[3]}).status_code == 422
    assert client.post_form("/login/code", {"code": codes[4]}).status_code == 302


@pytest.fixture
def tight_code_limits(app):
    app.config.update(ACCOUNT_CODE_FAILURES="3 per 15 minutes", ACCOUNT_LOCK_SECONDS=300)


def test_wrong_codes_lock_the_account_briefly(app, client, tight_code_limits):
    user = TwoStepUserFactory()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        password_step(client, user)
        for _n in range(3):
            response = client.post_form("/login/code", {"code": "123456"})
        assert "Too many wrong codes" in response.get_data(as_text=True)
        # The right code waits out the lock too.
        assert client.post_form("/login/code", {"code": code_now()}).status_code == 422
        # And so does the password, from another browser.
        other = app.test_client()
        refused = password_step(other, user)
        assert refused.status_code == 422 and "Too many failed attempts" in refused.get_data(
            as_text=True
        )
        traveller.shift(timedelta(minutes=5, seconds=1))
        password_step(other, user)
        assert other.post_form("/login/code", {"code": code_now()}).status_code == 302


# --- turning it off, new recovery codes ----------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(client):
    user = TwoStepUserFactory()
    with time_machine.travel(utcnow(), tick=False) as traveller:
        password_step(client, user)
        client.post_form("/login/code", {"code": code_now()})
        assert logged_in(client)
        traveller.shift(timedelta(seconds=30))  # the next code
        no_code = client.post_form(
            "/account/two-step/disable", {"disable-password": DEFAULT_PASSWORD, "disable-code": ""}
        )
        assert no_code.status_code == 422
        bad_password = client.post_form(
            "/account/two-step/disable",
            {"disable-password": "not my password", "disable-code": code_now()},
        )
        assert bad_password.status_code == 422
        db.session.refresh(user)
        assert user.two_step_enabled
        ok = client.post_form(
            "/account/two-step/disable",
            {"disable-password": DEFAULT_PASSWORD, "disable-code": code_now()},
        )
    assert ok.status_code == 302
    db.session.refresh(user)
    assert not user.two_step_enabled
    assert db.session.scalar(select(db.func.count(RecoveryCode.id))) == 0


def test_new_recovery_codes_need_a_code_from_the_app(client):
    from app.accounts import two_step

    user = TwoStepUserFactory()
    old = two_step.new_recovery_codes(user)
    db.session.commit()
    password_step(client, user)
    client.post_form("/login/code", {"code": old[0]})
    refused = client.post_form("/account/two-step/recovery-codes", {"codes-code": old[1]})
    assert refused.status_code == 422
    made = client.post_form("/account/two-step/recovery-codes", {"codes-code": code_now()})
    assert made.status_code == 200
    new = CODE.findall(made.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    client.post_form("/logout")
    password_step(client, user)
    assert client.post_form("/login/code", {"code": old[2]}).status_code == 422


# --- the guard -----------------------------------------------------------------------------


def test_require_two_step(app):
    from app.accounts.two_step import require_two_step

    assert require_two_step(TwoStepUserFactory()) is None
    refusal = require_two_step(UserFactory())
    assert refusal is not None and refusal.status == 403
    assert "two-step verification first" in refusal.message


def test_setting_up_payouts_needs_two_step_first_and_comes_back(client, emulator):
    user = UserFactory()
    login(client, user)
    refused = client.post_form("/account/payouts/start")
    assert refused.status_code == 303
    location = refused.headers["Location"]
    assert "/account/two-step" in location and "next=/account/payouts" in location
    page = client.get(location.replace("http://kindred.test", "")).get_data(as_text=True)
    assert "Turn on two-step verification first" in page
    secret = re.search(r'id="two-step-secret">([A-Z2-7 ]+)<', page).group(1).replace(" ", "")
    done = client.post_form(location.replace("http://kindred.test", ""), {"code": code_now(secret)})
    assert 'href="/account/payouts"' in done.get_data(as_text=True)  # back where they were
    started = client.post_form("/account/payouts/start")
    assert started.status_code == 303 and "/_stripe/" in started.headers["Location"]


def test_the_express_dashboard_needs_two_step(client):
    user = UserFactory()
    login(client, user)
    refused = client.post_form("/account/payouts/dashboard")
    assert refused.status_code == 303 and "/account/two-step" in refused.headers["Location"]
    assert db.session.get(User, user.id) is not None


# --- API token scopes ----------------------------------------------------------------------


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_tokens_made_before_scopes_keep_read_and_write(app):
    from sqlalchemy import text

    from app.accounts.models import ApiToken

    user = UserFactory()
    db.session.execute(
        text(
            "INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at) "
            "VALUES (:user, 'old', 'kdr_old', :hash, :now)"
        ),
        {"user": user.id, "hash": "0" * 64, "now": utcnow()},
    )
    token = db.session.scalar(select(ApiToken))
    assert token.scope_list == ["read", "write"]


def test_the_token_form_offers_scopes_and_payouts_needs_two_step(client):
    from app.accounts.models import ApiToken

    user = UserFactory()
    login(client, user)
    page = client.get("/account/tokens").get_data(as_text=True)
    boxes = re.findall(r'<input[^>]*name="scopes"[^>]*>', page)
    assert [re.search(r'value="(\w+)"', box).group(1) for box in boxes] == [
        "read",
        "write",
        "payouts",
    ]
    assert [" checked" in box for box in boxes] == [True, True, False]
    refused = client.post_form("/account/tokens", {"name": "payouts bot", "scopes": "payouts"})
    assert refused.status_code == 422
    assert "two-step verification first" in refused.get_data(as_text=True)
    made = client.post_form("/account/tokens", {"name": "reader", "scopes": ["read"]})
    assert made.status_code == 200
    assert db.session.scalar(select(ApiToken.scopes).where(ApiToken.name == "reader")) == "read"


def test_a_two_step_person_makes_a_payouts_token_and_the_api_sees_its_scopes(app, client):
    from app.accounts import services

    user = TwoStepUserFactory()
    password_step(client, user)
    client.post_form("/login/code", {"code": code_now()})
    response = client.api(
        "POST", "/api/v1/tokens", json={"name": "payouts", "scopes": ["read", "payouts"]}
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["scopes"] == ["read", "payouts"]
    secret = response.get_json()["token"]
    with app.app_context(), app.test_request_context("/api/v1/me", headers=bearer(secret)):
        assert services.user_for_token(secret).id == user.id
        assert services.token_scopes() == {"read", "payouts"}
        assert services.has_scope("payouts") and not services.has_scope("write")
    with app.app_context(), app.test_request_context("/account/"):
        assert services.token_scopes() is None and services.has_scope("payouts")


def test_a_token_cannot_make_a_token_that_may_do_more(app, client):
    from app.accounts import services

    user = UserFactory()
    _token, secret = services.create_token(user, "reader", ["read", "write"])
    db.session.commit()
    listed = client.get("/api/v1/tokens", headers=bearer(secret)).get_json()
    assert listed[0]["scopes"] == ["read", "write"]
    wider = client.post(
        "/api/v1/tokens", json={"name": "more", "scopes": ["payouts"]}, headers=bearer(secret)
    )
    assert wider.status_code == 403
    same = client.post("/api/v1/tokens", json={"name": "same"}, headers=bearer(secret))
    assert same.status_code == 201 and same.get_json()["scopes"] == ["read", "write"]


# --- sessions through the API --------------------------------------------------------------


def test_sessions_are_listed_and_revoked_through_the_api(app, client):
    user = UserFactory()
    phone = app.test_client()
    login(phone, user)
    login(client, user)
    listed = client.get("/api/v1/sessions").get_json()
    assert len(listed) == 2 and [s["current"] for s in listed].count(True) == 1
    other = next(s for s in listed if not s["current"])
    assert client.api("DELETE", f"/api/v1/sessions/{other['id']}").status_code == 204
    assert phone.get("/account/").status_code == 302
    assert len(client.get("/api/v1/sessions").get_json()) == 1
    stranger = app.test_client()
    login(stranger, UserFactory())
    mine = client.get("/api/v1/sessions").get_json()[0]["id"]
    assert stranger.api("DELETE", f"/api/v1/sessions/{mine}").status_code == 404
