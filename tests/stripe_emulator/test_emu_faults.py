"""Fault injection: failures before/after processing and how the SDK (with retries) copes."""

from __future__ import annotations

import pytest
import stripe

TRANSFER = {"amount": 1_000, "currency": "usd"}


@pytest.fixture
def funded(h, emu):
    acct = h.onboarded_account()
    h.pay(50_000, pm="pm_card_bypassPending")
    return acct


def _transfers(emu):
    return emu.objects("transfer")


def test_sdk_retries_a_500_and_succeeds(make_client, emu, funded):
    client = make_client(retries=2)
    emu.fail_next("/v1/transfers", count=2, kind="error")
    transfer = client.v1.transfers.create(params={**TRANSFER, "destination": funded})
    assert transfer.amount == 1_000
    assert len(_transfers(emu)) == 1


def test_without_retries_the_500_surfaces(client, emu, funded):
    emu.fail_next("/v1/transfers", kind="error")
    with pytest.raises(stripe.APIError):
        client.v1.transfers.create(params={**TRANSFER, "destination": funded})
    assert _transfers(emu) == []


def test_error_after_processing_is_replayed_by_the_retry(make_client, emu, funded):
    client = make_client(retries=1)
    emu.fail_next("/v1/transfers", kind="error", when="after")
    transfer = client.v1.transfers.create(
        params={**TRANSFER, "destination": funded}, options={"idempotency_key": "payout-split-1"}
    )
    assert [t["id"] for t in _transfers(emu)] == [transfer.id]
    assert emu.balance(funded)["available"] == {"usd": 1_000}


@pytest.mark.parametrize("kind", ["timeout", "disconnect"])
def test_network_failure_before_processing(client, emu, funded, kind):
    emu.fail_next("/v1/transfers", kind=kind, when="before")
    with pytest.raises(stripe.APIConnectionError) as exc:
        client.v1.transfers.create(params={**TRANSFER, "destination": funded})
    assert exc.value.should_retry is True
    assert _transfers(emu) == []


@pytest.mark.parametrize("kind", ["timeout", "disconnect"])
def test_network_failure_after_processing_loses_the_response(client, emu, funded, kind):
    emu.fail_next("/v1/transfers", kind=kind, when="after")
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(
            params={**TRANSFER, "destination": funded}, options={"idempotency_key": "k1"}
        )
    # The emulator did the work although the client never heard back...
    assert len(_transfers(emu)) == 1
    # ...and retrying with the same key returns that transfer instead of paying twice.
    again = client.v1.transfers.create(
        params={**TRANSFER, "destination": funded}, options={"idempotency_key": "k1"}
    )
    assert [t["id"] for t in _transfers(emu)] == [again.id]


def test_sdk_retry_after_lost_response_does_not_duplicate(make_client, emu, funded):
    client = make_client(retries=2)
    emu.fail_next("/v1/transfers", kind="timeout", when="after")
    # The SDK generates one idempotency key per call and reuses it for its retries.
    transfer = client.v1.transfers.create(params={**TRANSFER, "destination": funded})
    assert [t["id"] for t in _transfers(emu)] == [transfer.id]
    assert emu.balance(funded)["available"] == {"usd": 1_000}


def test_fault_prefix_and_count(client, emu, funded):
    emu.fail_next("/v1/transfers", count=2, kind="error")
    client.v1.balance.retrieve()  # other paths are unaffected
    for _ in range(2):
        with pytest.raises(stripe.APIError):
            client.v1.transfers.list()
    assert client.v1.transfers.list().data == []


def test_fault_control_endpoint(emu, client, funded):
    web = emu.wsgi_app.test_client()
    resp = web.post(
        "/_emulator/faults",
        json={"path_prefix": "/v1/transfers", "kind": "disconnect", "when": "after"},
    )
    assert resp.json["faults"][0]["kind"] == "disconnect"
    with pytest.raises(stripe.APIConnectionError):
        client.v1.transfers.create(params={**TRANSFER, "destination": funded})
    assert len(_transfers(emu)) == 1
    assert (
        web.post("/_emulator/faults", json={"path_prefix": "/v1", "kind": "bogus"}).status_code
        == 400
    )


def test_invalid_fault_arguments(emu):
    with pytest.raises(ValueError):
        emu.fail_next("/v1/x", kind="explode")
    with pytest.raises(ValueError):
        emu.fail_next("/v1/x", when="during")


def test_transport_stream_and_prefixed_api_base(emu):
    http = emu.http_client()
    headers = {"Authorization": "Bearer sk_test_x"}
    stream, status, rheaders = http.request_stream(
        "get", "https://api.stripe.com/v1/balance", headers
    )
    assert status == 200
    assert b'"object": "balance"' in stream.read()
    assert rheaders["request-id"] == rheaders["Request-Id"]
    # An api_base pointing at a mount point still routes by the /v1 path.
    body, status, _ = http.request("get", "http://shop.test/_stripe/v1/balance", headers)
    assert status == 200 and '"balance"' in body
    client = stripe.StripeClient(
        "sk_test_x", http_client=http, base_addresses={"api": "http://shop.test/_stripe"}
    )
    assert client.v1.balance.retrieve().object == "balance"


def test_hosted_urls_without_public_url():
    from stripe_emulator import Emulator

    emu = Emulator()
    try:
        client = stripe.StripeClient("sk_test_x", http_client=emu.http_client())
        acct = client.v1.accounts.create(
            params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
        )
        link = client.v1.account_links.create(
            params={
                "account": acct.id,
                "refresh_url": "https://a/r",
                "return_url": "https://a/b",
                "type": "account_onboarding",
            }
        )
        assert link.url.startswith("http://localhost/setup/e/")
        web = emu.wsgi_app.test_client()
        resp = web.post(
            "/v1/account_links",
            data={
                "account": acct.id,
                "refresh_url": "https://a/r",
                "return_url": "https://a/b",
                "type": "account_onboarding",
            },
            headers={"Authorization": "Bearer sk_test_x"},
            base_url="http://emu.local:8000/prefix",
        )
        assert resp.json["url"].startswith("http://emu.local:8000/prefix/setup/e/")
    finally:
        emu.close()
