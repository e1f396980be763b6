"""Every object the emulator returns has every top-level key of Stripe's fixture of its type."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Stripe's OpenAPI fixtures live in the ``shared`` folder beside the repository checkout.
FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "stripe" / "fixtures3.json"

AUTH = {"Authorization": "Bearer sk_test_emulator"}


def _load_fixtures() -> dict[str, dict[str, Any]]:
    if not FIXTURES.exists():
        pytest.skip(f"Stripe fixtures not found at {FIXTURES}")
    return json.loads(FIXTURES.read_text())["resources"]


def _fixture_type(obj: dict[str, Any]) -> str | None:
    kind = obj.get("object")
    if not isinstance(kind, str) or kind == "list":
        return None
    return f"deleted_{kind}" if obj.get("deleted") else kind


def _collect(node: Any, found: dict[str, list[dict[str, Any]]]) -> None:
    if isinstance(node, dict):
        kind = _fixture_type(node)
        if kind:
            found.setdefault(kind, []).append(node)
        for value in node.values():
            _collect(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect(value, found)


def _exercise(h, client, emu) -> list[Any]:
    """Run through every resource and return the raw JSON of every response."""
    web = emu.wsgi_app.test_client()
    out: list[Any] = []

    def get(path: str, account: str | None = None, **query: Any) -> None:
        headers = dict(AUTH)
        if account:
            headers["Stripe-Account"] = account
        resp = web.get(path, query_string=query, headers=headers)
        assert resp.status_code == 200, (path, resp.json)
        out.append(resp.json)

    def post(path: str, data: dict[str, Any] | str = "", account: str | None = None) -> Any:
        headers = dict(AUTH)
        if account:
            headers["Stripe-Account"] = account
        resp = web.post(
            path, data=data, headers=headers, content_type="application/x-www-form-urlencoded"
        )
        assert resp.status_code == 200, (path, resp.json)
        out.append(resp.json)
        return resp.json

    endpoint = client.v1.webhook_endpoints.create(
        params={"url": "https://app.example/hooks", "enabled_events": ["*"]}
    )
    out.append(endpoint.to_dict())
    account = h.create_account()
    acct = account.id
    out.append(
        post(
            "/v1/account_links",
            {
                "account": acct,
                "refresh_url": "https://a/r",
                "return_url": "https://a/b",
                "type": "account_onboarding",
            },
        )
    )
    emu.complete_onboarding(acct)
    post(f"/v1/accounts/{acct}/login_links")
    get(f"/v1/accounts/{acct}")
    get("/v1/accounts")
    get("/v1/account")
    get(f"/v1/accounts/{acct}/capabilities")

    session = client.v1.checkout.sessions.create(params=h.checkout_params())
    emu.pay_checkout_session(session.id, "4000000000000077")
    get(f"/v1/checkout/sessions/{session.id}", **{"expand[]": "line_items"})
    get(f"/v1/checkout/sessions/{session.id}/line_items")
    get("/v1/checkout/sessions", **{"expand[]": "data.payment_intent"})
    pi = h.pay(10_000, pm="pm_card_bypassPending")
    get(f"/v1/payment_intents/{pi.id}", **{"expand[]": "latest_charge.balance_transaction"})
    get("/v1/charges")
    refund = post("/v1/refunds", {"payment_intent": pi.id, "amount": "100"})
    get(f"/v1/refunds/{refund['id']}")
    transfer = post("/v1/transfers", {"amount": "2000", "currency": "usd", "destination": acct})
    post(f"/v1/transfers/{transfer['id']}/reversals", {"amount": "500"})
    get(f"/v1/transfers/{transfer['id']}")
    get("/v1/balance")
    get("/v1/balance", account=acct)
    get("/v1/balance_transactions")
    payout = post("/v1/payouts", {"amount": "500", "currency": "usd"}, account=acct)
    emu.fail_payout(payout["id"])
    get(f"/v1/payouts/{payout['id']}", account=acct)
    dispute_pi = h.pay(3_000, pm="pm_card_createDispute")
    get("/v1/disputes", **{"expand[]": "data.charge"})
    assert dispute_pi.status == "succeeded"
    get("/v1/events", limit=100)
    get("/v1/events", account=acct, limit=100)
    get("/v1/webhook_endpoints")
    resp = web.delete(f"/v1/webhook_endpoints/{endpoint.id}", headers=AUTH)
    out.append(resp.json)
    return out


def test_objects_have_all_fixture_fields(h, client, emu):
    fixtures = _load_fixtures()
    found: dict[str, list[dict[str, Any]]] = {}
    _collect(_exercise(h, client, emu), found)

    expected_types = {
        "account",
        "account_link",
        "login_link",
        "capability",
        "bank_account",
        "checkout.session",
        "item",
        "price",
        "payment_intent",
        "charge",
        "refund",
        "transfer",
        "transfer_reversal",
        "balance",
        "balance_transaction",
        "payout",
        "dispute",
        "event",
        "webhook_endpoint",
        "deleted_webhook_endpoint",
    }
    assert expected_types <= set(found), expected_types - set(found)

    problems = []
    for kind, objects in sorted(found.items()):
        fixture = fixtures.get(kind)
        assert fixture is not None, f"no Stripe fixture for object type {kind!r}"
        for obj in objects:
            missing = sorted(set(fixture) - set(obj))
            if missing:
                problems.append(f"{kind} {obj.get('id', '')}: missing {missing}")
    assert not problems, "\n".join(problems)
