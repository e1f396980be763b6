"""The emulator's hosted pages, in Chromium: Checkout pays (or declines), Express onboards."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from payouts.gateway import CheckoutLine
from payouts.models import StripeEvent
from tests.browser.conftest import eventually, screenshot


def _session(gateway, emulator, base, key="chk-b1"):
    return gateway.create_checkout_session(
        lines=[CheckoutLine("Speckled bowl", 3200, 1), CheckoutLine("Linen napkins", 1800, 2)],
        currency="eur",
        transfer_group=key,
        success_url=f"{base}/?paid={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{base}/",
        expires_at=emulator.clock.now() + 3600,
        idempotency_key=key,
    )


def test_hosted_checkout_pays_and_the_webhook_arrives(live_server, page, gateway, emulator):
    session = _session(gateway, emulator, live_server)
    page.goto(session.url)
    assert "Speckled bowl" in page.content()
    assert page.get_by_text("Payments are emulated").count() == 0  # Stripe's page, not ours
    screenshot(page, "emulator-checkout")
    page.get_by_label("Card number").fill("4242 4242 4242 4242")
    page.get_by_role("button", name="Pay").click()
    page.wait_for_url(f"{live_server}/?paid={session.id}")
    assert "Payments are emulated" in page.content()

    def completed_event_stored() -> bool:
        db.session.rollback()  # a fresh snapshot each time
        types = db.session.scalars(select(StripeEvent.type)).all()
        return "checkout.session.completed" in types

    assert eventually(completed_event_stored), emulator.deliveries()


def test_hosted_checkout_shows_a_decline(live_server, page, gateway, emulator):
    session = _session(gateway, emulator, live_server, key="chk-b2")
    page.goto(session.url)
    page.get_by_label("Card number").fill("4000000000000002")
    page.get_by_role("button", name="Pay").click()
    assert "declined" in page.content().lower()
    assert page.url.startswith(session.url.split("?")[0])
    screenshot(page, "emulator-checkout-declined")


def test_express_onboarding_enables_the_account(live_server, page, gateway):
    account = gateway.create_express_account(
        email="ana@example.com", country="FR", idempotency_key="a-b1"
    )
    link = gateway.create_account_link(
        account=account.id,
        refresh_url=f"{live_server}/?refresh=1",
        return_url=f"{live_server}/?onboarded=1",
        idempotency_key="l-b1",
    )
    page.goto(link.url)
    screenshot(page, "emulator-onboarding")
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(f"{live_server}/?onboarded=1")
    refreshed = gateway.retrieve_account(account.id)
    # Our payees only receive transfers: that capability and payouts are what they need.
    assert refreshed.details_submitted and refreshed.payouts_enabled
    assert refreshed.capabilities["transfers"] == "active"
