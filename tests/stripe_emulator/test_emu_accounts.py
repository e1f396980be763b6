"""Connected accounts, capabilities, account links and login links through the SDK."""

from __future__ import annotations

import pytest
import stripe


def test_create_express_account_needs_onboarding(h, client):
    account = h.create_account()
    assert account.id.startswith("acct_")
    assert account.type == "express"
    assert account.controller.stripe_dashboard.type == "express"
    assert account.email == "seller@example.com"
    assert account.metadata.to_dict() == {"user_id": "42"}
    assert account.capabilities.to_dict() == {"card_payments": "inactive", "transfers": "inactive"}
    assert not account.details_submitted
    assert not account.charges_enabled
    assert not account.payouts_enabled
    assert "external_account" in account.requirements.currently_due
    assert "tos_acceptance.date" in account.requirements.currently_due

    fetched = client.v1.accounts.retrieve(account.id)
    assert fetched.to_dict() == account.to_dict()


def test_legacy_type_express(client):
    account = client.v1.accounts.create(
        params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
    )
    assert account.type == "express"
    assert account.capabilities.to_dict() == {"transfers": "inactive"}
    assert account.default_currency == "usd"


def test_express_account_must_request_a_capability(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.accounts.create(params={"type": "express"})
    assert exc.value.param == "capabilities"


def test_onboarding_completes_account(h, emu, client, inbox):
    account = h.create_account()
    endpoint = client.v1.webhook_endpoints.create(
        params={"url": "https://app.example/hooks", "enabled_events": ["account.updated"]}
    )
    assert endpoint.secret.startswith("whsec_")
    emu.complete_onboarding(account.id, business_name="Pottery Co")
    account = client.v1.accounts.retrieve(account.id)
    assert account.details_submitted and account.charges_enabled and account.payouts_enabled
    assert account.capabilities.to_dict() == {"card_payments": "active", "transfers": "active"}
    assert account.requirements.currently_due == []
    assert account.requirements.disabled_reason is None
    assert account.business_profile.name == "Pottery Co"
    assert account.external_accounts.data[0].object == "bank_account"

    events = client.v1.events.list(
        params={"type": "account.updated"}, options={"stripe_account": account.id}
    )
    assert len(events.data) == 1
    event = events.data[0]
    assert event.account == account.id
    assert event.data.object.id == account.id
    assert event.data.previous_attributes["details_submitted"] is False
    assert emu.deliver_due_webhooks() == 1
    assert inbox.types() == ["account.updated"]


def test_update_and_list_accounts(h, client):
    first = h.create_account()
    second = h.create_account(email="other@example.com")
    updated = client.v1.accounts.update(
        first.id, params={"metadata": {"user_id": "", "tier": "gold"}, "email": "new@example.com"}
    )
    assert updated.metadata.to_dict() == {"tier": "gold"}
    assert updated.email == "new@example.com"
    listed = client.v1.accounts.list(params={"limit": 1})
    assert [a.id for a in listed.data] == [second.id]
    assert listed.has_more is True
    rest = client.v1.accounts.list(params={"starting_after": second.id})
    assert [a.id for a in rest.data] == [first.id]
    assert rest.has_more is False
    before = client.v1.accounts.list(params={"ending_before": first.id})
    assert [a.id for a in before.data] == [second.id]
    all_ids = [a.id for a in client.v1.accounts.list().auto_paging_iter()]
    assert all_ids == [second.id, first.id]


def test_capabilities(h, emu, client):
    account = h.create_account()
    caps = client.v1.accounts.capabilities.list(account.id)
    by_id = {c.id: c for c in caps.data}
    assert by_id["transfers"].status == "inactive"
    assert by_id["transfers"].requirements.currently_due
    emu.complete_onboarding(account.id)
    cap = client.v1.accounts.capabilities.retrieve(account.id, "transfers")
    assert cap.status == "active"
    assert cap.requested is True


def test_account_link_points_to_hosted_onboarding(h, client, emu):
    account = h.create_account()
    link = client.v1.account_links.create(
        params={
            "account": account.id,
            "refresh_url": "https://app.example/refresh",
            "return_url": "https://app.example/return",
            "type": "account_onboarding",
        }
    )
    assert link.object == "account_link"
    assert link.url.startswith(f"{emu.public_url}/setup/e/{account.id}/")
    assert link.expires_at > link.created


def test_account_link_errors(h, client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.account_links.create(
            params={
                "account": "acct_missing",
                "refresh_url": "https://a/r",
                "return_url": "https://a/b",
                "type": "account_onboarding",
            }
        )
    assert exc.value.http_status == 404
    account = h.create_account()
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.account_links.create(
            params={
                "account": account.id,
                "return_url": "https://a/b",
                "type": "account_onboarding",
            }
        )
    assert exc.value.code == "parameter_missing"
    assert exc.value.param == "refresh_url"


def test_login_link_requires_onboarding(h, client, emu):
    account = h.create_account()
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.accounts.login_links.create(account.id)
    emu.complete_onboarding(account.id)
    link = client.v1.accounts.login_links.create(account.id)
    assert link.object == "login_link"
    assert link.url.startswith(f"{emu.public_url}/express/{account.id}/")


def test_retrieve_own_account_with_stripe_account_header(h, client, emu):
    account = h.create_account()
    own = client.v1.accounts.retrieve_current(options={"stripe_account": account.id})
    assert own.id == account.id
    platform = client.v1.accounts.retrieve_current()
    assert platform.id == emu.platform_id


def test_unknown_parameter_is_rejected(client):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.accounts.create(
            params={"type": "express", "capabilitiez": {"transfers": {"requested": True}}}
        )
    assert exc.value.code == "parameter_unknown"
    assert exc.value.param == "capabilitiez"
