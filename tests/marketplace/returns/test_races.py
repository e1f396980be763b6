"""Returns when things happen at once: two clicks on "received", the sweep during the seller's
click, two moderators deciding. Each moves the return once and refunds once (PostgreSQL: row
locks and real concurrency)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import time_machine

from app.extensions import db
from app.models import utcnow
from app.rules import Conflict
from app.uow import unit_of_work
from marketplace import orders
from marketplace.order_models import Order, Refund, RefundStatus
from marketplace.returns import steps
from marketplace.returns.models import ReturnRequest, ReturnStatus
from marketplace.returns.sweep import settle_due_returns
from tests.concurrency import at_once
from tests.factories import UserFactory
from tests.marketplace.returns.flow import accepted, ask, delivered_order, fresh
from tests.payouts.money import check_invariants


def _receiving(return_id: int, seller_id: int, outcomes: list[str]) -> Callable[[], None]:
    """What the seller's click does: record under the lock, commit, then call Stripe."""

    def click() -> None:
        from app.accounts.models import User

        try:
            with unit_of_work():
                seller = db.session.get(User, seller_id)
                refund = steps.receive(seller, return_id, restock=True)
                if refund is not None:
                    orders.deliver_refund(refund)
            outcomes.append("refunded")
        except Conflict:
            outcomes.append("conflict")

    return click


def _refunds_of(order: Order) -> list[Refund]:
    db.session.expire_all()
    return list(db.session.query(Refund).filter(Refund.order_id == order.id))


def test_two_clicks_on_received_refund_once(app, client, emulator, postgres_only):
    order = delivered_order(client, quantity=2)
    found = accepted(order, quantity=2)
    outcomes: list[str] = []
    seller_id = order.shop.owner_id
    at_once(
        app,
        [_receiving(found.id, seller_id, outcomes), _receiving(found.id, seller_id, outcomes)],
        in_unit_of_work=False,
    )
    assert sorted(outcomes) == ["conflict", "refunded"]
    refunds = _refunds_of(order)
    assert len(refunds) == 1 and refunds[0].status == RefundStatus.SUCCEEDED
    assert [r["amount"] for r in emulator.objects("refund")] == [5000]
    order = fresh(order)
    assert order.refunded_minor == 5000 and order.lines[0].restocked_quantity == 2
    check_invariants(emulator)


def test_the_sweep_during_the_sellers_click_refunds_once(app, client, emulator, postgres_only):
    order = delivered_order(client, quantity=1)
    found = accepted(order)
    outcomes: list[str] = []
    with time_machine.travel(utcnow() + timedelta(days=14, minutes=5), tick=False):

        def sweep() -> None:
            with unit_of_work():
                settle_due_returns()

        at_once(
            app,
            [_receiving(found.id, order.shop.owner_id, outcomes), sweep],
            in_unit_of_work=False,
        )
    found = fresh(found)
    assert found.status == ReturnStatus.REFUNDED
    refunds = _refunds_of(order)
    assert len(refunds) == 1 and refunds[0].status == RefundStatus.SUCCEEDED
    assert [r["amount"] for r in emulator.objects("refund")] == [2500]
    # Whoever came first decided; the other found it done.
    assert [e.kind for e in found.events][-1] in ("received", "auto_refunded")
    assert len([e for e in found.events if e.kind in ("received", "auto_refunded")]) == 1
    check_invariants(emulator)


def test_two_sweeps_at_once_move_each_return_once(app, client, emulator, postgres_only):
    order = delivered_order(client, quantity=2)
    found = accepted(order, quantity=2)
    with time_machine.travel(utcnow() + timedelta(days=15), tick=False):

        def sweep() -> None:
            with unit_of_work():
                settle_due_returns()

        at_once(app, [sweep, sweep], in_unit_of_work=False)
    assert fresh(found).status == ReturnStatus.REFUNDED
    assert len(_refunds_of(order)) == 1
    assert len(emulator.objects("refund")) == 1
    check_invariants(emulator)


def test_two_moderators_deciding_at_once_decide_once(app, client, postgres_only):
    order = delivered_order(client)
    found = ask(order)
    with unit_of_work():
        steps.refuse(order.shop.owner, found.id, "Used.")
        steps.escalate(order.buyer, found.id, "")
    first, second = UserFactory(is_admin=True), UserFactory(is_admin=True)
    db.session.commit()
    outcomes: list[str] = []

    def deciding(moderator_id: int, for_buyer: bool) -> Callable[[], None]:
        def decide() -> None:
            from app.accounts.models import User

            try:
                with unit_of_work():
                    steps.decide(
                        db.session.get(User, moderator_id), found.id, for_buyer=for_buyer, note=""
                    )
                outcomes.append("decided")
            except Conflict:
                outcomes.append("conflict")

        return decide

    at_once(app, [deciding(first.id, True), deciding(second.id, False)], in_unit_of_work=False)
    assert sorted(outcomes) == ["conflict", "decided"]
    decided = fresh(found)
    assert decided.status in (ReturnStatus.ACCEPTED, ReturnStatus.CLOSED)
    assert len([e for e in decided.events if e.kind in ("decided_for_buyer", "upheld")]) == 1


def test_a_return_and_a_sellers_own_refund_at_once_never_exceed_the_line(
    app, client, emulator, postgres_only
):
    order = delivered_order(client, quantity=1)
    found = accepted(order)
    line_id, seller_id = order.lines[0].id, order.shop.owner_id
    outcomes: list[str] = []

    def own_refund() -> None:
        from app.accounts.models import User

        try:
            with unit_of_work():
                seller = db.session.get(User, seller_id)
                locked = orders.order_for_seller(seller, order.id, lock=True)
                refund = orders.request_refund(
                    seller, locked, orders.RefundRequest(lines={line_id: 2500})
                )
                orders.deliver_refund(refund)
            outcomes.append("own")
        except Exception as error:  # the remainder was spent by the return
            outcomes.append(type(error).__name__)

    at_once(app, [own_refund, _receiving(found.id, seller_id, outcomes)], in_unit_of_work=False)
    order = fresh(order)
    assert order.refunded_minor == 2500 == order.lines[0].refunded_minor
    assert sum(r["amount"] for r in emulator.objects("refund")) == 2500
    assert db.session.get(ReturnRequest, found.id).status == ReturnStatus.REFUNDED
    check_invariants(emulator)
