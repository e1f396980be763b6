"""A batch survives one bad row: it is rolled back, recorded, shown, and the rest go on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import batches
from app.batches import BatchFailure
from app.extensions import db
from app.uow import unit_of_work
from tests.conftest import login
from tests.factories import UserFactory


def test_one_bad_row_is_recorded_and_the_batch_goes_on(app):
    seen: list[int] = []
    users = [UserFactory() for _ in range(3)]
    db.session.commit()
    ids = [u.id for u in users]

    def work(user_id: int) -> int:
        user = db.session.get(type(users[0]), user_id)
        user.bio = "changed"
        if user_id == ids[1]:
            raise ValueError("a poisoned row")
        seen.append(user_id)
        return user_id

    with unit_of_work():
        result = batches.each("test.batch", ids, work, subject=lambda i: f"user {i}")
    assert result.outcomes == [ids[0], ids[2]] and result.failed == [f"user {ids[1]}"]
    db.session.commit()
    # What the bad row did was rolled back; the others' work was kept.
    bios = {u.id: u.bio for u in db.session.scalars(select(type(users[0])))}
    assert bios[ids[0]] == bios[ids[2]] == "changed" and bios[ids[1]] != "changed"
    failure = db.session.scalar(select(BatchFailure))
    assert (failure.batch, failure.subject, failure.occurrences) == (
        "test.batch",
        f"user {ids[1]}",
        1,
    )
    assert "poisoned" in failure.error
    # It fails again: counted; then it succeeds: the record goes.
    with unit_of_work():
        batches.each("test.batch", [ids[1]], work, subject=lambda i: f"user {i}")
    db.session.commit()
    assert db.session.scalar(select(BatchFailure)).occurrences == 2
    with unit_of_work():
        batches.each("test.batch", [ids[1]], lambda _i: None, subject=lambda i: f"user {i}")
    db.session.commit()
    assert db.session.scalar(select(BatchFailure)) is None


def test_the_refund_sweep_survives_a_refund_that_raises(app, client, emulator, monkeypatch):
    from marketplace import commerce, orders
    from marketplace.order_models import Refund, RefundStatus
    from tests.marketplace.shopping import buy, orders_of, two_shops

    bowl, jacket = two_shops()
    checkout = buy(client, UserFactory(), bowl, jacket)
    first, second = orders_of(checkout)
    emulator.fail_next("/v1/refunds", count=6, kind="error", when="before")
    for order in (first, second):
        login(client, order.shop.owner)
        client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "sorry"})
    emulator.faults.clear()
    pending = db.session.scalars(select(Refund).order_by(Refund.id)).all()
    assert [r.status for r in pending] == [RefundStatus.PENDING] * 2
    poisoned = pending[0].id
    real_send = orders.send_refund

    def send(refund: Any) -> Any:
        if refund.id == poisoned:
            raise RuntimeError("a refund row the code cannot handle")
        return real_send(refund)

    monkeypatch.setattr(orders, "send_refund", send)
    with unit_of_work():
        assert commerce.retry_refunds(older_than_seconds=0) == 1
    db.session.commit()
    statuses = {r.id: r.status for r in db.session.scalars(select(Refund))}
    assert statuses[poisoned] == RefundStatus.PENDING
    assert statuses[pending[1].id] == RefundStatus.SUCCEEDED
    failure = db.session.scalar(select(BatchFailure))
    assert failure.subject == f"refund {poisoned}"
    login(client, UserFactory(is_admin=True))
    page = client.get("/admin/payouts/").get_data(as_text=True)
    assert "Jobs that need a look" in page and f"refund {poisoned}" in page
