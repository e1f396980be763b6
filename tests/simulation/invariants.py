"""What must hold after every step, and what must hold once the system is quiet.

Each check raises `Broken(name, detail)`; the name is the invariant, short and stable, so a
failing seed says which promise broke.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.uow import unit_of_work
from marketplace.order_models import Checkout, Order, OrderLine, Refund, RefundStatus
from payouts import ledger, reconcile
from payouts.earnings import LOST_DISPUTE_PREFIX
from payouts.models import Earning, PayoutItem, PayoutItemStatus, PayoutRun, StripeEvent
from payouts.splits import Role, split
from payouts.terms import stored_terms


class Broken(AssertionError):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail


def _ensure(ok: bool, name: str, detail: Any) -> None:
    if not ok:
        raise Broken(name, str(detail))


# --- after every step ---------------------------------------------------------------------------


def always(emulator: Any) -> list[Callable[[], None]]:
    """The checks after every step (each raises `Broken`)."""
    return [
        journal_balances,
        refunds_within_gross,
        lambda: stripe_refunds_within_ours(emulator, quiet=False),
        parts_equal_split,
        lambda: no_transfer_twice(emulator),
        runs_report_their_own,
    ]


def journal_balances() -> None:
    _ensure(ledger.trial_balance() == 0, "journal balances", "the trial balance is not zero")
    unbalanced = ledger.unbalanced_entries()
    _ensure(not unbalanced, "journal balances", f"entries that do not balance: {unbalanced}")


def _pending(refunds: list[Refund]) -> list[Refund]:
    return [r for r in refunds if r.status == RefundStatus.PENDING]


def _orders() -> list[Order]:
    return list(
        db.session.scalars(
            select(Order).options(
                selectinload(Order.lines), selectinload(Order.refunds).selectinload(Refund.lines)
            )
        )
    )


def refunds_within_gross() -> None:
    for order in _orders():
        pending_by_line: dict[int, int] = defaultdict(int)
        pending_shipping = 0
        for refund in _pending(list(order.refunds)):
            pending_shipping += refund.shipping_minor
            for line in refund.lines:
                pending_by_line[line.order_line_id] += line.amount_minor
        for line in order.lines:
            _ensure(
                0 <= line.refunded_minor <= line.gross_minor,
                "no line refunded beyond its gross",
                f"order {order.id} line {line.id}: refunded {line.refunded_minor} of "
                f"{line.gross_minor}",
            )
            _ensure(
                line.refunded_minor + pending_by_line[line.id] <= line.gross_minor,
                "no line refunded beyond its gross",
                f"order {order.id} line {line.id}: refunded {line.refunded_minor} + pending "
                f"{pending_by_line[line.id]} > gross {line.gross_minor}",
            )
        _ensure(
            order.shipping_refunded_minor + pending_shipping <= order.shipping_minor,
            "no order refunded beyond its gross",
            f"order {order.id}: shipping refunded {order.shipping_refunded_minor} + pending "
            f"{pending_shipping} > {order.shipping_minor}",
        )
        by_lines = sum(line.refunded_minor for line in order.lines) + order.shipping_refunded_minor
        _ensure(
            order.refunded_minor == by_lines,
            "an order's refunds are its lines' refunds",
            f"order {order.id}: refunded {order.refunded_minor}, its lines and shipping {by_lines}",
        )
        succeeded = sum(r.amount_minor for r in order.refunds if r.status == "succeeded")
        _ensure(
            order.refunded_minor == succeeded,
            "an order's refunds are its lines' refunds",
            f"order {order.id}: refunded {order.refunded_minor}, its succeeded refunds {succeeded}",
        )


def _ours_by_charge() -> tuple[dict[str, int], dict[str, int]]:
    """Per charge, what our refunds (made at Stripe, so not a lost dispute's) add up to:
    succeeded, and succeeded plus pending."""
    done: dict[str, int] = defaultdict(int)
    asked: dict[str, int] = defaultdict(int)
    rows = db.session.execute(
        select(Refund.amount_minor, Refund.status, Refund.public_id, Checkout.stripe_charge_id)
        .join(Order, Order.id == Refund.order_id)
        .join(Checkout, Checkout.id == Order.checkout_id)
    ).all()
    for amount, status, public_id, charge in rows:
        if public_id.startswith(LOST_DISPUTE_PREFIX) or charge is None:
            continue
        if status == RefundStatus.SUCCEEDED:
            done[charge] += amount
        if status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING):
            asked[charge] += amount
    return done, asked


def _stripe_by_charge(emulator: Any) -> dict[str, int]:
    refunded: dict[str, int] = defaultdict(int)
    for refund in emulator.objects("refund"):
        if refund.get("status") in ("succeeded", "pending"):
            refunded[str(refund["charge"])] += int(refund["amount"])
    return refunded


def stripe_refunds_within_ours(emulator: Any, *, quiet: bool) -> None:
    """Stripe never refunds more than our refunds asked for; once quiet, exactly what our
    orders say was refunded."""
    done, asked = _ours_by_charge()
    at_stripe = _stripe_by_charge(emulator)
    for charge in sorted(set(at_stripe) | set(done)):
        _ensure(
            done[charge] <= at_stripe[charge],
            "our orders record no refund Stripe did not make",
            f"charge {charge}: our orders say {done[charge]} was refunded, Stripe refunded "
            f"{at_stripe[charge]}",
        )
        _ensure(
            at_stripe[charge] <= asked[charge],
            "Stripe refunds no more than our orders asked",
            f"charge {charge}: Stripe refunded {at_stripe[charge]}, our refunds (succeeded or "
            f"pending) {asked[charge]}",
        )
        if quiet:
            _ensure(
                at_stripe[charge] == done[charge],
                "Stripe's refunds = our orders' refunds once quiet",
                f"charge {charge}: Stripe refunded {at_stripe[charge]}, our orders {done[charge]}",
            )


def parts_equal_split() -> None:
    """Each line's parties hold exactly split(gross) and gave back exactly split(refunded)."""
    lines = list(db.session.scalars(select(OrderLine)))
    terms = stored_terms([line.checkout_line_id for line in lines])
    earnings: dict[int, dict[tuple[str, str], Earning]] = defaultdict(dict)
    for earning in db.session.scalars(
        select(Earning).where(Earning.origin.is_(None), Earning.order_line_id.is_not(None))
    ):
        assert earning.order_line_id is not None
        earnings[earning.order_line_id][(earning.role, f"payee-{earning.payee_id}")] = earning
    for line in lines:
        mine = earnings.get(line.id)
        line_terms = terms.get(line.checkout_line_id)
        if not mine or not line_terms:
            continue  # not posted yet
        parties = [t.party for t in line_terms]
        owed = {
            (s.party.role.value, s.party.key): s.amount for s in split(line.gross_minor, parties)
        }
        back = {
            (s.party.role.value, s.party.key): s.amount for s in split(line.refunded_minor, parties)
        }
        for key, amount in owed.items():
            if key[0] == Role.PLATFORM.value:
                continue
            earning = mine.get(key)
            have = (earning.amount_minor, earning.refunded_minor) if earning else (0, 0)
            _ensure(
                have == (amount, back[key]),
                "every line's parts equal the split of what remains",
                f"line {line.id} (gross {line.gross_minor}, refunded {line.refunded_minor}) "
                f"{key[0]} {key[1]}: earned/gave back {have}, the split says "
                f"{(amount, back[key])}",
            )
    shipping_of = {
        e.order_id: e
        for e in db.session.scalars(
            select(Earning).where(Earning.order_line_id.is_(None), Earning.origin.is_(None))
        )
    }
    for order in db.session.scalars(select(Order)):
        shipping = shipping_of.get(order.id)
        if shipping is not None:
            _ensure(
                (shipping.amount_minor, shipping.refunded_minor)
                == (order.shipping_minor, order.shipping_refunded_minor),
                "every line's parts equal the split of what remains",
                f"order {order.id} shipping: earned/gave back "
                f"{(shipping.amount_minor, shipping.refunded_minor)}, the order says "
                f"{(order.shipping_minor, order.shipping_refunded_minor)}",
            )


def no_transfer_twice(emulator: Any) -> None:
    per_item: dict[str, list[str]] = defaultdict(list)
    transfers = emulator.objects("transfer")
    for transfer in transfers:
        item = (transfer.get("metadata") or {}).get("payout_item")
        if item:
            per_item[str(item)].append(transfer["id"])
    twice = {item: ids for item, ids in per_item.items() if len(ids) > 1}
    _ensure(not twice, "no transfer made twice", f"payout items with several transfers: {twice}")
    ids = [t["id"] for t in transfers]
    _ensure(len(ids) == len(set(ids)), "no transfer made twice", "a transfer id repeats")


def runs_report_their_own() -> None:
    """A run reports only the transitions it made: together, the runs cannot have paid more
    items (or more money) than are paid."""
    reported, reported_amount = db.session.execute(
        select(
            func.coalesce(func.sum(PayoutRun.items_paid), 0),
            func.coalesce(func.sum(PayoutRun.amount_paid_minor), 0),
        )
    ).one()
    paid, paid_amount = db.session.execute(
        select(
            func.count(PayoutItem.id), func.coalesce(func.sum(PayoutItem.amount_minor), 0)
        ).where(PayoutItem.status == PayoutItemStatus.PAID)
    ).one()
    _ensure(
        int(reported) <= int(paid) and int(reported_amount) <= int(paid_amount),
        "a payout run reports only what it paid",
        f"the runs report {reported} item(s) / {reported_amount} paid; {paid} item(s) / "
        f"{paid_amount} are paid",
    )


# --- once quiet -----------------------------------------------------------------------------------


def quiet(emulator: Any) -> list[Callable[[], None]]:
    """The checks once the system is quiet: every step's, and reconciliation."""
    return [*always(emulator), lambda: _reconciled(emulator), _settled]


def _reconciled(emulator: Any) -> None:
    from tests.payouts.money import check_invariants

    with unit_of_work(write=False):
        report = reconcile.run()
    _ensure(report.ok, "reconcile agrees once quiet", "; ".join(report.differences))
    try:
        check_invariants(emulator)
    except AssertionError as error:
        raise Broken("ledger = Stripe for every party once quiet", repr(error)[:500]) from error
    stripe_refunds_within_ours(emulator, quiet=True)


def _settled() -> None:
    pending = db.session.scalars(select(Refund.public_id).where(Refund.status == "pending")).all()
    _ensure(not pending, "nothing left pending once quiet", f"refunds still pending: {pending}")
    stuck = db.session.scalars(
        select(PayoutItem.id).where(
            PayoutItem.status.not_in((PayoutItemStatus.PAID, PayoutItemStatus.FAILED))
        )
    ).all()
    _ensure(not stuck, "nothing left pending once quiet", f"payout items not settled: {stuck}")
    failed = db.session.execute(
        select(StripeEvent.id, StripeEvent.type, StripeEvent.last_error).where(
            StripeEvent.processed_at.is_(None)
        )
    ).all()
    _ensure(
        not failed,
        "every webhook is processed once quiet",
        [(e, t, (err or "")[:160]) for e, t, err in failed],
    )
    db.session.commit()
