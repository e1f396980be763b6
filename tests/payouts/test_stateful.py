"""Random sequences of sales, deliveries, releases, payout runs, refunds, disputes and Stripe
faults, against the emulator; after every step the money invariants must hold:

* every journal entry balances, and the ledger's Stripe balance equals the emulator's;
* each payee's paid total equals the transfers minus reversals the emulator holds for them;
* no transfer exists twice (idempotency keys hold through retries and lost responses).
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders as order_services
from marketplace.order_models import Checkout, Order, OrderStatus, RefundStatus
from payouts import earnings, payout_run
from payouts.runtime import deliver_webhooks
from payouts.splits import Role
from payouts.terms import Term, add_party_provider
from tests.conftest import _empty_tables
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.shopping import ADDRESS
from tests.payouts.money import check_invariants, onboard


def _fresh_payments(app: Any, emulator: Any) -> None:
    """Empty the database and the emulator, and register our webhook endpoint again."""
    from payouts.runtime import WEBHOOK_PATH, _ensure_webhook_endpoint, gateway

    db.session.remove()
    _empty_tables()
    emulator.reset()
    gw = gateway(app)
    gw.webhook_secret = _ensure_webhook_endpoint(
        app, gw.client, app.config["BASE_URL"] + WEBHOOK_PATH
    )


class Money(RuleBasedStateMachine):
    app: Any = None
    emulator: Any = None

    @initialize()
    def set_up(self) -> None:
        _fresh_payments(self.app, self.emulator)
        self.days = 0
        self.buyer = UserFactory()
        self.curator = UserFactory()
        self.author = UserFactory()
        shops = [
            ShopFactory(shipping_flat_minor=490, curator_commission_bps=1000),
            ShopFactory(shipping_flat_minor=0),
        ]
        self.products = [
            ProductFactory(shop=shop, price_minor=price, stock=500)
            for shop in shops
            for price in (1999, 4550)
        ]
        # Some products carry a co-creator royalty, and some sales a curator's commission.
        self.royalty_products = {self.products[1].id, self.products[2].id}
        self.curated: set[int] = set()
        onboard(shops[0].owner, self.emulator)
        onboard(self.curator, self.emulator)
        # One sale taken all the way to a payout, so refunds and disputes meet paid transfers.
        self.sale([0, 2], curated=True, bypass=True)
        for order in self._orders(OrderStatus.PAID):
            self._deliver(order)
        self.release(10)
        self.payout(None, 1)

    def _party_provider(self, line: Any) -> list[Term]:
        from payouts import payees

        terms = []
        if line.product_id in self.royalty_products:
            terms.append(Term(Role.CO_CREATOR, payees.for_user(self.author.id).id, 1000, "idea"))
        if line.product_id in self.curated:
            terms.append(
                Term(
                    Role.CURATOR,
                    payees.for_user(self.curator.id).id,
                    line.shop.curator_commission_bps,
                    "pick",
                )
            )
        return terms

    @rule(
        picks=st.lists(st.integers(0, 3), min_size=1, max_size=3, unique=True),
        curated=st.booleans(),
        bypass=st.booleans(),
    )
    def sale(self, picks: list[int], curated: bool, bypass: bool) -> None:
        chosen = [self.products[i] for i in picks]
        self.curated = {p.id for p in chosen} if curated else set()
        with unit_of_work():
            for product in chosen:
                carts.add(self.buyer, product.variants[0].id, 1)
        with unit_of_work():
            checkout_id = checkouts.start(self.buyer, ADDRESS).checkout.id
        with unit_of_work():
            checkout = db.session.get(Checkout, checkout_id)
            checkouts.open_payment(
                checkout, success_url="http://kindred.test/ok", cancel_url="http://kindred.test/no"
            )
            session_id = checkout.stripe_session_id
        self.emulator.pay_checkout_session(
            session_id, "4000000000000077" if bypass else "4242424242424242"
        )
        deliver_webhooks()
        db.session.commit()

    def _orders(self, *statuses: str) -> list[Order]:
        db.session.commit()
        return list(
            db.session.scalars(select(Order).where(Order.status.in_(statuses)).order_by(Order.id))
        )

    @precondition(lambda self: bool(self._orders(OrderStatus.PAID)))
    @rule(data=st.data())
    def deliver(self, data: st.DataObject) -> None:
        self._deliver(data.draw(st.sampled_from(self._orders(OrderStatus.PAID))))

    def _deliver(self, order: Order) -> None:
        with unit_of_work():
            order_services.mark_shipped(order.shop.owner, order.id, "DHL", "")
        with unit_of_work():
            order_services.confirm_delivery(self.buyer, order.id)
        deliver_webhooks()

    @rule(days=st.integers(4, 10))
    def release(self, days: int) -> None:
        self.days += days
        with time_machine.travel(utcnow() + timedelta(days=self.days), tick=False), unit_of_work():
            earnings.release_due()

    @rule(
        fault=st.sampled_from(
            [
                None,
                ("error", "before"),
                ("timeout", "after"),
                ("disconnect", "after"),
                ("disconnect", "before"),
            ]
        ),
        failures=st.integers(1, 4),
    )
    def payout(self, fault: tuple[str, str] | None, failures: int) -> None:
        if fault is not None:
            self.emulator.fail_next("/v1/transfers", count=failures, kind=fault[0], when=fault[1])
        with unit_of_work():
            payout_run.run()
        with unit_of_work():
            payout_run.reverse_pending()
        self.emulator.faults.clear()
        deliver_webhooks()

    @precondition(
        lambda self: bool(
            self._orders(OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        )
    )
    @rule(data=st.data(), share=st.integers(1, 100))
    def partial_refund(self, data: st.DataObject, share: int) -> None:
        order = data.draw(
            st.sampled_from(
                self._orders(OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
            )
        )
        line = data.draw(st.sampled_from(order.lines))
        pending = sum(r.amount_minor for r in order.refunds if r.status == RefundStatus.PENDING)
        left = line.refundable_minor - pending
        if left <= 0:
            return
        amount = max(1, left * share // 100)
        with unit_of_work():
            refund = order_services.request_refund(
                order.shop.owner,
                db.session.get(Order, order.id),
                order_services.RefundRequest(lines={line.id: amount}),
            )
            refund_id = refund.id
        with unit_of_work():
            from marketplace.order_models import Refund

            order_services.send_refund(db.session.get(Refund, refund_id))
        with unit_of_work():
            payout_run.reverse_pending()
        deliver_webhooks()

    @precondition(
        lambda self: bool(
            self._orders(OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
        )
    )
    @rule(data=st.data(), won=st.booleans())
    def dispute(self, data: st.DataObject, won: bool) -> None:
        order = data.draw(
            st.sampled_from(
                self._orders(OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED)
            )
        )
        charge_id = order.stripe_charge_id
        db.session.commit()
        if not charge_id or self.emulator.get(charge_id).get("disputed"):
            return
        created = self.emulator.create_dispute(charge_id)
        deliver_webhooks()
        self.emulator.close_dispute(created["id"], won=won)
        deliver_webhooks()
        with unit_of_work():
            payout_run.reverse_pending()

    @invariant()
    def money_adds_up(self) -> None:
        if getattr(self, "buyer", None) is not None:
            check_invariants(self.emulator)


@pytest.fixture
def app_config(app_config):
    # A low minimum payout, so curators' and co-creators' small shares get paid too.
    app_config["MIN_PAYOUT_MINOR"] = 100
    return app_config


def test_money_stays_exact_through_random_histories(app, emulator):
    add_party_provider(
        app, lambda line: Money.current._party_provider(line) if Money.current else []
    )

    class Machine(Money):
        current: Any = None

        def __init__(self) -> None:
            super().__init__()
            Money.current = self

    Money.app, Money.emulator = app, emulator
    Money.current = None
    run_state_machine_as_test(
        Machine,
        settings=settings(
            # MONEY_EXAMPLES=200 for a longer search than CI's.
            max_examples=int(os.environ.get("MONEY_EXAMPLES", "10")),
            stateful_step_count=18,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
