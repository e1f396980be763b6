"""Returns as services: the window, the quantities, the states and who may move them, the
refund through the orders' refund path, and the platform deciding when the seller is silent."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, Forbidden, NotFound, RuleViolation
from app.uow import unit_of_work
from marketplace import orders
from marketplace.models import ProductVariant
from marketplace.order_models import Order, Refund, RefundStatus
from marketplace.returns import policy, steps
from marketplace.returns.models import ReturnEvent, ReturnStatus
from marketplace.returns.sweep import settle_due_returns
from tests.factories import UserFactory
from tests.marketplace.returns.flow import accepted, ask, delivered_order, fresh, received
from tests.payouts.money import check_invariants


def _stock(order: Order) -> int:
    variant = db.session.get(ProductVariant, order.lines[0].variant_id)
    db.session.refresh(variant)
    return variant.stock


# --- the window --------------------------------------------------------------------------------


def test_a_shop_without_returns_takes_none(client):
    order = delivered_order(client, window_days=0)
    assert not policy.window(order).accepts_returns
    with pytest.raises(Conflict, match="does not accept returns"):
        ask(order)


def test_the_window_counts_from_delivery_and_closes(client):
    order = delivered_order(client, window_days=14)
    window = policy.window(order)
    assert window.counted_from == "delivery"
    assert window.ends_at == order.delivered_at + timedelta(days=14)
    closed = time_machine.travel(order.delivered_at + timedelta(days=14, minutes=1), tick=False)
    with closed, pytest.raises(Conflict, match="window of this order has closed"):
        ask(order)
    with time_machine.travel(order.delivered_at + timedelta(days=13), tick=False):
        assert ask(order).status == ReturnStatus.REQUESTED


def test_without_a_recorded_delivery_the_window_counts_from_shipping(client):
    order = delivered_order(client, window_days=10, deliver=False)
    window = policy.window(order)
    assert window.counted_from == "shipping"
    assert window.ends_at == order.shipped_at + timedelta(days=10)
    assert ask(order).status == ReturnStatus.REQUESTED


def test_the_order_keeps_the_window_it_was_sold_with(client):
    order = delivered_order(client, window_days=30)
    order.shop.return_window_days = 0  # the shop changes its policy after the sale
    db.session.commit()
    assert policy.window(fresh(order)).days == 30
    assert ask(order).status == ReturnStatus.REQUESTED


def test_an_order_not_shipped_cannot_be_returned(client):
    order = delivered_order(client)
    order.status, order.shipped_at, order.delivered_at = "paid", None, None
    db.session.commit()
    with pytest.raises(Conflict, match="once the order has shipped"):
        ask(order)


# --- quantities --------------------------------------------------------------------------------


def test_never_more_than_the_quantity_bought(client):
    order = delivered_order(client, quantity=2)
    with pytest.raises(RuleViolation) as refused:
        ask(order, quantity=3)
    assert f"line-{order.lines[0].id}" in refused.value.errors
    with pytest.raises(RuleViolation, match="at least one item"):
        ask(order, quantity=0)
    with pytest.raises(RuleViolation, match="cannot be negative"):
        ask(order, quantity=-1)


def test_one_open_return_per_line_then_what_is_left(client):
    order = delivered_order(client, quantity=2)
    first = ask(order, quantity=1)
    with pytest.raises(RuleViolation, match="cannot be returned again"):
        ask(order, quantity=1)  # the line is in an open return
    received(accepted_from(first))
    assert policy.returnable(fresh(order)) == {order.lines[0].id: 1}
    with pytest.raises(RuleViolation, match="At most 1"):
        ask(order, quantity=2)
    assert ask(order, quantity=1).quantity == 1


def accepted_from(found):
    with unit_of_work():
        steps.accept(found.order.shop.owner, found.id, "Post it back.")
    return fresh(found)


def test_what_the_seller_already_refunded_counts(client):
    order = delivered_order(client, quantity=2)
    seller = order.shop.owner
    with unit_of_work():
        locked = orders.order_for_seller(seller, order.id, lock=True)
        refund = orders.request_refund(
            seller, locked, orders.RefundRequest(lines={order.lines[0].id: 2500})
        )
    with unit_of_work():
        orders.deliver_refund(db.session.get(Refund, refund.id))
    # One bowl's worth is back: one bowl is left to return.
    assert policy.returnable(fresh(order)) == {order.lines[0].id: 1}
    with pytest.raises(RuleViolation):
        ask(order, quantity=2)
    found = accepted(order, quantity=1)
    received(found)
    order = fresh(order)
    assert order.lines[0].refunded_minor == order.lines[0].gross_minor == 5000
    assert policy.returnable(order) == {order.lines[0].id: 0}


def test_a_partly_refunded_unit_returns_for_what_is_left(client, emulator):
    order = delivered_order(client, quantity=1)
    seller = order.shop.owner
    with unit_of_work():
        locked = orders.order_for_seller(seller, order.id, lock=True)
        refund = orders.request_refund(
            seller, locked, orders.RefundRequest(lines={order.lines[0].id: 700})
        )
    with unit_of_work():
        orders.deliver_refund(db.session.get(Refund, refund.id))
    found = accepted(fresh(order), quantity=1)
    refund = received(found)
    assert refund.amount_minor == 2500 - 700
    order = fresh(order)
    assert order.lines[0].refunded_minor == 2500
    check_invariants(emulator)


# --- states and who may do what ----------------------------------------------------------------


def test_only_the_buyer_asks_and_only_the_seller_answers(client):
    order = delivered_order(client)
    stranger = UserFactory()
    with pytest.raises(Forbidden), unit_of_work():
        steps.ask(stranger, order.id, steps.ReturnAsk({order.lines[0].id: 1}, "damaged"))
    with pytest.raises(Forbidden), unit_of_work():
        steps.ask(order.shop.owner, order.id, steps.ReturnAsk({order.lines[0].id: 1}, "damaged"))
    found = ask(order)
    for person in (stranger, order.buyer):
        with pytest.raises(NotFound), unit_of_work():
            steps.accept(person, found.id, "Post it.")
        with pytest.raises(NotFound), unit_of_work():
            steps.receive(person, found.id)
    for person in (stranger, order.shop.owner):
        with pytest.raises(NotFound), unit_of_work():
            steps.withdraw(person, found.id)
    with pytest.raises(NotFound):
        steps.for_either(stranger, found.id)
    assert steps.for_either(order.shop.owner, found.id).id == found.id


def test_a_reason_from_the_list_and_words_for_something_else(client):
    order = delivered_order(client)
    with pytest.raises(RuleViolation, match="reason from the list"):
        ask(order, reason="because")
    with pytest.raises(RuleViolation, match="what is wrong"):
        ask(order, reason="other", text="   ")
    found = ask(order, reason="other", text="<b>Too</b> heavy<script>x</script>")
    assert found.reason_text == "Too heavy"
    with pytest.raises(RuleViolation, match="at most 1000"):
        ask(fresh(order), reason="other", text="x" * 1001)


def test_accepting_twice_or_after_a_refusal_is_refused(client):
    order = delivered_order(client)
    found = ask(order)
    with pytest.raises(RuleViolation, match="where and how"), unit_of_work():
        steps.accept(order.shop.owner, found.id, "  ")
    with unit_of_work():
        steps.accept(order.shop.owner, found.id, "Post it.")
    with pytest.raises(Conflict, match="already answered"), unit_of_work():
        steps.accept(order.shop.owner, found.id, "Post it.")
    with pytest.raises(Conflict, match="already answered"), unit_of_work():
        steps.refuse(order.shop.owner, found.id, "No.")


def test_a_refusal_goes_to_the_moderators_who_decide(client, outbox):
    order = delivered_order(client)
    found = ask(order)
    with pytest.raises(Conflict), unit_of_work():
        steps.escalate(order.buyer, found.id, "Too early.")
    with unit_of_work():
        steps.refuse(order.shop.owner, found.id, "Used.")
    with unit_of_work():
        steps.escalate(order.buyer, found.id, "It arrived chipped: see the photos.")
    moderator = UserFactory(is_admin=True)
    assert [r.id for r in steps.escalated(moderator)] == [found.id]
    assert steps.for_either(moderator, found.id).id == found.id
    with pytest.raises(Forbidden):
        steps.escalated(order.shop.owner)
    with pytest.raises(Forbidden), unit_of_work():
        steps.decide(order.buyer, found.id, for_buyer=True, note="")
    with unit_of_work():
        steps.decide(moderator, found.id, for_buyer=True, note="Damaged in transit.")
    found = fresh(found)
    assert found.status == ReturnStatus.ACCEPTED and found.due_at is not None
    with pytest.raises(Conflict, match="already decided"), unit_of_work():
        steps.decide(moderator, found.id, for_buyer=False, note="")
    subjects = [m["Subject"] for m in outbox()]
    assert any("was refused" in s for s in subjects)
    assert any("went to Kindred" in s for s in subjects)
    assert sum("Kindred's decision" in s for s in subjects) == 2  # both sides


def test_a_moderator_can_uphold_the_refusal(client):
    order = delivered_order(client)
    found = ask(order)
    with unit_of_work():
        steps.refuse(order.shop.owner, found.id, "Used.")
        steps.escalate(order.buyer, found.id, "")
    with unit_of_work():
        steps.decide(UserFactory(is_admin=True), found.id, for_buyer=False, note="Used.")
    assert fresh(found).status == ReturnStatus.CLOSED
    # Decided for good: the bowl in it cannot be asked for again; the other one can.
    assert policy.returnable(fresh(order)) == {order.lines[0].id: 1}


def test_the_buyer_withdraws_a_request_or_a_refusal(client):
    order = delivered_order(client)
    found = ask(order)
    with unit_of_work():
        steps.withdraw(order.buyer, found.id)
    assert fresh(found).status == ReturnStatus.WITHDRAWN
    found = accepted(fresh(order))
    with pytest.raises(Conflict), unit_of_work():
        steps.withdraw(order.buyer, found.id)


# --- the refund --------------------------------------------------------------------------------


def test_received_refunds_the_returned_quantity_and_restocks_it(client, emulator, outbox):
    order = delivered_order(client, quantity=2)
    stock_before = _stock(order)
    found = accepted(order, quantity=1)
    refund = received(found, restock=True)
    assert refund.amount_minor == 2500 and refund.shipping_minor == 0
    order, found = fresh(order), fresh(found)
    assert found.status == ReturnStatus.REFUNDED and found.refund.status == RefundStatus.SUCCEEDED
    assert order.refunded_minor == 2500 and order.lines[0].refunded_minor == 2500
    assert order.lines[0].restocked_quantity == 1
    assert _stock(order) == stock_before + 1
    assert [r["amount"] for r in emulator.objects("refund")] == [2500]
    assert any("is being refunded" in m["Subject"] for m in outbox())
    assert any("A refund for your order" in m["Subject"] for m in outbox())
    check_invariants(emulator)


def test_received_without_restock_leaves_the_stock(client, emulator):
    order = delivered_order(client, quantity=2)
    stock_before = _stock(order)
    received(accepted(order, quantity=2), restock=False)
    order = fresh(order)
    assert order.lines[0].refunded_minor == 5000 and order.lines[0].restocked_quantity == 0
    assert _stock(order) == stock_before
    check_invariants(emulator)


def test_receiving_twice_refunds_once(client, emulator):
    order = delivered_order(client)
    found = accepted(order)
    received(found)
    with pytest.raises(Conflict, match="already refunded"):
        received(fresh(found))
    assert len(emulator.objects("refund")) == 1
    assert fresh(order).refunded_minor == 2500


def test_only_an_accepted_return_is_received(client):
    order = delivered_order(client)
    found = ask(order)
    with pytest.raises(Conflict, match="Only an accepted return"):
        received(found)


def test_every_step_is_in_the_history_and_tells_the_other_side(client):
    from social.models import Notification

    order = delivered_order(client)
    found = accepted(order)
    received(found)
    kinds = list(
        db.session.scalars(
            select(ReturnEvent.kind)
            .where(ReturnEvent.return_id == found.id)
            .order_by(ReturnEvent.id)
        )
    )
    assert kinds == ["requested", "accepted", "received"]
    told = db.session.scalars(select(Notification).where(Notification.kind == "return")).all()
    assert sorted((n.recipient_id, n.target_type) for n in told) == sorted(
        [
            (order.shop.owner_id, "sold_order"),
            (order.buyer_id, "order"),
            (order.buyer_id, "order"),
        ]
    )


# --- the platform decides ----------------------------------------------------------------------


def test_a_silent_seller_is_answered_for_then_the_buyer_refunded(client, emulator, outbox):
    order = delivered_order(client)
    stock_before = _stock(order)
    found = ask(order)
    with unit_of_work():
        assert settle_due_returns() == 0  # not due yet
    with time_machine.travel(utcnow() + timedelta(days=3, minutes=1), tick=False):
        with unit_of_work():
            assert settle_due_returns() == 1
        assert fresh(found).status == ReturnStatus.ACCEPTED
        with unit_of_work():
            assert settle_due_returns() == 0  # nothing more to do for now
    with time_machine.travel(utcnow() + timedelta(days=3 + 14, minutes=2), tick=False):
        with unit_of_work():
            assert settle_due_returns() == 1
        with unit_of_work():
            assert settle_due_returns() == 0
    found = fresh(found)
    assert found.status == ReturnStatus.REFUNDED and found.refund.status == RefundStatus.SUCCEEDED
    assert [e.kind for e in found.events] == ["requested", "auto_accepted", "auto_refunded"]
    assert _stock(order) == stock_before  # nobody said it came back
    assert len(emulator.objects("refund")) == 1
    assert any("Kindred refunded a return" in m["Subject"] for m in outbox())
    check_invariants(emulator)


def test_the_sweep_leaves_a_return_the_seller_answered(client):
    order = delivered_order(client)
    found = ask(order)
    with unit_of_work():
        steps.refuse(order.shop.owner, found.id, "Used.")
    with time_machine.travel(utcnow() + timedelta(days=30), tick=False), unit_of_work():
        assert settle_due_returns() == 0
    assert fresh(found).status == ReturnStatus.REFUSED


def test_answer_and_receipt_times_are_configurable(app, client):
    app.config["RETURN_ANSWER_DAYS"] = 1
    app.config["RETURN_RECEIPT_DAYS"] = 2
    order = delivered_order(client)
    found = ask(order)
    assert found.due_at - found.created_at < timedelta(days=1, minutes=1)
    with unit_of_work():
        steps.accept(order.shop.owner, found.id, "Post it.")
    found = fresh(found)
    assert timedelta(days=2) - timedelta(minutes=1) < found.due_at - utcnow() <= timedelta(days=2)


def test_a_shop_sets_its_window_from_none_to_a_year(client):
    from marketplace import shops

    order = delivered_order(client)
    shop, owner = order.shop, order.shop.owner
    details = shops.ShopDetails(name=shop.name, slug=shop.slug, processing_days=3)
    with unit_of_work():
        shops.update_shop(owner, shop, details, None)
    assert fresh(shop).return_window_days == 30  # left empty: unchanged
    for days in (-1, 366):
        details.return_window_days = days
        with pytest.raises(RuleViolation) as refused, unit_of_work():
            shops.update_shop(owner, fresh(shop), details, None)
        assert "return_window_days" in refused.value.errors
    details.return_window_days = 0
    with unit_of_work():
        shops.update_shop(owner, fresh(shop), details, None)
    assert fresh(shop).return_window_days == 0
    # Orders sold before keep their window; new ones are sold without returns.
    assert policy.window(fresh(order)).days == 30
