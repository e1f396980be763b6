"""The gateway against the in-process emulator: the same calls the app makes to Stripe."""

from __future__ import annotations

import pytest

from payouts.gateway import CheckoutLine, GatewayRejected, GatewayUnavailable


def make_session(gateway, emulator, key="checkout-1", group="chk_1"):
    # One expiry per emulator: the same key must carry the same parameters, even when a
    # second ticks between two calls.
    if not hasattr(emulator, "test_expires_at"):
        emulator.test_expires_at = emulator.clock.now() + 3600
    expires_at = emulator.test_expires_at
    return gateway.create_checkout_session(
        lines=[CheckoutLine("Blue bowl", 2500, 2), CheckoutLine("Mug", 1200, 1)],
        currency="eur",
        transfer_group=group,
        success_url="http://kindred.test/checkout/done?session={CHECKOUT_SESSION_ID}",
        cancel_url="http://kindred.test/cart",
        expires_at=expires_at,
        idempotency_key=key,
        customer_email="buyer@example.com",
        metadata={"checkout": group},
    )


def test_checkout_session_is_idempotent_by_key(gateway, emulator):
    first = make_session(gateway, emulator)
    again = make_session(gateway, emulator)
    assert first.id == again.id
    assert first.amount_total == 6200
    assert first.url.startswith("http://kindred.test/_stripe/")
    other = make_session(gateway, emulator, key="checkout-2", group="chk_2")
    assert other.id != first.id


def test_same_key_other_parameters_is_rejected(gateway, emulator):
    make_session(gateway, emulator)
    with pytest.raises(GatewayRejected) as raised:
        make_session(gateway, emulator, group="chk_other")
    assert raised.value.code == "idempotency_error"


def test_server_errors_are_retried_then_reported_unavailable(gateway, emulator):
    emulator.fail_next("/v1/checkout/sessions", count=1)
    assert make_session(gateway, emulator).id  # one 500, retried by the SDK
    emulator.fail_next("/v1/checkout/sessions", count=5)
    with pytest.raises(GatewayUnavailable):
        make_session(gateway, emulator, key="checkout-9", group="chk_9")


def test_lost_response_is_replayed_by_the_key_not_duplicated(gateway, emulator):
    emulator.fail_next("/v1/accounts", count=1, kind="disconnect", when="after")
    account = gateway.create_express_account(
        email="ana@example.com", country="FR", idempotency_key="acct-user-1"
    )
    accounts = gateway.client.v1.accounts.list({"limit": 100}).data
    assert [a.id for a in accounts if a.email == "ana@example.com"] == [account.id]


def test_connect_onboarding_links(gateway):
    account = gateway.create_express_account(
        email="ana@example.com", country="FR", idempotency_key="acct-1"
    )
    assert account.charges_enabled is False and account.payouts_enabled is False
    link = gateway.create_account_link(
        account=account.id,
        refresh_url="http://kindred.test/r",
        return_url="http://kindred.test/ok",
        idempotency_key="link-1",
    )
    assert link.url.startswith("http://kindred.test/_stripe/")
    # As on Stripe, the Express dashboard exists only once onboarding is done.
    with pytest.raises(GatewayRejected):
        gateway.create_login_link(account=account.id, idempotency_key="login-1")


def test_transfer_needs_an_onboarded_account(gateway):
    account = gateway.create_express_account(
        email="ana@example.com", country="FR", idempotency_key="acct-1"
    )
    with pytest.raises(GatewayRejected):
        gateway.create_transfer(
            amount=100, currency="eur", destination=account.id, idempotency_key="tr-1"
        )


def test_balance_reads(gateway):
    balance = gateway.balance()
    assert balance.object == "balance"
