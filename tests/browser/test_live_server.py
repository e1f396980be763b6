"""The live server the browser tests use, and moving the clock while it serves.

A session cookie is signed with the time; a request served while a test has moved the clock
days ahead signs it in that future, and back in the present the signature's age is negative,
which the check refuses: the person is logged out. That is what made the journey fail now and
then (a browser's favicon request landing while the payouts were released eight days
ahead). The gate makes such a request wait until the clock is back.
"""

from __future__ import annotations

import threading
import urllib.request
from datetime import timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import utcnow
from tests.browser.conftest import LAPTOP
from tests.factories import UserFactory


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_a_session_signed_in_a_moved_clock_is_refused_back_in_the_present(
    app, live_server, open_as
):
    person = UserFactory()
    db.session.commit()
    page = open_as(person)
    with time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        page.goto(f"{live_server}/account/")  # served, and its cookie signed, 8 days ahead
    page.goto(f"{live_server}/account/")
    assert "/login" in page.url  # what the gate is there to prevent


def test_requests_wait_at_the_shut_gate_and_are_served_in_the_present(live_server, live_gate):
    answered: list[str] = []

    def ask() -> None:
        with urllib.request.urlopen(f"{live_server}/healthz", timeout=20) as response:  # noqa: S310
            answered.append(response.headers["Date"])

    with live_gate.shut(), time_machine.travel(utcnow() + timedelta(days=8), tick=False):
        waiting = threading.Thread(target=ask)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive() and not answered  # held at the gate
    waiting.join(20)
    assert len(answered) == 1
    served = utcnow().strftime("%d %b %Y")
    assert served in answered[0]  # today's date, not eight days ahead
