"""Planning a payout run: what it pays (capped by the ledger, one item per payee per source
charge, nothing under the minimum) and what it costs (the same few statements for two payees
or two hundred)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from sqlalchemy import insert, select

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from marketplace.order_models import Checkout
from payouts import ledger, payout_run
from payouts.ledger import credit, debit
from payouts.models import (
    Earning,
    EarningState,
    Payee,
    PayeeStatus,
    PayoutItem,
    PayoutItemStatus,
    PayoutRun,
)
from tests.marketplace.helpers import count_queries

_serial = count(1)


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["MIN_PAYOUT_MINOR"] = 100
    return app_config


def checkout_paid_by(charge_id: str) -> str:
    """A checkout whose payment is `charge_id`; returns its public id (the transfer group)."""
    n = next(_serial)
    buyer = db.session.scalar(
        insert(User)
        .returning(User.id)
        .values(
            email=f"buyer{n}@plan.test",
            handle=f"buyer{n}",
            password_hash="x",
            display_name="",
            bio="",
            session_nonce="n",
            is_admin=False,
        )
    )
    public_id = f"co_plan_{n}"
    db.session.execute(
        insert(Checkout).values(
            public_id=public_id,
            buyer_id=buyer,
            status="paid",
            fingerprint=f"f{n}",
            currency="eur",
            subtotal_minor=10_000,
            shipping_minor=0,
            total_minor=10_000,
            shipping_by_shop={},
            shipping_address={},
            stripe_charge_id=charge_id,
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    return public_id


def payee(
    *,
    status: str = PayeeStatus.ENABLED,
    account: bool = True,
    earnings: list[tuple[str | None, int]] = (),  # type: ignore[assignment]
    balance: int | None = None,
    **earning_fields: Any,
) -> int:
    """A payee with available earnings (charge, amount) and, in the ledger, `balance` available
    (the earnings' sum unless told)."""
    n = next(_serial)
    user = db.session.scalar(
        insert(User)
        .returning(User.id)
        .values(
            email=f"payee{n}@plan.test",
            handle=f"payee{n}",
            password_hash="x",
            display_name="",
            bio="",
            session_nonce="n",
            is_admin=False,
        )
    )
    payee_id = db.session.scalar(
        insert(Payee)
        .returning(Payee.id)
        .values(
            user_id=user,
            stripe_account_id=f"acct_plan_{n}" if account else None,
            status=status,
            requirements=[],
        )
    )
    for charge, amount in earnings:
        db.session.execute(
            insert(Earning).values(
                payee_id=payee_id,
                role="seller",
                currency="eur",
                amount_minor=amount,
                state=earning_fields.get("state", EarningState.AVAILABLE),
                frozen=earning_fields.get("frozen", False),
                refunded_minor=earning_fields.get("refunded_minor", 0),
                source_charge_id=charge,
            )
        )
    funded = sum(amount for _, amount in earnings) if balance is None else balance
    if funded:
        ledger.post(
            f"plan-funding-{payee_id}",
            "test",
            [
                debit(ledger.STRIPE_BALANCE, funded),
                credit(ledger.available(f"payee-{payee_id}"), funded),
            ],
        )
    return payee_id


def plan() -> tuple[int, list[PayoutItem]]:
    run = PayoutRun()
    db.session.add(run)
    db.session.flush()
    made = payout_run.plan(run)
    db.session.commit()
    items = db.session.scalars(
        select(PayoutItem).where(PayoutItem.run_id == run.id).order_by(PayoutItem.id)
    ).all()
    return made, list(items)


def earnings_of(item: PayoutItem) -> list[int]:
    return sorted(
        db.session.scalars(select(Earning.amount_minor).where(Earning.payout_item_id == item.id))
    )


def test_each_payee_is_paid_once_per_source_charge_with_keys_from_the_items(app):
    group_a, group_b = checkout_paid_by("ch_a"), checkout_paid_by("ch_b")
    ana = payee(earnings=[("ch_a", 1_000), ("ch_b", 400), ("ch_a", 500)])
    bruno = payee(earnings=[("ch_b", 700), ("ch_unknown", 300)])
    made, items = plan()
    assert made == 4 == len(items)
    assert [(i.payee_id, i.source_charge_id, i.amount_minor) for i in items] == [
        (ana, "ch_a", 1_500),
        (ana, "ch_b", 400),
        (bruno, "ch_b", 700),
        (bruno, "ch_unknown", 300),
    ]
    assert [i.transfer_group for i in items] == [group_a, group_b, group_b, None]
    assert [i.idempotency_key for i in items] == [f"payout-item-{i.id}" for i in items]
    assert all(i.status == PayoutItemStatus.PENDING and i.currency == "eur" for i in items)
    assert [earnings_of(i) for i in items] == [[500, 1_000], [400], [700], [300]]
    # Planned once: a second run finds nothing left to plan.
    assert plan() == (0, [])


def test_the_ledger_balance_caps_what_is_paid_earning_by_earning(app):
    # A reversal that could not be recovered left Ana's balance 750 under her earnings'
    # 1,200: the first charge's 500 fits, its 300 would not; the next charge's 400 neither.
    ana = payee(earnings=[("ch_a", 500), ("ch_a", 300), ("ch_b", 400)], balance=750)
    # Bruno's 250 fits after his 600 (an earning later in the group still may).
    bruno = payee(earnings=[("ch_c", 600), ("ch_c", 900), ("ch_c", 250)], balance=900)
    _made, items = plan()
    assert [(i.payee_id, i.source_charge_id, i.amount_minor) for i in items] == [
        (ana, "ch_a", 500),
        (bruno, "ch_c", 850),
    ]
    assert [earnings_of(i) for i in items] == [[500], [250, 600]]


def test_nothing_under_the_minimum_and_only_what_is_payable(app):
    payee(earnings=[("ch_a", 60), ("ch_b", 30)])  # 90 in all: under the minimum of 100
    payee(earnings=[("ch_a", 5_000)], balance=99)  # the balance is under the minimum
    payee(earnings=[("ch_a", 5_000)], balance=-500)  # owes more than it earned
    payee(earnings=[("ch_a", 5_000)], status=PayeeStatus.PENDING)
    payee(earnings=[("ch_a", 5_000)], account=False)
    payee(earnings=[("ch_a", 5_000)], frozen=True)
    payee(earnings=[("ch_a", 5_000)], state=EarningState.PENDING)
    payee(earnings=[("ch_a", 5_000)], refunded_minor=5_000, balance=5_000)
    payee(earnings=[(None, 5_000)])  # no source charge (yet): nothing to transfer from
    # Over the minimum in all though each item is not: both are paid.
    eve = payee(earnings=[("ch_a", 60), ("ch_b", 50)])
    _made, items = plan()
    assert [(i.payee_id, i.amount_minor) for i in items] == [(eve, 60), (eve, 50)]


def test_earnings_already_in_an_item_are_not_planned_again(app):
    payee(earnings=[("ch_a", 1_000)])
    _made, first = plan()
    assert len(first) == 1
    later = payee(earnings=[("ch_a", 2_000)])
    _made, second = plan()
    assert [(i.payee_id, i.amount_minor) for i in second] == [(later, 2_000)]


def _statements_to_plan(payees: int) -> list[str]:
    for n in range(payees):
        checkout_paid_by(f"ch_{n}_one")
        payee(earnings=[(f"ch_{n}_one", 1_000), (f"ch_{n}_two", 500), (f"ch_{n}_one", 200)])
    db.session.commit()
    run = PayoutRun()
    db.session.add(run)
    db.session.flush()
    with count_queries() as sent:
        made = payout_run.plan(run)
    assert made == 2 * payees
    db.session.rollback()
    return sent


def test_planning_takes_the_same_statements_for_few_payees_or_many(app):
    few = _statements_to_plan(2)
    db.session.execute(Earning.__table__.delete())
    db.session.commit()
    many = _statements_to_plan(40)
    assert len(many) == len(few), "\n".join(many)
    assert len(few) <= 8, "\n".join(few)
