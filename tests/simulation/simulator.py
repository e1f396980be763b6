"""One seed, one history: the world, the steps it may take, and the run that checks them.

The world is three shops in one marketplace: one whose sales a curator's picks bring and
whose first product pays a co-creator a royalty, one whose seller may not have set up
payouts yet, and one with a collective pool (named members). Buyers fill carts across the
shops and pay once on the emulator. Everything after that is drawn from the seed: see
`Simulation.STEPS`. Every Stripe webhook is held by the `Switchboard` until a step lets it
through; every call to Stripe can be faulted, killed before it is sent, or have something
happen while it is in flight (`CallHooks`).

On PostgreSQL the steps that are about things happening at once (several refunds of one
order, two payout runs) run from threads, released together; on SQLite, whose writers are
serial, the same steps interleave deterministically instead: the second refund or run
starts while the first one's Stripe call is in flight.
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import select

from app.extensions import db, limiter
from app.models import utcnow
from app.rules import RuleViolation
from app.uow import unit_of_work
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders as order_services
from marketplace.order_models import Checkout, Order, OrderStatus, RefundStatus
from marketplace.payments import PaymentError
from payouts import cocreation, earnings, payout_run, webhooks
from payouts.models import PayoutItem, PayoutItemStatus, StripeEvent, TransferReversal
from payouts.runtime import gateway
from payouts.splits import Role
from payouts.terms import Term, add_party_provider
from tests.concurrency import at_once
from tests.conftest import is_postgres, login
from tests.factories import MemberFactory, ProductFactory, ShopFactory, UserFactory
from tests.marketplace.shopping import ADDRESS
from tests.payouts.money import onboard
from tests.simulation import invariants
from tests.simulation.invariants import Broken
from tests.simulation.stripe_side import (
    CallHooks,
    Held,
    Hook,
    ProcessKilled,
    Switchboard,
    TransactionAcrossCall,
    seeded_ids,
)

# Late in a month, so a few simulated days cross into the next and the pool has a month to
# distribute. Fixed: the same seed is the same history.
START = datetime(2031, 5, 29, 8, 0, tzinfo=UTC)
PRICES = (999, 1234, 1999, 2800, 4550, 6290, 11000)
VISA, AVAILABLE_AT_ONCE = "4242424242424242", "4000000000000077"
FAULT_KINDS = ("error", "rate_limit", "timeout", "disconnect")
LIVE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)

# What the simulation's app needs beyond the suite's defaults: a short hold, so earnings are
# released within a few simulated days, and a low minimum payout, so small shares move too.
CONFIG = {"EARNINGS_HOLD_DAYS": 1, "MIN_PAYOUT_MINOR": 100}


@dataclass
class Outcome:
    seed: int
    steps: int
    postgres: bool
    broken: Broken | None = None
    at_step: int = 0
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.broken is None

    noted: dict[str, str] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()

    def replay_command(self) -> str:
        prefix = "TEST_DATABASE_URL=… " if self.postgres else ""
        ignore = "".join(f" --ignore '{part}'" for part in self.ignore)
        return (
            f"{prefix}.venv/bin/python -m tests.simulation --seed {self.seed} "
            f"--steps {self.steps}{ignore}"
        )

    def report(self, tail: int = 30) -> str:
        if self.broken is None:
            return f"seed {self.seed}: ok ({self.steps} steps, {self.seconds:.1f}s)"
        lines = [
            f"seed {self.seed} FAILED at step {self.at_step}: {self.broken.name}",
            f"  {self.broken.detail}",
            f"  the last {min(tail, len(self.log))} of {len(self.log)} steps:",
            *(f"    {entry}" for entry in self.log[-tail:]),
            f"  replay: {self.replay_command()}",
        ]
        return "\n".join(lines)


class _Providers:
    """The extra parties of a line (a curator's commission, a co-creator's royalty), from
    the world running now; registered once per app."""

    world: Simulation | None = None

    @classmethod
    def install(cls, app: Flask) -> None:
        if not app.extensions.get("kindred_simulation_providers"):
            add_party_provider(app, lambda line: cls.world._terms(line) if cls.world else [])
            app.extensions["kindred_simulation_providers"] = True


def fresh(app: Flask, emulator: Any) -> None:
    """Empty the database and the emulator, register our webhook endpoint again."""
    from tests.payouts.test_stateful import _fresh_payments

    _fresh_payments(app, emulator)
    limiter.reset()
    for factory in (UserFactory, ShopFactory, ProductFactory):
        factory.reset_sequence(0)


class Simulation:
    def __init__(
        self,
        app: Flask,
        emulator: Any,
        seed: int,
        steps: int = 40,
        ignore: tuple[str, ...] = (),
    ) -> None:
        self.app, self.emulator, self.seed, self.steps = app, emulator, seed, steps
        # Invariants (by part of their name) noted in the log instead of ending the run:
        # to look past a known finding for the next one.
        self.ignore = ignore
        self.noted: dict[str, str] = {}
        self.rng = random.Random(seed)
        self.postgres = is_postgres(app)
        self.log: list[str] = []
        self.hooks = CallHooks(sqlite=not self.postgres)
        self.switchboard = Switchboard(
            emulator,
            lambda: gateway(app).webhook_secret,
            frozenset(webhooks.handled_types(app)),
        )
        self.curated: set[int] = set()
        self.royalty_products: set[int] = set()
        self.step_no = 0
        self.traveller: Any = None

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        outcome = Outcome(
            self.seed, self.steps, self.postgres, log=self.log, noted=self.noted, ignore=self.ignore
        )
        started = time.perf_counter()
        _Providers.install(self.app)
        _Providers.world = self
        try:
            with (
                time_machine.travel(START, tick=False) as traveller,
                seeded_ids(self.seed),
                self.hooks.installed(),
            ):
                self.traveller = traveller
                fresh(self.app, self.emulator)
                self.switchboard.install()
                try:
                    self._set_up()
                    self.day = utcnow().date()
                    for step in range(1, self.steps + 1):
                        self.step_no = step
                        self._step()
                    self.step_no += 1
                    self._say("the end: quiet down and reconcile")
                    self._quiesce()
                finally:
                    self.switchboard.uninstall()
                    self.emulator.faults.clear()
                    self.hooks.clear()
        except Broken as broken:
            outcome.broken, outcome.at_step = broken, self.step_no
        finally:
            _Providers.world = None
            db.session.rollback()
            outcome.seconds = time.perf_counter() - started
        return outcome

    def _say(self, text: str) -> None:
        self.log.append(f"{self.step_no:>3} {text}")

    def _step(self) -> None:
        names = [name for name, _weight in self.STEPS]
        weights = [weight for _name, weight in self.STEPS]
        name = self.rng.choices(names, weights)[0]
        try:
            getattr(self, name)()
        except ProcessKilled as killed:
            self._say(f"  killed: {killed}")
        except (RuleViolation, PaymentError) as refused:
            self._say(f"  refused: {refused}")
        except Broken as broken:
            self._broken(broken)
        except Exception as error:
            self._broken(_crash(error))
        finally:
            self.emulator.faults.clear()
            self.hooks.clear()
            db.session.rollback()
        self._hook_errors()
        self._webhooks_after_step()
        self._check(invariants.always(self.emulator))
        if utcnow().date() != self.day:
            self._say(f"a new day ({utcnow():%Y-%m-%d}): quiet down and reconcile")
            self._quiesce()
            self.day = utcnow().date()

    def _broken(self, broken: Broken) -> None:
        if not any(part in broken.name for part in self.ignore):
            raise broken
        if broken.name not in self.noted:
            self.noted[broken.name] = broken.detail
            self._say(f"  noted, going on: {broken.name}: {broken.detail[:200]}")

    def _check(self, checks: list[Callable[[], None]]) -> None:
        for check in checks:
            try:
                check()
            except Broken as broken:
                self._broken(broken)
            finally:
                db.session.commit()

    def _hook_errors(self) -> None:
        errors, self.hooks.errors[:] = list(self.hooks.errors), []
        for error in errors:
            if isinstance(error, TransactionAcrossCall):
                self._broken(
                    Broken(
                        "no transaction held across a Stripe call",
                        f"{error} was called with the caller's transaction open",
                    )
                )
            elif isinstance(error, Broken):
                self._broken(error)
            elif not isinstance(error, ProcessKilled | RuleViolation | PaymentError):
                self._broken(_crash(error, "while a call was in flight"))

    # --- the world --------------------------------------------------------------------------

    def _set_up(self) -> None:
        from social import ideas

        r = self.rng
        self.buyers = [UserFactory(), UserFactory()]
        self.curator, self.author = UserFactory(), UserFactory()
        self.members = [MemberFactory(), MemberFactory()]
        self.shops = [
            ShopFactory(shipping_flat_minor=490, curator_commission_bps=1000),
            ShopFactory(shipping_flat_minor=0, curator_commission_bps=500),
            ShopFactory(shipping_flat_minor=350, curator_commission_bps=800),
        ]
        pooled = self.shops[2]
        with unit_of_work():
            ideas.update_terms(pooled.owner, pooled, ideas.TermsChange(pool_bps=500))
            ideas.name_member(pooled.owner, pooled, self.members[0], 2)
            ideas.name_member(pooled.owner, pooled, self.members[1], 1)
        self.products = [
            ProductFactory(shop=shop, price_minor=r.choice(PRICES), stock=100_000)
            for shop in self.shops
            for _ in range(2)
        ]
        self.royalty_products = {self.products[0].id, self.products[3].id}
        for person in (self.shops[0].owner, self.shops[2].owner, self.curator, self.author):
            onboard(person, self.emulator)
        onboard(self.members[0], self.emulator)
        self.onboarded_b = r.random() < 0.5
        if self.onboarded_b:
            onboard(self.shops[1].owner, self.emulator)
        self.clients = {shop.id: self._client(shop.owner) for shop in self.shops}
        self.switchboard.deliver_all()
        self.hooks.errors.clear()
        self._say(
            "world: shops "
            + ", ".join(f"{s.id} (shipping {s.shipping_flat_minor})" for s in self.shops)
            + f"; products {[(p.id, p.shop_id, p.price_minor) for p in self.products]}"
            + f"; royalty on {sorted(self.royalty_products)}; pool at shop {pooled.id}"
            + f"; shop {self.shops[1].id} {'' if self.onboarded_b else 'not '}onboarded"
        )

    def _client(self, user: Any) -> Any:
        client = self.app.test_client()
        login(client, user)
        return client

    def _terms(self, line: Any) -> list[Term]:
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

    def _orders(self, *statuses: str) -> list[Order]:
        db.session.commit()
        query = select(Order).order_by(Order.id)
        if statuses:
            query = query.where(Order.status.in_(statuses))
        return list(db.session.scalars(query))

    def _left(self, order: Order) -> dict[int, int]:
        """What each line (and the shipping, key 0) has left to refund, pending counted."""
        request = order_services.full_refund_request(order, restock=False, reason="")
        return {**request.lines, 0: request.shipping_minor}

    def _refundable(self) -> list[Order]:
        return [
            o
            for o in self._orders(*LIVE)
            if o.stripe_payment_intent_id and sum(self._left(o).values()) > 0
        ]

    # --- trouble with Stripe ----------------------------------------------------------------

    def _trouble(self, path: str, *, during: list[tuple[str, Callable[[], None]]] = ()) -> str:
        """Maybe make the next call to `path` go wrong, or something happen while it is in
        flight; returns what was arranged, for the log."""
        r = self.rng
        roll = r.random()
        if roll < 0.45:
            return ""
        if roll < 0.65:
            kind, when, count = (
                r.choice(FAULT_KINDS),
                r.choice(("before", "after")),
                r.randint(1, 4),
            )
            self.emulator.fail_next(path, count=count, kind=kind, when=when)
            return f" [fault {kind}/{when} x{count}]"
        if roll < 0.8:
            # The answer is lost after Stripe acted (the SDK's two retries too), and the
            # webhooks it caused arrive while we still wait.
            self.emulator.fail_next(path, count=3, kind="timeout", when="after")
            self.hooks.arm(Hook("POST", path, "during", self._in_flight(self._webhooks_now)))
            return " [answer lost; its webhooks arrive meanwhile]"
        if roll < 0.92 or not during:
            self.hooks.arm(Hook("POST", path, "during", self._in_flight(self._webhooks_now)))
            return " [its webhooks arrive while it is in flight]"
        if roll < 0.96:
            label, action = r.choice(during)
            self.hooks.arm(Hook("POST", path, "during", self._in_flight(action)))
            return f" [{label} while it is in flight]"
        self.hooks.arm(Hook("POST", path, "kill"))
        return " [the process dies before the call]"

    def _in_flight(self, action: Callable[[], None]) -> Callable[[], None]:
        """Run `action` as another process would: its own thread and app context, while the
        caller waits for Stripe's answer."""

        def run() -> None:
            errors: list[BaseException] = []

            def body() -> None:
                try:
                    with self.app.app_context():
                        action()
                        db.session.remove()
                except BaseException as error:
                    errors.append(error)

            thread = threading.Thread(target=body)
            thread.start()
            thread.join()
            if errors:
                raise errors[0]

        return run

    def _webhooks_now(self) -> None:
        self.switchboard.collect()
        held = list(self.switchboard.held)
        self.switchboard.take(held)
        for item in held:
            self.switchboard.deliver(item)

    # --- webhooks between steps ---------------------------------------------------------------

    def _webhooks_after_step(self) -> None:
        self.switchboard.collect()
        roll = self.rng.random()
        if roll < 0.55:
            self._deliver(list(self.switchboard.held), "in order")
        elif roll < 0.8:
            self.webhooks_shuffled()
        # else: all held back for now

    def _deliver(self, chosen: list[Held], how: str) -> None:
        if not chosen:
            return
        self.switchboard.take(chosen)
        twice = {h.seq for h in chosen if self.rng.random() < 0.1}
        for held in chosen:
            self.switchboard.deliver(held)
            if held.seq in twice:
                self.switchboard.deliver(held)
        self._say(
            f"  webhooks {how}: "
            + ", ".join(f"{h.event_type}{' twice' if h.seq in twice else ''}" for h in chosen)
        )

    def webhooks_shuffled(self) -> None:
        self.switchboard.collect()
        held = list(self.switchboard.held)
        if not held:
            return
        chosen = [h for h in held if self.rng.random() < 0.7] or held[:1]
        self.rng.shuffle(chosen)
        self._deliver(chosen, f"reordered ({len(held) - len(chosen)} still held)")

    # --- the steps --------------------------------------------------------------------------

    def checkout(self) -> None:
        r = self.rng
        buyer = r.choice(self.buyers)
        chosen = r.sample(self.products, r.randint(1, 3))
        self.curated = {p.id for p in chosen if r.random() < 0.5}
        with unit_of_work():
            for product in chosen:
                carts.add(buyer, product.variants[0].id, r.randint(1, 2))
        with unit_of_work():
            checkout_id = checkouts.start(buyer, ADDRESS).checkout.id
        with unit_of_work():
            checkout = db.session.get(Checkout, checkout_id)
            assert checkout is not None
            checkouts.open_payment(
                checkout, success_url="http://kindred.test/ok", cancel_url="http://kindred.test/no"
            )
            session_id, total = checkout.stripe_session_id, checkout.total_minor
        card = VISA if r.random() < 0.5 else AVAILABLE_AT_ONCE
        paid = r.random() < 0.92
        self._say(
            f"checkout {checkout_id} of {[p.id for p in chosen]} (curated {sorted(self.curated)})"
            f" {total}: {'paid' if paid else 'left unpaid'}"
        )
        if paid:
            self.emulator.pay_checkout_session(session_id, card)

    def ship(self) -> None:
        paid = self._orders(OrderStatus.PAID)
        if not paid:
            return
        order = self.rng.choice(paid)
        with unit_of_work():
            order_services.mark_shipped(order.shop.owner, order.id, "DHL", "")
        delivered = self.rng.random() < 0.7
        if delivered:
            with unit_of_work():
                order_services.confirm_delivery(order.buyer, order.id)
        self._say(f"ship order {order.id}{' and deliver it' if delivered else ''}")

    def _refund_body(self, order: Order, *, full: bool) -> tuple[dict[int, int], int]:
        r = self.rng
        left = self._left(order)
        lines: dict[int, int] = {}
        for line_id, room in left.items():
            if line_id == 0 or room <= 0:
                continue
            if full:
                lines[line_id] = room
            elif r.random() < 0.6:
                lines[line_id] = r.randint(1, room) + (1 if r.random() < 0.05 else 0)
        shipping = left[0] if full else (r.randint(0, left[0]) if r.random() < 0.3 else 0)
        if not lines and not shipping:
            line_id = next((k for k, v in left.items() if k and v > 0), 0)
            if line_id:
                lines[line_id] = 1
            else:
                shipping = left[0]
        return lines, shipping

    def _refund_request(
        self,
        order: Order,
        channel: str,
        lines: dict[int, int],
        shipping: int,
        client: Any = None,
    ) -> Callable[[], Any]:
        """The request, ready to send from any thread (it holds ids, not the session's rows)."""
        order_id, client = order.id, client or self.clients[order.shop_id]
        if channel == "page":
            data = {f"line-{line_id}": _euros(amount) for line_id, amount in lines.items()}
            data.update(shipping=_euros(shipping) if shipping else "", reason="simulated")
            return lambda: _expect(
                client.post_form(f"/account/shop/orders/{order_id}/refund", data), (302, 422)
            )
        body = {
            "lines": [{"order_line_id": k, "amount_minor": v} for k, v in lines.items()],
            "shipping_minor": shipping,
            "reason": "simulated",
        }
        return lambda: _expect(
            client.api("POST", f"/api/v1/shop/orders/{order_id}/refunds", json=body),
            (201, 409, 422),
        )

    def refund(self) -> None:
        candidates = self._refundable()
        if not candidates:
            return
        r = self.rng
        order = r.choice(candidates)
        channel = r.choice(("page", "api"))
        lines, shipping = self._refund_body(order, full=r.random() < 0.3)
        send = self._refund_request(order, channel, lines, shipping)
        other = self._refundable_after(order)
        arranged = self._trouble("/v1/refunds", during=other)
        self._say(
            f"refund order {order.id} by {channel}: lines {lines} shipping {shipping}{arranged}"
        )
        send()

    def _refundable_after(self, order: Order) -> list[tuple[str, Callable[[], None]]]:
        """What may happen while a refund of `order` is in flight: another refund of it."""
        channel = self.rng.choice(("page", "api"))
        order_id = order.id

        def again() -> None:
            # In another thread: only ids cross over, never the simulation's session's rows.
            fresh_order = db.session.get(Order, order_id)
            assert fresh_order is not None
            if sum(self._left(fresh_order).values()) <= 0:
                return
            lines, shipping = self._refund_body(fresh_order, full=False)
            client = self.clients[fresh_order.shop_id]
            send = self._refund_request(fresh_order, channel, lines, shipping, client)
            db.session.commit()
            send()

        return [(f"another refund of order {order_id} by {channel}", again)]

    def cancel(self) -> None:
        paid = [o for o in self._orders(OrderStatus.PAID) if o.stripe_payment_intent_id]
        if not paid:
            return
        order = self.rng.choice(paid)
        channel = self.rng.choice(("page", "api"))
        client = self.clients[order.shop_id]
        arranged = self._trouble("/v1/refunds", during=self._refundable_after(order))
        self._say(f"cancel order {order.id} by {channel}{arranged}")
        if channel == "page":
            _expect(
                client.post_form(f"/account/shop/orders/{order.id}/cancel", {"reason": "sim"}),
                (302,),
            )
        else:
            _expect(
                client.api(
                    "POST", f"/api/v1/shop/orders/{order.id}/cancel", json={"reason": "sim"}
                ),
                # 422: nothing is left to refund (refunds took it all), so nothing to cancel.
                (200, 409, 422),
            )

    def refunds_at_once(self) -> None:
        """Several refunds of one order at the same moment (threads on PostgreSQL)."""
        candidates = self._refundable()
        if not candidates:
            return
        r = self.rng
        order = r.choice(candidates)
        count = r.randint(2, 4)
        plans = []
        for _ in range(count):
            lines, shipping = self._refund_body(order, full=r.random() < 0.3)
            plans.append((r.choice(("page", "api")), lines, shipping))
        self._say(f"{count} refunds of order {order.id} at once: {plans}")
        if not self.postgres:
            first, *rest = plans
            for channel, lines, shipping in rest:
                action = self._refund_request(order, channel, lines, shipping)
                self.hooks.arm(Hook("POST", "/v1/refunds", "during", self._in_flight(action)))
            self._refund_request(order, *first)()
            return
        # Each thread is its own browser (or API client), logged in as the seller.
        clients = [self._client(order.shop.owner) for _ in plans]
        jobs = [
            self._refund_request(order, channel, lines, shipping, client)
            for client, (channel, lines, shipping) in zip(clients, plans, strict=True)
        ]
        at_once(self.app, jobs, in_unit_of_work=False)

    def dispute(self) -> None:
        charges = [
            c
            for c in self.emulator.objects("charge")
            if c.get("status") == "succeeded" and not c.get("disputed")
        ]
        if not charges:
            return
        charge = self.rng.choice(sorted(charges, key=lambda c: c["created"]))
        self._say(f"dispute opened on {charge['id']} ({charge['amount']})")
        self.emulator.create_dispute(charge["id"])

    def close_dispute(self) -> None:
        open_ = [
            d
            for d in self.emulator.objects("dispute")
            if d.get("status") in ("needs_response", "under_review", "warning_needs_response")
        ]
        if not open_:
            return
        dispute = self.rng.choice(sorted(open_, key=lambda d: d["created"]))
        won = self.rng.random() < 0.5
        self._say(f"dispute {dispute['id']} {'won' if won else 'lost'}")
        self.emulator.close_dispute(dispute["id"], won=won)

    def release(self) -> None:
        if self.rng.random() < 0.5:
            self._say("flask payouts release")
            self._cli("payouts", "release")
        else:
            with unit_of_work():
                released = earnings.release_due()
            self._say(f"release due earnings: {released}")

    def payout(self) -> None:
        arranged = self._trouble(
            "/v1/transfers",
            during=[("another payout run", self._payout_run), ("a reversal run", self._reverse)],
        )
        self._say(f"payout run{arranged}")
        self._payout_run()

    def _payout_run(self) -> None:
        with unit_of_work():
            payout_run.run()

    def _reverse(self) -> None:
        with unit_of_work():
            payout_run.reverse_pending()

    def payouts_at_once(self) -> None:
        self._say("two payout runs at once")
        if not self.postgres:
            self.hooks.arm(
                Hook("POST", "/v1/transfers", "during", self._in_flight(self._payout_run))
            )
            self._payout_run()
            return
        at_once(self.app, [payout_run.run, payout_run.run])

    def reverse(self) -> None:
        arranged = self._trouble("/v1/transfers/")
        self._say(f"reverse transfers of refunded earnings{arranged}")
        self._reverse()

    def sweep(self) -> None:
        arranged = self._trouble("/v1/refunds")
        self._say(f"flask orders sweep{arranged}")
        self._cli("orders", "sweep")

    def pool(self) -> None:
        month = cocreation.previous_month() if self.rng.random() < 0.7 else f"{utcnow():%Y-%m}"
        self._say(f"flask pool distribute --month {month}")
        self._cli("pool", "distribute", "--month", month)

    def retry_webhooks(self) -> None:
        self._say("flask payouts webhooks-retry")
        self._cli("payouts", "webhooks-retry")

    def advance(self) -> None:
        minutes = self.rng.choice((2, 10, 45, 180, 600, 1440))
        self._say(f"{minutes} minutes pass")
        self._pass(minutes)

    def onboard_late(self) -> None:
        if self.onboarded_b:
            return
        self.onboarded_b = True
        self._say(f"the seller of shop {self.shops[1].id} sets up payouts")
        onboard(self.shops[1].owner, self.emulator)

    STEPS: tuple[tuple[str, int], ...] = (
        ("checkout", 6),
        ("ship", 5),
        ("refund", 8),
        ("cancel", 3),
        ("refunds_at_once", 3),
        ("dispute", 1),
        ("close_dispute", 2),
        ("release", 3),
        ("payout", 4),
        ("payouts_at_once", 2),
        ("reverse", 1),
        ("sweep", 2),
        ("pool", 1),
        ("retry_webhooks", 1),
        ("webhooks_shuffled", 3),
        ("advance", 5),
        ("onboard_late", 1),
    )

    # --- time and quiet -------------------------------------------------------------------------

    def _pass(self, minutes: int) -> None:
        self.traveller.shift(timedelta(minutes=minutes))
        self.emulator.settle()

    def _cli(self, *args: str) -> None:
        db.session.commit()
        result = self.app.test_cli_runner().invoke(args=list(args))
        db.session.rollback()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            error = result.exception
            if isinstance(error, ProcessKilled | RuleViolation | PaymentError):
                raise error
            raise _crash(error, f"in flask {' '.join(args)}", result.exc_info)

    def _busy(self) -> list[str]:
        db.session.commit()
        busy = []
        if self.switchboard.held:
            busy.append(f"{len(self.switchboard.held)} webhook(s) held")
        if db.session.scalars(
            select(order_services.Refund.id).where(
                order_services.Refund.status == RefundStatus.PENDING
            )
        ).first():
            busy.append("refunds pending")
        if db.session.scalars(
            select(PayoutItem.id).where(
                PayoutItem.status.not_in((PayoutItemStatus.PAID, PayoutItemStatus.FAILED))
            )
        ).first():
            busy.append("payout items pending")
        if db.session.scalars(
            select(TransferReversal.id).where(TransferReversal.status == "pending")
        ).first():
            busy.append("reversals pending")
        if db.session.scalars(
            select(StripeEvent.id).where(
                StripeEvent.processed_at.is_(None), StripeEvent.next_attempt_at.is_not(None)
            )
        ).first():
            busy.append("webhook events to retry")
        db.session.commit()
        return busy

    def _quiesce(self) -> None:
        """Let every held webhook through, run the sweeps and retries until nothing is left
        to do, then check what must hold once the system is quiet."""
        from marketplace.commerce import retry_refunds, sweep_checkouts

        self.emulator.faults.clear()
        self.hooks.clear()
        busy: list[str] = []
        for _round in range(12):
            self._pass(31)
            try:
                self.switchboard.deliver_all()
                with unit_of_work():
                    sweep_checkouts()
                with unit_of_work():
                    retry_refunds()
                with unit_of_work():
                    webhooks.retry_due_events()
                with unit_of_work():
                    payout_run.reverse_pending()
                if self._busy():
                    with unit_of_work():
                        payout_run.run()
                self.switchboard.deliver_all()
            except Broken as broken:
                self._broken(broken)
            except Exception as error:
                self._broken(_crash(error, "while quieting down (sweeps, retries)"))
            self._hook_errors()
            busy = self._busy()
            if not busy:
                break
        self._check(invariants.quiet(self.emulator))
        if busy:
            self._broken(Broken("nothing left pending once quiet", ", ".join(busy)))


def _euros(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _expect(response: Any, statuses: tuple[int, ...]) -> Any:
    if response.status_code not in statuses:
        raise Broken(
            "pages and API answer as documented",
            f"{response.request.method} {response.request.path} answered "
            f"{response.status_code}: {response.get_data(as_text=True)[:300]}",
        )
    return response


def _crash(error: BaseException, where: str = "", exc_info: Any = None) -> Broken:
    frames = traceback.extract_tb(exc_info[2] if exc_info else error.__traceback__)
    ours = [f for f in frames if "/tests/" not in f.filename and "site-packages" not in f.filename]
    at = f" at {ours[-1].filename.rsplit('/', 2)[-2:]}:{ours[-1].lineno}" if ours else ""
    return Broken(
        "no step crashes (jobs and sweeps survive)",
        f"{type(error).__name__}: {str(error)[:300]}{at} {where}".strip(),
    )


def run_seeds(
    app: Flask,
    emulator: Any,
    seeds: list[int],
    steps: int,
    progress: Callable[[Outcome, int, int], None] | None = None,
    ignore: tuple[str, ...] = (),
) -> list[Outcome]:
    outcomes = []
    for index, seed in enumerate(seeds, start=1):
        outcome = Simulation(app, emulator, seed, steps, ignore).run()
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome, index, len(seeds))
    return outcomes
