"""Two-step sign-in in Chromium, at phone and laptop sizes, as a person does it.

Dana turns it on from the security page (the key read off the setup page into an
authenticator app, a code typed back, the recovery codes kept), logs out, and logs in again
with her password and then a code, after a wrong one. From her phone she logs in with a
recovery code. The security page lists both sessions; she signs the phone out from the
laptop, and the phone is logged out.
"""

from __future__ import annotations

from typing import Any

import pytest

from app.extensions import db
from tests.browser import two_step
from tests.browser.conftest import PHONE, open_menu, overflow, screenshot
from tests.factories import DEFAULT_PASSWORD, UserFactory

SMALL_LAPTOP = {"width": 1280, "height": 800}
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


def snap(page: Any, name: str) -> None:
    """A screenshot, and the page fits the window (no sideways scrolling)."""
    screenshot(page, name)
    assert overflow(page) <= 0, f"{name}: {overflow(page)}px wider than the window"


def signed_in_as(page: Any, handle: str) -> bool:
    return page.locator(f"a.nav-me:has-text('@{handle}')").count() == 1


def password_step(page: Any, base: str, handle: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Email or handle").fill(handle)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/login/code")
    assert not signed_in_as(page, handle), "the password alone signed her in"


def field_error(page: Any) -> str:
    return " ".join(page.locator(".field-error, .form-errors, [role=alert]").all_inner_texts())


@pytest.mark.parametrize("viewport", [PHONE, SMALL_LAPTOP], ids=["phone", "laptop"])
def test_turn_on_sign_in_with_a_code_or_a_recovery_code_and_sign_out_another_session(
    live_server, open_as
):
    base = live_server
    dana = UserFactory(handle="dana", display_name="Dana Silva")
    db.session.commit()

    # Turned on from the security page.
    page = open_as(dana)
    page.goto(f"{base}/account/security")
    snap(page, "two-step-security-off")
    page.get_by_role("link", name="Turn on two-step verification").click()
    page.wait_for_url(f"{base}/account/two-step")
    assert page.locator(".qr-code svg").is_visible()
    snap(page, "two-step-setup")
    app = two_step.turn_on(page)
    snap(page, "two-step-recovery-codes")
    two_step.keep_codes(page)
    page.wait_for_url(f"{base}/account/security")
    assert "On: logging in asks for a code" in page.content()
    assert "10 recovery codes left." in page.content()

    # Logged out, she logs in again: the password, then a code (a wrong one first).
    open_menu(page)  # on a phone, "Log out" is in the menu
    page.get_by_role("button", name="Log out", exact=True).click()
    page.wait_for_load_state()
    assert not signed_in_as(page, "dana")
    password_step(page, base, "dana")
    snap(page, "two-step-code")
    two_step.enter_code(page, app.wrong_code())
    assert "/login/code" in page.url
    assert "That code is not right." in field_error(page), field_error(page)
    snap(page, "two-step-code-wrong")
    two_step.enter_code(page, app.code())
    assert signed_in_as(page, "dana"), page.url
    assert "Welcome back, Dana Silva." in page.content()
    page.goto(f"{base}/account/two-step")
    assert "You have 10 unused recovery codes." in page.content()
    snap(page, "two-step-manage")

    # On her phone, without the app at hand: a recovery code instead.
    phone = open_as(None, user_agent=IPHONE)
    password_step(phone, base, "dana")
    used = app.recovery_code()
    two_step.enter_code(phone, used)
    assert signed_in_as(phone, "dana"), phone.url

    # The security page lists both sessions; she signs the phone out from here.
    page.goto(f"{base}/account/security")
    assert "9 recovery codes left." in page.content()
    sessions = page.locator(".session-list > li")
    assert sessions.count() == 2
    assert sessions.filter(has_text="this device").count() == 1
    assert sessions.filter(has_text="Safari on iPhone").count() == 1
    snap(page, "two-step-security-sessions")
    page.get_by_role("button", name="Sign out Safari on iPhone").click()
    page.wait_for_load_state()
    assert "That session is signed out." in page.content()
    assert page.locator(".session-list > li").count() == 1
    assert signed_in_as(page, "dana")

    # The phone is logged out: its next page asks to log in.
    phone.goto(f"{base}/account/security")
    assert "/login" in phone.url, phone.url
    assert not signed_in_as(phone, "dana")

    # A recovery code works once.
    password_step(phone, base, "dana")
    two_step.enter_code(phone, used)
    assert "That code is not right." in field_error(phone), field_error(phone)
    assert not signed_in_as(phone, "dana")
