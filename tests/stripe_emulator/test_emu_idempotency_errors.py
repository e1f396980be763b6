"""Idempotency keys, authentication and the mapping of errors to SDK exceptions."""

from __future__ import annotations

import pytest
import stripe

AUTH = {"Authorization": "Bearer sk_test_emulator"}
FORM = "application/x-www-form-urlencoded"


def test_idempotent_replay_is_byte_for_byte(emu):
    web = emu.wsgi_app.test_client()
    headers = {**AUTH, "Idempotency-Key": "key-1"}
    body = "amount=2000&currency=usd&metadata[order]=7"
    first = web.post("/v1/payment_intents", data=body, headers=headers, content_type=FORM)
    assert first.status_code == 200
    assert first.headers["Request-Id"].startswith("req_")
    assert "Idempotent-Replayed" not in first.headers
    # Same parameters in another order: still the same request.
    again = web.post(
        "/v1/payment_intents",
        data="metadata[order]=7&currency=usd&amount=2000",
        headers=headers,
        content_type=FORM,
    )
    assert again.status_code == 200
    assert again.data == first.data
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Original-Request"] == first.headers["Request-Id"]
    assert again.headers["Request-Id"] != first.headers["Request-Id"]
    assert len(emu.objects("payment_intent")) == 1


def test_idempotency_key_with_other_params(client):
    opts = {"idempotency_key": "order-1"}
    client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"}, options=opts)
    with pytest.raises(stripe.IdempotencyError) as exc:
        client.v1.payment_intents.create(params={"amount": 2001, "currency": "usd"}, options=opts)
    assert exc.value.http_status == 400
    assert exc.value.error.type == "idempotency_error"


def test_idempotency_keys_are_scoped_per_key_and_account(h, client, make_client, emu):
    opts = {"idempotency_key": "same"}
    pi1 = client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"}, options=opts)
    other_key = make_client(key="sk_test_other")
    pi2 = other_key.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd"}, options=opts
    )
    acct = h.onboarded_account()
    pi3 = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd"},
        options={"idempotency_key": "same", "stripe_account": acct},
    )
    assert len({pi1.id, pi2.id, pi3.id}) == 3
    replay = client.v1.payment_intents.create(
        params={"amount": 2000, "currency": "usd"}, options=opts
    )
    assert replay.id == pi1.id


def test_card_errors_are_replayed_but_validation_errors_are_not(client):
    opts = {"idempotency_key": "card"}
    params = {
        "amount": 2000,
        "currency": "usd",
        "payment_method": "pm_card_chargeDeclined",
        "confirm": True,
    }
    with pytest.raises(stripe.CardError) as first:
        client.v1.payment_intents.create(params=params, options=opts)
    with pytest.raises(stripe.CardError) as second:
        client.v1.payment_intents.create(params=params, options=opts)
    assert first.value.json_body == second.value.json_body
    assert len(client.v1.payment_intents.list().data) == 1

    bad = {"amount": 10, "currency": "usd"}
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.payment_intents.create(params=bad, options={"idempotency_key": "v"})
    # Nothing was saved for the rejected request, so the key is still usable.
    ok = client.v1.payment_intents.create(
        params={"amount": 1000, "currency": "usd"}, options={"idempotency_key": "v"}
    )
    assert ok.amount == 1000


def test_missing_and_invalid_api_keys(emu, make_client):
    web = emu.wsgi_app.test_client()
    resp = web.get("/v1/balance")
    assert resp.status_code == 401
    assert resp.json["error"]["type"] == "invalid_request_error"
    assert resp.headers["Request-Id"].startswith("req_")
    with pytest.raises(stripe.AuthenticationError):
        make_client(key="sk_live_123456789").v1.balance.retrieve()
    with pytest.raises(stripe.AuthenticationError):
        make_client(key="pk_test_123456789").v1.balance.retrieve()
    basic = web.get("/v1/balance", headers={"Authorization": "Basic c2tfdGVzdF94eXo6"})
    assert basic.status_code == 200


def test_not_found_errors(client, emu):
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.charges.retrieve("ch_missing")
    assert exc.value.http_status == 404
    assert exc.value.code == "resource_missing"
    assert "No such charge: 'ch_missing'" in exc.value.user_message
    resp = emu.wsgi_app.test_client().get("/v1/nonsense", headers=AUTH)
    assert resp.status_code == 404
    assert resp.json["error"]["message"].startswith("Unrecognized request URL")


def test_error_object_shape(emu):
    resp = emu.wsgi_app.test_client().post(
        "/v1/transfers", data="amount=abc", headers=AUTH, content_type=FORM
    )
    err = resp.json["error"]
    assert resp.status_code == 400
    assert err["type"] == "invalid_request_error"
    assert err["param"] == "amount"
    assert err["code"] == "parameter_invalid"
    assert err["doc_url"].endswith("parameter_invalid")
    assert "message" in err


def test_injected_server_error_and_rate_limit(client, emu):
    emu.fail_next("/v1/balance", kind="error")
    with pytest.raises(stripe.APIError) as exc:
        client.v1.balance.retrieve()
    assert exc.value.http_status == 500
    assert exc.value.error.type == "api_error"
    emu.fail_next("/v1/balance", kind="rate_limit")
    with pytest.raises(stripe.RateLimitError):
        client.v1.balance.retrieve()
    assert client.v1.balance.retrieve().object == "balance"


def test_objects_are_scoped_to_the_acting_account(h, client):
    acct = h.onboarded_account()
    pi = h.pay(2000)
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.payment_intents.retrieve(pi.id, options={"stripe_account": acct})
    assert exc.value.http_status == 404
    own = client.v1.payment_intents.create(
        params={
            "amount": 2000,
            "currency": "usd",
            "payment_method": "pm_card_bypassPending",
            "confirm": True,
        },
        options={"stripe_account": acct},
    )
    assert [
        p.id for p in client.v1.payment_intents.list(options={"stripe_account": acct}).data
    ] == [own.id]
    assert [p.id for p in client.v1.payment_intents.list().data] == [pi.id]
