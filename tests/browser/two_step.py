"""Two-step sign-in as a person does it in the browser: the setup page's key typed into an
authenticator app (here pyotp), its codes typed back, the recovery codes kept."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pyotp

from app.accounts.two_step import DRIFT_STEPS


@dataclass
class Authenticator:
    """The app on a person's phone: it holds the key and shows the code of the moment.

    The site takes a code once (the last time step used is kept), so the app gives the code
    of the moment or, once that is used, the next one (the site allows that much clock
    drift), and waits for the next step when both are used. Never the step before: it may
    expire between typing and the server's check."""

    secret: str
    recovery_codes: list[str] = field(default_factory=list)
    last_step: int | None = None

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.secret)

    def code(self) -> str:
        """A code the site accepts now, marked as used."""
        while True:
            current = int(time.time()) // self.totp.interval
            for step in range(current, current + DRIFT_STEPS + 1):
                if self.last_step is None or step > self.last_step:
                    self.last_step = step
                    return str(self.totp.generate_otp(step))
            time.sleep(1)

    def wrong_code(self) -> str:
        """Six digits the site refuses now: none of the codes of the moment."""
        current = int(time.time()) // self.totp.interval
        taken = {
            self.totp.generate_otp(step)
            for step in range(current - DRIFT_STEPS - 1, current + DRIFT_STEPS + 2)
        }
        return next(c for c in ("000000", "123456", "999999", "314159") if c not in taken)

    def recovery_code(self) -> str:
        """One of the kept recovery codes (each works once), crossed off the list."""
        return self.recovery_codes.pop(0)


def turn_on(page: Any, base: str | None = None) -> Authenticator:
    """Turn two-step on from the setup page (the page is on it, or goes to it with `base`):
    the key read off the page, a code from the app, the recovery codes kept. The page is then
    on the recovery codes page; `keep_codes` continues from there."""
    if base is not None:
        page.goto(f"{base}/account/two-step")
    secret = "".join(page.locator("#two-step-secret").inner_text().split())
    app = Authenticator(secret)
    page.get_by_label("Code from your app").fill(app.code())
    page.get_by_role("button", name="Turn on two-step verification").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name="Your recovery codes").count() == 1, page.url
    assert "Two-step verification is on." in page.content()
    app.recovery_codes = [
        " ".join(code.split()) for code in page.locator(".recovery-codes li").all_inner_texts()
    ]
    assert len(app.recovery_codes) == 10, app.recovery_codes
    return app


def keep_codes(page: Any) -> None:
    """Past the recovery codes ("I have kept them") to where the person was going."""
    page.get_by_role("link", name="I have kept them, continue").click()
    page.wait_for_load_state()


def enter_code(page: Any, code: str) -> None:
    """The second step of logging in: the code page after the password."""
    assert "/login/code" in page.url, page.url
    page.get_by_label("Code", exact=True).fill(code)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
