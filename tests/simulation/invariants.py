"""What must hold after every step, and what must hold once the system is quiet.

Each check raises `Broken(name, detail)`; the name is the invariant, short and stable, so a
failing seed says which promise broke.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from sqlalchemy import case, func, select

from app.extensions import db
from app.uow import unit_of_work
from marketplace.deals.models import Coupon, CouponUse, CouponUseStatus
from marketplace.order_models import (
    Checkout,
    CheckoutLine,
    CheckoutStatus,
    Order,
    OrderLine,
    Refund,
    RefundLine,
    RefundStatus,
)
from payouts import ledger, reconcile
from payouts.earnings import LOST_DISPUTE_PREFIX
from payouts.models import Earning, PayoutItem, PayoutItemStatus, PayoutRun, StripeEvent

try:  # refunds nobody here made, held for an admin; absent from code older than them
    from payouts.earnings import HELD_PREFIX
    from payouts.models import HeldRefund, HeldRefundStatus
except ImportError:  # pragma: no cover - only when run against older code
    HELD_PREFIX = None  # type: ignore[assignment]
    HeldRefund = HeldRefundStatus = None  # type: ignore[assignment,misc]
from payouts.splits import Role, split
from payouts.terms import stored_terms


class Broken(AssertionError):
    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"{name}: {detail}")
        self.name = name
        self.detail = detail

    def __reduce__(self) -> tuple[Any, ...]:  # sent between processes with --jobs
        return (Broken, (self.name, self.detail))


def _ensure(ok: bool, name: str, detail: Any) -> None:
    if not ok:
        raise Broken(name, str(detail))


# --- after every step ---------------------------------------------------------------------------


def always(emulator: Any, outside: frozenset[str] = frozenset()) -> list[Callable[[], None]]:
    """The checks after every step (each raises `Broken`). `outside`: the ids of refunds
    made at Stripe by no one here (its dashboard), which the app learns of by webhook."""
    return [
        journal_balances,
        refunds_within_gross,
        lambda: stripe_refunds_within_ours(emulator, quiet=False, outside=outside),
        parts_equal_split,
        lambda: no_transfer_twice(emulator),
        runs_report_their_own,
        held_refunds_are_held,
        returns_within_lines,
        discounts_add_up,
        coupon_uses_within_their_cap,
    ]


def returns_within_lines() -> None:
    """A return never takes back more than was bought: per line, the items in open and settled
    returns stay within its quantity; a return's refund names only the return's lines, and
    belongs to the return's order."""
    try:
        from marketplace.returns.models import ReturnLine, ReturnRequest, ReturnStatus
    except ImportError:  # pragma: no cover - code from before returns
        return
    live = ReturnStatus.OPEN + ReturnStatus.SETTLED
    rows = db.session.execute(
        select(OrderLine.id, OrderLine.quantity, func.sum(ReturnLine.quantity))
        .join(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
        .join(ReturnRequest, ReturnRequest.id == ReturnLine.return_id)
        .where(ReturnRequest.status.in_(live))
        .group_by(OrderLine.id, OrderLine.quantity)
    ).all()
    over = [(line_id, bought, returned) for line_id, bought, returned in rows if returned > bought]
    _ensure(not over, "returns within lines", f"lines returned beyond their quantity: {over}")
    for found in db.session.scalars(
        select(ReturnRequest).where(ReturnRequest.refund_id.is_not(None))
    ):
        refund = found.refund
        assert refund is not None
        named = {line.order_line_id for line in refund.lines if line.amount_minor}
        returned = {line.order_line_id for line in found.lines}
        _ensure(
            refund.order_id == found.order_id and named <= returned,
            "returns within lines",
            f"return {found.id} refunded lines {sorted(named)} of order {refund.order_id}, "
            f"it returns {sorted(returned)} of order {found.order_id}",
        )
        _ensure(
            found.status == ReturnStatus.REFUNDED,
            "returns within lines",
            f"return {found.id} has a refund but is {found.status}",
        )


def journal_balances() -> None:
    _ensure(ledger.trial_balance() == 0, "journal balances", "the trial balance is not zero")
    unbalanced = ledger.unbalanced_entries()
    _ensure(not unbalanced, "journal balances", f"entries that do not balance: {unbalanced}")


def refunds_within_gross() -> None:
    """Per line and per order, from aggregates: refunded (and refunded plus pending) within
    the gross; an order's refunds are its lines' and its succeeded refunds'."""
    pending = (
        select(RefundLine.order_line_id, func.sum(RefundLine.amount_minor).label("amount"))
        .join(Refund, Refund.id == RefundLine.refund_id)
        .where(Refund.status == RefundStatus.PENDING)
        .group_by(RefundLine.order_line_id)
        .subquery()
    )
    for line_id, order_id, gross, refunded, waiting in db.session.execute(
        select(
            OrderLine.id,
            OrderLine.order_id,
            (OrderLine.unit_price_minor * OrderLine.quantity - OrderLine.discount_minor).label(
                "gross"
            ),
            OrderLine.refunded_minor,
            func.coalesce(pending.c.amount, 0),
        ).outerjoin(pending, pending.c.order_line_id == OrderLine.id)
    ):
        _ensure(
            0 <= refunded <= gross,
            "no line refunded beyond its gross",
            f"order {order_id} line {line_id}: refunded {refunded} of {gross}",
        )
        _ensure(
            refunded + waiting <= gross,
            "no line refunded beyond its gross",
            f"order {order_id} line {line_id}: refunded {refunded} + pending {waiting} > gross "
            f"{gross}",
        )
    by_lines = (
        select(OrderLine.order_id, func.sum(OrderLine.refunded_minor).label("amount"))
        .group_by(OrderLine.order_id)
        .subquery()
    )
    refunds = (
        select(
            Refund.order_id,
            func.sum(
                case((Refund.status == RefundStatus.SUCCEEDED, Refund.amount_minor), else_=0)
            ).label("succeeded"),
            func.sum(
                case((Refund.status == RefundStatus.PENDING, Refund.shipping_minor), else_=0)
            ).label("shipping"),
        )
        .group_by(Refund.order_id)
        .subquery()
    )
    for (
        order_id,
        shipping,
        shipping_refunded,
        refunded,
        lines,
        succeeded,
        waiting,
    ) in db.session.execute(
        select(
            Order.id,
            Order.shipping_minor,
            Order.shipping_refunded_minor,
            Order.refunded_minor,
            func.coalesce(by_lines.c.amount, 0),
            func.coalesce(refunds.c.succeeded, 0),
            func.coalesce(refunds.c.shipping, 0),
        )
        .outerjoin(by_lines, by_lines.c.order_id == Order.id)
        .outerjoin(refunds, refunds.c.order_id == Order.id)
    ):
        _ensure(
            shipping_refunded + waiting <= shipping,
            "no order refunded beyond its gross",
            f"order {order_id}: shipping refunded {shipping_refunded} + pending {waiting} > "
            f"{shipping}",
        )
        _ensure(
            refunded == lines + shipping_refunded,
            "an order's refunds are its lines' refunds",
            f"order {order_id}: refunded {refunded}, its lines and shipping "
            f"{lines + shipping_refunded}",
        )
        _ensure(
            refunded == succeeded,
            "an order's refunds are its lines' refunds",
            f"order {order_id}: refunded {refunded}, its succeeded refunds {succeeded}",
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
        if HELD_PREFIX is not None and public_id.startswith(HELD_PREFIX):
            continue  # booked from a held refund: Stripe's refund is the held one, below
        if status == RefundStatus.SUCCEEDED:
            done[charge] += amount
        if status in (RefundStatus.SUCCEEDED, RefundStatus.PENDING):
            asked[charge] += amount
    if HeldRefund is not None:
        # A refund nobody here asked for is on record once held: Stripe made it.
        for charge, amount in db.session.execute(
            select(HeldRefund.charge_id, HeldRefund.amount_minor)
        ):
            done[charge] += amount
            asked[charge] += amount
    return done, asked


def _stripe_by_charge(emulator: Any, outside: frozenset[str], *, quiet: bool) -> dict[str, int]:
    refunded: dict[str, int] = defaultdict(int)
    unknown = []
    recorded: set[str] | None = None
    for refund in emulator.objects("refund"):
        if refund.get("status") not in ("succeeded", "pending"):
            continue
        if refund["id"] in outside:
            if recorded is None:
                recorded = _recorded_refund_ids()
            if refund["id"] not in recorded:
                unknown.append(refund["id"])
                continue  # its webhook has not come yet: nothing here knows of it
        refunded[str(refund["charge"])] += int(refund["amount"])
    _ensure(
        not (quiet and unknown),
        "every refund made outside Kindred is on record once quiet",
        f"refunds nobody here made and nothing records: {unknown}",
    )
    return refunded


def _recorded_refund_ids() -> set[str]:
    ids = set(db.session.scalars(select(Refund.stripe_refund_id)))
    if HeldRefund is not None:
        ids |= set(db.session.scalars(select(HeldRefund.stripe_refund_id)))
    return {i for i in ids if i}


def stripe_refunds_within_ours(
    emulator: Any, *, quiet: bool, outside: frozenset[str] = frozenset()
) -> None:
    """Stripe never refunds more than our refunds asked for; once quiet, exactly what our
    orders say was refunded."""
    done, asked = _ours_by_charge()
    at_stripe = _stripe_by_charge(emulator, outside, quiet=quiet)
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


# What each line looked like when it was last found right (its gross, refunds and
# earnings): a line that has not changed since is not split again. Keyed by the database
# session's bind, so each engine (and so each process's database) has its own.
_checked_lines: dict[Any, dict[int, Any]] = {}


def forget_checked_lines() -> None:
    _checked_lines.clear()


def parts_equal_split() -> None:
    """Each line's parties hold exactly split(gross) and gave back exactly split(refunded).

    The lines and earnings are read as plain rows; only a line whose row or earnings
    changed since it was last found right is split again (the split is a function of them).
    """
    checked = _checked_lines.setdefault(db.engine.url, {})
    earnings_of: dict[int, dict[tuple[str, str], tuple[int, int]]] = defaultdict(dict)
    for line_id, role, payee_id, amount, refunded in db.session.execute(
        select(
            Earning.order_line_id,
            Earning.role,
            Earning.payee_id,
            Earning.amount_minor,
            Earning.refunded_minor,
        ).where(Earning.origin.is_(None), Earning.order_line_id.is_not(None))
    ):
        earnings_of[line_id][(role, f"payee-{payee_id}")] = (amount, refunded)
    changed = []
    for line in db.session.execute(
        select(
            OrderLine.id,
            OrderLine.checkout_line_id,
            (OrderLine.unit_price_minor * OrderLine.quantity - OrderLine.discount_minor).label(
                "gross_minor"
            ),
            OrderLine.refunded_minor,
        )
    ):
        mine = earnings_of.get(line.id)
        if not mine:
            continue  # not posted yet
        state = (tuple(line), tuple(sorted(mine.items())))
        if checked.get(line.id) != state:
            changed.append((line, mine, state))
    if not changed:
        return
    terms = stored_terms([line.checkout_line_id for line, _mine, _state in changed])
    for line, mine, state in changed:
        line_terms = terms.get(line.checkout_line_id)
        if not line_terms:
            continue
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
            have = mine.get(key, (0, 0))
            _ensure(
                have == (amount, back[key]),
                "every line's parts equal the split of what remains",
                f"line {line.id} (gross {line.gross_minor}, refunded {line.refunded_minor}) "
                f"{key[0]} {key[1]}: earned/gave back {have}, the split says "
                f"{(amount, back[key])}",
            )
        checked[line.id] = state
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


def discounts_add_up() -> None:
    """A shop's discount is shared over its lines to the cent: every line keeps between
    nothing and its price, and the lines' discounts and grosses are the checkout's and the
    order's, whose total is what was charged."""
    for table in (CheckoutLine, OrderLine):
        for line_id, price, discount in db.session.execute(
            select(table.id, table.unit_price_minor * table.quantity, table.discount_minor).where(
                (table.discount_minor < 0)
                | (table.discount_minor > table.unit_price_minor * table.quantity)
            )
        ):
            _ensure(
                False,
                "a discount never makes a line negative",
                f"{table.__tablename__} {line_id}: discount {discount} of {price}",
            )
    sums = (
        select(
            CheckoutLine.checkout_id,
            func.sum(
                CheckoutLine.unit_price_minor * CheckoutLine.quantity - CheckoutLine.discount_minor
            ).label("gross"),
            func.sum(CheckoutLine.discount_minor).label("discount"),
        )
        .group_by(CheckoutLine.checkout_id)
        .subquery()
    )
    for (
        checkout_id,
        subtotal,
        discount,
        shipping,
        total,
        gross,
        lines_discount,
    ) in db.session.execute(
        select(
            Checkout.id,
            Checkout.subtotal_minor,
            Checkout.discount_minor,
            Checkout.shipping_minor,
            Checkout.total_minor,
            sums.c.gross,
            sums.c.discount,
        ).join(sums, sums.c.checkout_id == Checkout.id)
    ):
        _ensure(
            (subtotal, discount, total) == (gross, lines_discount, gross + shipping),
            "discounts add up to the cent",
            f"checkout {checkout_id}: subtotal {subtotal}, discount {discount}, total {total}; "
            f"its lines {gross} and {lines_discount}, shipping {shipping}",
        )
    order_sums = (
        select(
            OrderLine.order_id,
            func.sum(
                OrderLine.unit_price_minor * OrderLine.quantity - OrderLine.discount_minor
            ).label("gross"),
            func.sum(OrderLine.discount_minor).label("discount"),
        )
        .group_by(OrderLine.order_id)
        .subquery()
    )
    for order_id, subtotal, discount, gross, lines_discount in db.session.execute(
        select(
            Order.id,
            Order.subtotal_minor,
            Order.discount_minor,
            order_sums.c.gross,
            order_sums.c.discount,
        ).join(order_sums, order_sums.c.order_id == Order.id)
    ):
        _ensure(
            (subtotal, discount) == (gross, lines_discount),
            "discounts add up to the cent",
            f"order {order_id}: subtotal {subtotal}, discount {discount}; its lines {gross} "
            f"and {lines_discount}",
        )


def coupon_uses_within_their_cap() -> None:
    """A capped coupon is never held by more checkouts than its cap (a checkout paid after its
    reservation was given back keeps its price, and is the one exception); a use follows its
    checkout: reserved while it is open (or released, once a newer checkout of the cart
    replaced it), used once paid, released once it ended unpaid."""
    expected = {
        CheckoutStatus.OPEN: (CouponUseStatus.RESERVED, CouponUseStatus.RELEASED),
        CheckoutStatus.PAID: (CouponUseStatus.USED,),
        CheckoutStatus.EXPIRED: (CouponUseStatus.RELEASED,),
        CheckoutStatus.CANCELLED: (CouponUseStatus.RELEASED,),
    }
    for use_id, use_status, checkout_id, checkout_status in db.session.execute(
        select(CouponUse.id, CouponUse.status, Checkout.id, Checkout.status).join(
            Checkout, Checkout.id == CouponUse.checkout_id
        )
    ):
        _ensure(
            use_status in expected[checkout_status],
            "a coupon's use follows its checkout",
            f"use {use_id} is {use_status}, its checkout {checkout_id} is {checkout_status}",
        )
    for coupon_id, cap, held in db.session.execute(
        select(Coupon.id, Coupon.max_uses, func.count(CouponUse.id))
        .join(CouponUse, CouponUse.coupon_id == Coupon.id)
        .where(
            Coupon.max_uses.is_not(None),
            CouponUse.status.in_(CouponUseStatus.HOLDING),
            CouponUse.released_at.is_(None),
        )
        .group_by(Coupon.id, Coupon.max_uses)
    ):
        _ensure(
            held <= cap,
            "a coupon is used at most as often as its cap",
            f"coupon {coupon_id}: {held} uses held, at most {cap}",
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


def held_refunds_are_held() -> None:
    """The held refunds account holds what is left of the refunds still held; a payment
    with a refund held has all its earnings frozen (nothing released, nothing paid)."""
    if HeldRefund is None:
        return
    held = db.session.execute(
        select(HeldRefund.charge_id, HeldRefund.amount_minor - HeldRefund.booked_minor).where(
            HeldRefund.status == HeldRefundStatus.HELD
        )
    ).all()
    in_account = ledger.balance(ledger.HELD_REFUNDS)
    left = sum(amount for _charge, amount in held)
    _ensure(
        in_account == left,
        "the held refunds account holds what is held",
        f"the account holds {in_account}; the held refunds have {left} left",
    )
    charges = {charge for charge, _amount in held}
    if not charges:
        return
    thawed = db.session.execute(
        select(Earning.id, Checkout.stripe_charge_id)
        .join(Order, Order.id == Earning.order_id)
        .join(Checkout, Checkout.id == Order.checkout_id)
        .where(Checkout.stripe_charge_id.in_(charges), Earning.frozen.is_(False))
    ).all()
    _ensure(
        not thawed,
        "a payment with a refund held has its earnings frozen",
        f"earnings not frozen: {[(e, c) for e, c in thawed][:10]}",
    )


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


def quiet(emulator: Any, outside: frozenset[str] = frozenset()) -> list[Callable[[], None]]:
    """The checks once the system is quiet: every step's, and reconciliation."""
    return [*always(emulator, outside), lambda: _reconciled(emulator, outside), _settled]


def _reconciled(emulator: Any, outside: frozenset[str] = frozenset()) -> None:
    from tests.payouts.money import check_invariants

    with unit_of_work(write=False):
        report = reconcile.run()
    _ensure(report.ok, "reconcile agrees once quiet", "; ".join(report.differences))
    try:
        check_invariants(emulator)
    except AssertionError as error:
        raise Broken("ledger = Stripe for every party once quiet", repr(error)[:500]) from error
    stripe_refunds_within_ours(emulator, quiet=True, outside=outside)


# Where a payout item rests: paid, refused, or held back by a freeze (older code has no such).
SETTLED_ITEM_STATES = (
    PayoutItemStatus.PAID,
    PayoutItemStatus.FAILED,
    getattr(PayoutItemStatus, "HELD_BACK", PayoutItemStatus.FAILED),
)


def _settled() -> None:
    pending = db.session.scalars(select(Refund.public_id).where(Refund.status == "pending")).all()
    _ensure(not pending, "nothing left pending once quiet", f"refunds still pending: {pending}")
    stuck = db.session.scalars(
        select(PayoutItem.id).where(PayoutItem.status.not_in(SETTLED_ITEM_STATES))
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
