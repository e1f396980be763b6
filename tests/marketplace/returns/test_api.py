"""Returns through the API: problem+json for bad input, the same rules as the pages."""

from __future__ import annotations

from app.extensions import db
from marketplace.returns.models import ReturnStatus
from tests.factories import UserFactory
from tests.marketplace.helpers import bearer, image_bytes, make_token
from tests.marketplace.returns.flow import delivered_order


def test_the_whole_return_through_the_api(app, client, emulator):
    order = delivered_order(client, quantity=2)
    line_id = order.lines[0].id
    buyer = bearer(make_token(client, order.buyer))
    seller = bearer(make_token(client, order.shop.owner))
    api = app.test_client()

    start = api.get(f"/api/v1/orders/{order.id}/returns", headers=buyer).get_json()
    assert start["window"]["days"] == 30 and start["window"]["counted_from"] == "delivery"
    assert start["window"]["is_open"] is True
    assert start["returnable"] == [{"order_line_id": line_id, "quantity": 2}]
    assert start["returns"] == []

    for bad in (
        {},
        {"lines": [], "reason": "damaged"},
        {"lines": [{"order_line_id": line_id, "quantity": -1}], "reason": "damaged"},
        {"lines": [{"order_line_id": line_id, "quantity": 1}], "reason": "nope"},
        {"lines": [{"order_line_id": line_id, "quantity": 10**12}], "reason": "damaged"},
        {"lines": [{"order_line_id": "x", "quantity": 1}], "reason": "damaged"},
        {
            "lines": [{"order_line_id": line_id, "quantity": 1}],
            "reason": "damaged",
            "reason_text": "x" * 5000,
        },
    ):
        answer = api.post(f"/api/v1/orders/{order.id}/returns", json=bad, headers=buyer)
        assert answer.status_code == 422, (bad, answer.get_json())
        assert answer.mimetype == "application/problem+json"
    too_many = api.post(
        f"/api/v1/orders/{order.id}/returns",
        json={"lines": [{"order_line_id": line_id, "quantity": 3}], "reason": "damaged"},
        headers=buyer,
    )
    assert too_many.status_code == 422 and f"line-{line_id}" in str(too_many.get_json())
    made = api.post(
        f"/api/v1/orders/{order.id}/returns",
        json={
            "lines": [{"order_line_id": line_id, "quantity": 1}],
            "reason": "damaged",
            "reason_text": "Chipped.",
        },
        headers=buyer,
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    return_id = body["id"]
    assert body["status"] == "requested" and body["lines"][0]["quantity"] == 1
    assert body["events"][0]["kind"] == "requested" and body["refund"] is None

    photo = api.post(
        f"/api/v1/returns/{return_id}/photos",
        data={"photos": (__import__("io").BytesIO(image_bytes()), "chip.png")},
        headers=buyer,
        content_type="multipart/form-data",
    )
    assert photo.status_code == 201, photo.get_json()
    assert photo.get_json()["photos"][0]["url"].endswith(".webp")

    # The seller cannot act as the buyer, nor the buyer as the seller.
    assert api.post(f"/api/v1/returns/{return_id}/withdraw", headers=seller).status_code == 404
    assert (
        api.post(
            f"/api/v1/shop/returns/{return_id}/accept", json={"instructions": "x"}, headers=buyer
        ).status_code
        == 404
    )
    listed = api.get("/api/v1/shop/returns", headers=seller).get_json()
    assert [r["id"] for r in listed] == [return_id]
    no_words = api.post(
        f"/api/v1/shop/returns/{return_id}/accept", json={"instructions": " "}, headers=seller
    )
    assert no_words.status_code == 422 and no_words.mimetype == "application/problem+json"
    ok = api.post(
        f"/api/v1/shop/returns/{return_id}/accept",
        json={"instructions": "Post it to 3 rue Haute."},
        headers=seller,
    )
    assert ok.status_code == 200 and ok.get_json()["status"] == "accepted"
    received = api.post(
        f"/api/v1/shop/returns/{return_id}/receive", json={"restock": True}, headers=seller
    )
    assert received.status_code == 200, received.get_json()
    done = received.get_json()
    assert done["status"] == "refunded" and done["refund"]["status"] == "succeeded"
    assert done["refund"]["amount_minor"] == 2500
    twice = api.post(f"/api/v1/shop/returns/{return_id}/receive", json={}, headers=seller)
    assert twice.status_code == 409 and twice.mimetype == "application/problem+json"
    assert len(emulator.objects("refund")) == 1
    seen = api.get(f"/api/v1/returns/{return_id}", headers=buyer).get_json()
    assert [e["kind"] for e in seen["events"]] == ["requested", "accepted", "received"]


def test_escalation_and_decision_through_the_api(app, client):
    order = delivered_order(client)
    line_id = order.lines[0].id
    buyer = bearer(make_token(client, order.buyer))
    seller = bearer(make_token(client, order.shop.owner))
    moderator_user = UserFactory(is_admin=True)
    db.session.commit()
    moderator = bearer(make_token(client, moderator_user))
    api = app.test_client()
    return_id = api.post(
        f"/api/v1/orders/{order.id}/returns",
        json={"lines": [{"order_line_id": line_id, "quantity": 1}], "reason": "wrong_item"},
        headers=buyer,
    ).get_json()["id"]
    assert api.get(f"/api/v1/returns/{return_id}", headers=moderator).status_code == 404
    api.post(f"/api/v1/shop/returns/{return_id}/refuse", json={"reason": "Used."}, headers=seller)
    escalated = api.post(
        f"/api/v1/returns/{return_id}/escalate", json={"note": "Not mine."}, headers=buyer
    )
    assert escalated.get_json()["status"] == "escalated"
    assert api.get("/api/v1/admin/returns", headers=seller).status_code == 403
    queue = api.get("/api/v1/admin/returns", headers=moderator).get_json()
    assert [r["id"] for r in queue] == [return_id]
    bad = api.post(
        f"/api/v1/admin/returns/{return_id}/decide", json={"decision": "maybe"}, headers=moderator
    )
    assert bad.status_code == 422
    decided = api.post(
        f"/api/v1/admin/returns/{return_id}/decide",
        json={"decision": "uphold", "note": "The photos show use."},
        headers=moderator,
    )
    assert decided.get_json()["status"] == ReturnStatus.CLOSED
