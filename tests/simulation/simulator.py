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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import time_machine
from flask import Flask
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import RuleViolation
from app.uow import unit_of_work
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders as order_services
from marketplace.deals import cart_codes, coupons
from marketplace.deals.models import CouponKind
from marketplace.order_models import Checkout, Order, OrderStatus, RefundStatus
from marketplace.payments import PaymentError
from payouts import cocreation, earnings, payout_run, webhooks
from payouts.models import (
    Earning,
    EarningState,
    PayoutItem,
    PayoutItemStatus,
    StripeEvent,
    TransferReversal,
)
from payouts.runtime import gateway
from payouts.splits import Role
from payouts.terms import Term, add_party_provider
from tests.concurrency import at_once
from tests.conftest import is_postgres, login
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
from tests.simulation.world import LATE_SELLER, START, SimulatedBrowser, World

try:  # held refunds (an admin decides refunds nobody here made); absent from older code
    from payouts import held_refunds
    from payouts.models import HeldRefund, HeldRefundStatus
except ImportError:  # pragma: no cover - only when run against code from before them
    held_refunds = HeldRefund = HeldRefundStatus = None  # type: ignore[assignment,misc]
PRICES = (999, 1234, 1999, 2800, 4550, 6290, 11000)
VISA, AVAILABLE_AT_ONCE = "4242424242424242", "4000000000000077"
FAULT_KINDS = ("error", "rate_limit", "timeout", "disconnect")
LIVE = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED)

# What the simulation's app needs beyond the suite's defaults: a short hold, so earnings are
# released within a few simulated days, and a low minimum payout, so small shares move too.
CONFIG = {
    "EARNINGS_HOLD_DAYS": 1,
    "MIN_PAYOUT_MINOR": 100,
    # Returns: a day to answer, a day to mark received, so the platform decides within a seed.
    "RETURN_ANSWER_DAYS": 1,
    "RETURN_RECEIPT_DAYS": 1,
}


@dataclass
class Outcome:
    seed: int
    steps: int
    postgres: bool
    broken: Broken | None = None
    at_step: int = 0
    log: list[str] = field(default_factory=list)
    seconds: float = 0.0
    coverage: Counter[str] = field(default_factory=Counter)

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
        # What the seed exercised: steps, faults, and the races it reached (see `coverage`).
        self.coverage: Counter[str] = Counter()
        self.outside: set[str] = set()  # refunds made in Stripe's dashboard
        self.hooks.on_transfer = self._transfer_checked

    # --- the run ------------------------------------------------------------------------------

    def run(self) -> Outcome:
        outcome = Outcome(
            self.seed, self.steps, self.postgres, log=self.log, noted=self.noted, ignore=self.ignore
        )
        outcome.coverage = self.coverage
        started = time.perf_counter()
        _Providers.install(self.app)
        world = World.of(self.app, self.emulator)
        _Providers.world = self
        try:
            with (
                time_machine.travel(START, tick=False) as traveller,
                seeded_ids(self.seed),
                self.hooks.installed(),
            ):
                self.traveller = traveller
                world.restore()
                invariants.forget_checked_lines()
                self.world = world
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
        self.coverage[f"step {name}"] += 1
        try:
            getattr(self, name)()
        except ProcessKilled as killed:
            self.coverage["reached: a process killed between its commit and its call"] += 1
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
        self._check(invariants.always(self.emulator, frozenset(self.outside)))
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
        """The world as built once (see `world.py`), with what this seed draws: the prices,
        and whether the second seller has set up payouts yet."""
        from marketplace.models import Product, ProductVariant
        from marketplace.models import Shop as ShopModel

        r, world = self.rng, self.world
        prices = {product_id: r.choice(PRICES) for product_id in world.products}
        with unit_of_work():
            for product_id, price in prices.items():
                db.session.execute(
                    Product.__table__.update()
                    .where(Product.__table__.c.id == product_id)
                    .values(price_minor=price)
                )
                db.session.execute(
                    ProductVariant.__table__.update()
                    .where(ProductVariant.__table__.c.product_id == product_id)
                    .values(price_minor=price)
                )
        self.buyers = [db.session.get(User, i) for i in world.buyers]
        self.curator = db.session.get(User, world.curator)
        self.author = db.session.get(User, world.author)
        self.admin = db.session.get(User, world.admin)
        self.shops = [db.session.get(ShopModel, i) for i in world.shops]
        self.products = [db.session.get(Product, i) for i in world.products]
        self.royalty_products = {self.products[0].id, self.products[3].id}
        self._draw_deals()
        self.onboarded_b = r.random() < 0.5
        if self.onboarded_b:
            onboard(self.shops[LATE_SELLER].owner, self.emulator)
        self.clients: dict[int, Any] = {
            shop.id: world.browsers[f"shop-{shop.id}"] for shop in self.shops
        }
        self.switchboard.deliver_all()
        self.hooks.errors.clear()
        pooled = self.shops[2]
        self._say(
            "world: shops "
            + ", ".join(f"{s.id} (shipping {s.shipping_flat_minor})" for s in self.shops)
            + f"; products {[(p.id, p.shop_id, p.price_minor) for p in self.products]}"
            + f"; royalty on {sorted(self.royalty_products)}; pool at shop {pooled.id}"
            + f"; shop {self.shops[1].id} {'' if self.onboarded_b else 'not '}onboarded"
        )
        # No read transaction left open: on SQLite it could not become a write one later.
        db.session.commit()

    def _draw_deals(self) -> None:
        """Each shop may have a bundle discount and a coupon (a rate or an amount, perhaps
        capped at one or two uses, once per buyer, from a minimum order)."""
        r = self.rng
        self.codes: dict[int, str] = {}
        drawn = []
        with unit_of_work():
            for shop in self.shops:
                if r.random() < 0.5:
                    coupons.set_bundle(shop, r.choice((2, 3)), r.choice((1000, 1500, 2500)))
                    drawn.append(f"shop {shop.id} bundle")
                if r.random() < 0.7:
                    kind = r.choice((CouponKind.PERCENT, CouponKind.AMOUNT))
                    coupon = coupons.create_coupon(
                        shop,
                        coupons.CouponInput(
                            code=f"sim{shop.id}",
                            kind=kind,
                            percent_bps=r.choice((500, 1000, 3333, 9000))
                            if kind == CouponKind.PERCENT
                            else None,
                            amount_minor=r.choice((100, 777, 2500, 20_000))
                            if kind == CouponKind.AMOUNT
                            else None,
                            min_order_minor=r.choice((None, None, 3000)),
                            max_uses=r.choice((None, 1, 2)),
                            once_per_buyer=r.random() < 0.3,
                        ),
                    )
                    self.codes[shop.id] = coupon.code
                    drawn.append(
                        f"shop {shop.id} coupon {coupon.code} ({coupon.percent_bps or 0} bps, "
                        f"{coupon.amount_minor or 0} off, cap {coupon.max_uses}, "
                        f"from {coupon.min_order_minor or 0}, once each {coupon.once_per_buyer})"
                    )
        self._say(f"deals: {', '.join(drawn) or 'none'}")

    def _enter_codes(self, buyer: Any, shop_ids: set[int]) -> None:
        for shop_id in sorted(shop_ids):
            code = self.codes.get(shop_id)
            if code is None:
                continue
            try:
                with unit_of_work():
                    cart_codes.apply(
                        buyer, shop_id, code.lower() if self.rng.random() < 0.5 else code
                    )
            except RuleViolation as refused:
                self._say(f"  coupon {code} refused: {refused}")
            else:
                self.coverage["reached: a coupon applied"] += 1

    def _client(self, user: Any) -> Any:
        client = SimulatedBrowser(self.app, self.app.response_class, use_cookies=True)
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
            self.coverage[f"fault {path}: {kind}/{when}"] += 1
            return f" [fault {kind}/{when} x{count}]"
        if roll < 0.8:
            # The answer is lost after Stripe acted (the SDK's two retries too), and the
            # webhooks it caused arrive while we still wait.
            self.emulator.fail_next(path, count=3, kind="timeout", when="after")
            self.coverage[f"fault {path}: answer lost, webhooks meanwhile"] += 1
            self.hooks.arm(
                Hook("POST", path, "during", self._in_flight(self._webhooks_now, path, "lost"))
            )
            return " [answer lost; its webhooks arrive meanwhile]"
        if roll < 0.9 or not during:
            self.coverage[f"fault {path}: webhooks while in flight"] += 1
            self.hooks.arm(
                Hook("POST", path, "during", self._in_flight(self._webhooks_now, path, "flight"))
            )
            return " [its webhooks arrive while it is in flight]"
        if roll < 0.95:
            label, action = r.choice(during)
            self.coverage[f"fault {path}: {label.split(' of order')[0]} while in flight"] += 1
            self.hooks.arm(Hook("POST", path, "during", self._in_flight(action, path, label)))
            return f" [{label} while it is in flight]"
        self.coverage[f"fault {path}: the process dies before the call"] += 1
        self.hooks.arm(Hook("POST", path, "kill"))
        return " [the process dies before the call]"

    def _in_flight(
        self, action: Callable[[], Any], path: str = "", label: str = ""
    ) -> Callable[[], None]:
        """Run `action` as another process would: its own thread and app context, while the
        caller waits for Stripe's answer."""

        def run() -> None:
            errors: list[BaseException] = []
            done: list[Any] = []

            def body() -> None:
                try:
                    with self.app.app_context():
                        done.append(action())
                        db.session.remove()
                except BaseException as error:
                    errors.append(error)

            thread = threading.Thread(target=body)
            thread.start()
            thread.join()
            delivered = done[0] if done and isinstance(done[0], list) else []
            if label in ("lost", "flight"):
                for event_type in sorted(set(delivered)):
                    when = "after its answer was lost" if label == "lost" else "in flight"
                    self.coverage[f"reached: {event_type} delivered while {path} {when}"] += 1
            elif label:
                self.coverage[f"reached: {label.split(' of order')[0]} while {path} in flight"] += 1
            if errors:
                raise errors[0]

        return run

    def _webhooks_now(self) -> list[str]:
        self.switchboard.collect()
        held = list(self.switchboard.held)
        self.switchboard.take(held)
        for item in held:
            self.switchboard.deliver(item)
        return [item.event_type for item in held]

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
        self._enter_codes(buyer, {p.shop_id for p in chosen if r.random() < 0.6})
        with unit_of_work():
            checkout_id = checkouts.start(buyer, ADDRESS).checkout.id
        self._pay(checkout_id, f"of {[p.id for p in chosen]} (curated {sorted(self.curated)})")

    def _pay(self, checkout_id: int, what: str) -> None:
        r = self.rng
        with unit_of_work():
            checkout = db.session.get(Checkout, checkout_id)
            assert checkout is not None
            checkouts.open_payment(
                checkout, success_url="http://kindred.test/ok", cancel_url="http://kindred.test/no"
            )
            session_id, total = checkout.stripe_session_id, checkout.total_minor
            discount = checkout.discount_minor
        card = VISA if r.random() < 0.5 else AVAILABLE_AT_ONCE
        paid = r.random() < 0.92
        if discount:
            self.coverage["reached: a checkout with a discount"] += 1
        self._say(
            f"checkout {checkout_id} {what} {total}"
            f"{f' (discount {discount})' if discount else ''}: {'paid' if paid else 'left unpaid'}"
        )
        if paid:
            self.emulator.pay_checkout_session(session_id, card)

    def coupon_race(self) -> None:
        """Two buyers claim a capped coupon's uses at the same moment (threads on
        PostgreSQL): no more checkouts hold it than its cap; the others are told why."""
        from marketplace.deals.models import Coupon

        capped = [
            c
            for c in db.session.scalars(select(Coupon).where(Coupon.max_uses.is_not(None)))
            if c.shop_id in self.codes
        ]
        if not capped:
            return
        r = self.rng
        coupon = r.choice(capped)
        product = r.choice([p for p in self.products if p.shop_id == coupon.shop_id])
        for buyer in self.buyers:
            with unit_of_work():
                carts.add(buyer, product.variants[0].id, 2)
            self._enter_codes(buyer, {coupon.shop_id})
        started: list[int] = []
        refusals: list[str] = []

        def claim(buyer_id: int) -> Callable[[], None]:
            def run() -> None:
                # (Each thread reads the buyer in its own session.)
                try:
                    with unit_of_work():
                        buyer = db.session.get(User, buyer_id)
                        started.append(checkouts.start(buyer, ADDRESS).checkout.id)
                except RuleViolation as refused:
                    refusals.append(refused.message)

            return run

        self._say(f"the buyers claim coupon {coupon.code} (cap {coupon.max_uses}) at once")
        jobs = [claim(buyer.id) for buyer in self.buyers]
        if self.postgres:
            self.coverage["reached: a coupon's last use claimed from threads at once"] += 1
            at_once(self.app, jobs, in_unit_of_work=False)
        else:
            for job in jobs:
                job()
        if refusals:
            self.coverage["reached: a coupon refused at checkout"] += 1
            self._say(f"  refused: {refusals}")
        for checkout_id in sorted(started):
            self._pay(checkout_id, f"with coupon {coupon.code}")

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
                self.hooks.arm(
                    Hook(
                        "POST",
                        "/v1/refunds",
                        "during",
                        self._in_flight(action, "/v1/refunds", "another refund of the order"),
                    )
                )
            self._refund_request(order, *first)()
            return
        # Each thread is its own browser (or API client), logged in as the seller.
        clients = [self._client(order.shop.owner) for _ in plans]
        jobs = [
            self._refund_request(order, channel, lines, shipping, client)
            for client, (channel, lines, shipping) in zip(clients, plans, strict=True)
        ]
        self.coverage["reached: refunds of one order from threads at once"] += 1
        at_once(self.app, jobs, in_unit_of_work=False)

    def dispute(self) -> None:
        charges = [
            c
            for c in self.emulator.objects("charge")
            # A buyer disputes a card payment; a transfer's payment to a seller is none.
            if c.get("status") == "succeeded" and not c.get("disputed") and c.get("payment_intent")
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
        """Two payout runs at once, with items to pay (made payable first if none are)."""
        claimable = self._make_payable()
        self._say(f"two payout runs at once ({claimable} earning(s) or item(s) to pay)")
        if not self.postgres:
            self.hooks.arm(
                Hook(
                    "POST",
                    "/v1/transfers",
                    "during",
                    self._in_flight(self._payout_run, "/v1/transfers", "another payout run"),
                )
            )
            self._payout_run()
            return
        if claimable:
            self.coverage["reached: two payout runs from threads with items to pay"] += 1
        at_once(self.app, [payout_run.run, payout_run.run])

    def _claimable(self) -> int:
        db.session.commit()
        items = db.session.scalar(
            select(func.count(PayoutItem.id)).where(PayoutItem.status == PayoutItemStatus.PENDING)
        )
        available = db.session.scalar(
            select(func.count(Earning.id)).where(
                Earning.state == EarningState.AVAILABLE,
                Earning.payout_item_id.is_(None),
                Earning.frozen.is_(False),
                Earning.source_charge_id.is_not(None),
            )
        )
        db.session.commit()
        return int(items or 0) + int(available or 0)

    def _make_payable(self) -> int:
        """Enough to pay: if nothing is, the paid orders are shipped and delivered, the hold
        passes and the earnings are released."""
        claimable = self._claimable()
        if claimable:
            return claimable
        if not self._orders(*LIVE):
            self.checkout()
            self._webhooks_now()
        for order in self._orders(OrderStatus.PAID, OrderStatus.SHIPPED):
            try:
                if order.status == OrderStatus.PAID:
                    with unit_of_work():
                        order_services.mark_shipped(order.shop.owner, order.id, "DHL", "")
                with unit_of_work():
                    order_services.confirm_delivery(order.buyer, order.id)
            except RuleViolation:
                db.session.rollback()
        self._pass(25 * 60)
        self._webhooks_now()
        with unit_of_work():
            released = earnings.release_due()
        claimable = self._claimable()
        self._say(f"  made payable: delivered, a day passed, {released} released")
        return claimable

    def payout_answer_lost_late(self) -> None:
        """A transfer's answer is lost; its retry comes more than a day later, after Stripe
        forgot the idempotency key (the app's and the emulator's clocks move together)."""
        self._make_payable()
        self.emulator.fail_next("/v1/transfers", count=3, kind="timeout", when="after")
        self._payout_run()
        db.session.commit()
        waiting = db.session.scalar(
            select(func.count(PayoutItem.id)).where(
                PayoutItem.status == PayoutItemStatus.PENDING,
                # Older code keeps no first attempt's time: any pending item waits then.
                getattr(PayoutItem, "first_sent_at", PayoutItem.id).is_not(None),
            )
        )
        db.session.commit()
        hours = self.rng.choice((25, 30, 49))
        self._say(f"payout run, a transfer's answer lost; {hours} h pass before it is retried")
        if waiting:
            self.coverage["reached: a lost transfer retried past the key's lifetime"] += 1
        self._pass(hours * 60)

    def dashboard_refund(self) -> None:
        """Someone refunds in Stripe's dashboard: no metadata, no refund of ours asked."""
        charges = [
            c
            for c in self.emulator.objects("charge")
            if c.get("status") == "succeeded"
            and int(c["amount"]) - int(c.get("amount_refunded") or 0) > 0
            and c.get("payment_intent")
        ]
        if not charges:
            return
        charge = self.rng.choice(sorted(charges, key=lambda c: (c["created"], c["id"])))
        room = int(charge["amount"]) - int(charge.get("amount_refunded") or 0)
        amount = room if self.rng.random() < 0.2 else self.rng.randint(1, room)
        self._say(f"a refund of {amount} made in Stripe's dashboard on {charge['id']}")
        db.session.commit()
        from payouts.gateway import GatewayRejected

        try:
            made = gateway(self.app).refund(
                payment_intent=str(charge["payment_intent"]),
                amount=amount,
                idempotency_key=f"dashboard-{self.seed}-{self.step_no}",
            )
        except GatewayRejected as refused:  # a charged-back payment, say: the dashboard says no
            self._say(f"  refused by Stripe: {refused}")
            return
        self.outside.add(made.id)
        self.coverage["reached: a refund made outside Kindred"] += 1

    def decide_held(self) -> None:
        """An admin books a held refund on an order of its payment, or the platform bears it,
        through the admin page."""
        if HeldRefund is None:
            return
        db.session.commit()
        waiting = list(
            db.session.scalars(
                select(HeldRefund)
                .where(HeldRefund.status == HeldRefundStatus.HELD)
                .order_by(HeldRefund.id)
            )
        )
        if not waiting:
            return
        held = self.rng.choice(waiting)
        admin = self.world.browsers["admin"]
        if self.rng.random() < 0.65:
            orders = held_refunds.orders_of(held)
            order = self.rng.choice(orders)
            self._say(
                f"an admin books held refund {held.id} ({held.left_minor}) on order {order.id}"
            )
            url, data = f"/admin/payouts/held-refunds/{held.id}/book", {"order_id": str(order.id)}
            kind = "booked"
        else:
            self._say(f"an admin lets the platform bear held refund {held.id} ({held.left_minor})")
            url, data = f"/admin/payouts/held-refunds/{held.id}/absorb", {"note": "simulated"}
            kind = "absorbed"
        held_id = held.id
        _expect(admin.post_form(url, data), (302,))
        db.session.commit()
        after = db.session.get(HeldRefund, held_id)
        if after is not None and (after.status != HeldRefundStatus.HELD or after.booked_minor):
            self.coverage[f"reached: a held refund {kind} by an admin"] += 1
            self._say(f"  held refund {held_id}: {after.status}, booked {after.booked_minor}")

    def _transfer_checked(self, payout_item: str) -> Callable[[], None]:
        """Before a transfer is sent: are any of its item's earnings frozen? After it: did
        Stripe make a new transfer (not a replay)? Both: something was paid from a frozen
        earning."""
        with db.engine.connect() as connection:
            frozen = connection.scalar(
                select(func.count(Earning.id)).where(
                    Earning.payout_item_id == int(payout_item), Earning.frozen.is_(True)
                )
            )
        if not frozen:
            return lambda: None
        before = self._transfers_of(payout_item)

        def after() -> None:
            if self._transfers_of(payout_item) > before:
                raise Broken(
                    "nothing is paid from a frozen earning",
                    f"payout item {payout_item} was transferred with {frozen} frozen earning(s)",
                )

        return after

    def _transfers_of(self, payout_item: str) -> int:
        return sum(
            1
            for t in self.emulator.objects("transfer")
            if (t.get("metadata") or {}).get("payout_item") == payout_item
        )

    def reverse(self) -> None:
        arranged = self._trouble("/v1/transfers/")
        self._say(f"reverse transfers of refunded earnings{arranged}")
        self._reverse()

    def sweep(self) -> None:
        arranged = self._trouble("/v1/refunds")
        self._say(f"flask orders sweep{arranged}")
        self._cli("orders", "sweep")

    def pool(self) -> None:
        if utcnow().month == START.month and self.rng.random() < 0.6:
            # The month ends (what was sold in it delivered first), so it can be distributed.
            self._make_payable()
            nxt = (utcnow().replace(day=28) + timedelta(days=4)).replace(day=1, hour=2)
            self._say(f"the month ends: {nxt:%Y-%m-%d %H:%M}")
            self._pass(int((nxt - utcnow()).total_seconds() // 60) + 1)
        month = cocreation.previous_month() if self.rng.random() < 0.8 else f"{utcnow():%Y-%m}"
        before = self._pooled()
        self._say(f"flask pool distribute --month {month}")
        self._cli("pool", "distribute", "--month", month)
        if self._pooled() > before:
            self.coverage["reached: a pool month distributed with money"] += 1

    def _pooled(self) -> int:
        from payouts.models import PoolDistribution

        db.session.commit()
        total = db.session.scalar(select(func.coalesce(func.sum(PoolDistribution.amount_minor), 0)))
        db.session.commit()
        return int(total or 0)

    def retry_webhooks(self) -> None:
        self._say("flask payouts webhooks-retry")
        self._cli("payouts", "webhooks-retry")

    def advance(self) -> None:
        minutes = self.rng.choice((2, 10, 45, 180, 600, 1440))
        self._say(f"{minutes} minutes pass")
        self._pass(minutes)

    # --- returns ----------------------------------------------------------------------------

    def _returns(self, *statuses: str) -> list[Any]:
        from marketplace.returns.models import ReturnRequest

        db.session.commit()
        return list(
            db.session.scalars(
                select(ReturnRequest)
                .where(ReturnRequest.status.in_(statuses))
                .order_by(ReturnRequest.id)
            )
        )

    def return_asked(self) -> None:
        """A buyer asks to return some of a shipped order (sometimes more than is left)."""
        from marketplace.returns import policy, steps

        candidates = []
        for order in self._orders(
            OrderStatus.SHIPPED, OrderStatus.DELIVERED, OrderStatus.COMPLETED
        ):
            left = policy.returnable(order)
            if policy.window(order).is_open() and any(left.values()):
                candidates.append((order, left))
        if not candidates:
            return
        r = self.rng
        order, left = r.choice(candidates)
        quantities = {
            line_id: r.randint(1, room) + (1 if r.random() < 0.05 else 0)
            for line_id, room in left.items()
            if room and r.random() < 0.7
        } or {next(k for k, v in left.items() if v): 1}
        self._say(f"return asked on order {order.id}: {quantities}")
        with unit_of_work():
            steps.ask(order.buyer, order.id, steps.ReturnAsk(quantities, "damaged", "sim"))

    def return_answered(self) -> None:
        """The seller accepts or refuses; a refusal may go to the moderators, who decide."""
        from marketplace.returns import steps
        from marketplace.returns.models import ReturnStatus

        r = self.rng
        asked = self._returns(ReturnStatus.REQUESTED, ReturnStatus.REFUSED, ReturnStatus.ESCALATED)
        if not asked:
            return
        found = r.choice(asked)
        client = self.clients[found.shop_id]
        if found.status == ReturnStatus.REQUESTED:
            accept = r.random() < 0.75
            self._say(f"return {found.id} {'accepted' if accept else 'refused'} by its seller")
            if r.random() < 0.5:
                path = f"/account/shop/returns/{found.id}/{'accept' if accept else 'refuse'}"
                form = {"instructions": "Post it."} if accept else {"reason": "Used."}
                _expect(client.post_form(path, form), (302,))
            else:
                path = f"/api/v1/shop/returns/{found.id}/{'accept' if accept else 'refuse'}"
                body = {"instructions": "Post it."} if accept else {"reason": "Used."}
                _expect(client.api("POST", path, json=body), (200, 409))
        elif found.status == ReturnStatus.REFUSED:
            self._say(f"return {found.id} taken to the moderators")
            with unit_of_work():
                steps.escalate(found.buyer, found.id, "sim")
        else:
            for_buyer = r.random() < 0.6
            self._say(f"return {found.id} decided {'for the buyer' if for_buyer else 'upheld'}")
            _expect(
                self.world.browsers["admin"].post_form(
                    f"/admin/returns/{found.id}/decide",
                    {"decision": "accept" if for_buyer else "uphold"},
                ),
                (302,),
            )

    def _accepted_returns(self) -> list[Any]:
        """Accepted returns; when there are none, the seller first accepts one asked."""
        from marketplace.returns import steps
        from marketplace.returns.models import ReturnStatus

        accepted = self._returns(ReturnStatus.ACCEPTED)
        if accepted:
            return accepted
        asked = self._returns(ReturnStatus.REQUESTED)
        if not asked:
            return []
        found = self.rng.choice(asked)
        self._say(f"return {found.id} accepted by its seller")
        with unit_of_work():
            steps.accept(found.order.shop.owner, found.id, "Post it.")
        return self._returns(ReturnStatus.ACCEPTED)

    def _receiving(self, found: Any, channel: str, client: Any = None) -> Callable[[], Any]:
        return_id, client = found.id, client or self.clients[found.shop_id]
        restock = self.rng.random() < 0.7
        if channel == "page":
            form = {"restock": "y"} if restock else {}
            return lambda: _expect(
                client.post_form(f"/account/shop/returns/{return_id}/receive", form), (302,)
            )
        return lambda: _expect(
            client.api(
                "POST", f"/api/v1/shop/returns/{return_id}/receive", json={"restock": restock}
            ),
            (200, 409),
        )

    def _returns_sweep(self) -> None:
        from marketplace.returns.sweep import settle_due_returns

        with unit_of_work():
            settle_due_returns()

    def return_received(self) -> None:
        """The seller marks an accepted return received: its refund goes through the orders'
        refund path; meanwhile a second click, the sweep, or another refund may come."""

        accepted = self._accepted_returns()
        if not accepted:
            return
        r = self.rng
        found = r.choice(accepted)
        channel = r.choice(("page", "api"))
        order = db.session.get(Order, found.order_id)
        assert order is not None
        during = [
            *self._refundable_after(order),
            (f"a second click on received of order {order.id}", self._receiving(found, channel)),
            (f"the returns sweep of order {order.id}", self._returns_sweep),
        ]
        arranged = self._trouble("/v1/refunds", during=during)
        self._say(f"return {found.id} of order {order.id} received, by {channel}{arranged}")
        self._receiving(found, channel)()
        self._count_refunded(found.id)

    def _count_refunded(self, return_id: int) -> None:
        from marketplace.returns.models import ReturnRequest

        db.session.commit()
        found = db.session.get(ReturnRequest, return_id)
        if found is not None and found.refund is not None:
            self.coverage["reached: a return refunded through the refund path"] += 1

    def returns_at_once(self) -> None:
        """Two clicks on "received" and the sweep at the same moment (threads on PostgreSQL;
        on SQLite, the others while the first one's Stripe call is in flight)."""

        accepted = self._accepted_returns()
        if not accepted:
            return
        found = self.rng.choice(accepted)
        self._pass(60 * 24 + 1)  # past the time to mark it received: the sweep decides too
        self._say(f"return {found.id} received twice while the sweep runs")
        if not self.postgres:
            for label, action in (
                ("a second click on received", self._receiving(found, "api")),
                ("the returns sweep", self._returns_sweep),
            ):
                self.hooks.arm(
                    Hook(
                        "POST",
                        "/v1/refunds",
                        "during",
                        self._in_flight(action, "/v1/refunds", label),
                    )
                )
            self._receiving(found, "page")()
            self._count_refunded(found.id)
            return
        clients = [self._client(db.session.get(User, found.order.shop.owner_id)) for _ in range(2)]
        jobs = [
            self._receiving(found, "page", clients[0]),
            self._receiving(found, "api", clients[1]),
            self._returns_sweep,
        ]
        self.coverage["reached: a return received twice and swept at once"] += 1
        at_once(self.app, jobs, in_unit_of_work=False)
        self._count_refunded(found.id)

    def returns_sweep(self) -> None:
        arranged = self._trouble("/v1/refunds")
        self._say(f"flask returns-sweep{arranged}")
        self._cli("returns-sweep")

    def onboard_late(self) -> None:
        if self.onboarded_b:
            return
        self.onboarded_b = True
        self._say(f"the seller of shop {self.shops[1].id} sets up payouts")
        onboard(self.shops[1].owner, self.emulator)

    STEPS: tuple[tuple[str, int], ...] = (
        ("checkout", 6),
        ("coupon_race", 2),
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
        ("dashboard_refund", 1),
        ("decide_held", 2),
        ("payout_answer_lost_late", 1),
        ("return_asked", 5),
        ("return_answered", 3),
        ("return_received", 4),
        ("returns_at_once", 2),
        ("returns_sweep", 2),
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
            select(PayoutItem.id).where(PayoutItem.status.not_in(invariants.SETTLED_ITEM_STATES))
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
        self._check(invariants.quiet(self.emulator, frozenset(self.outside)))
        if busy:
            self._broken(Broken("nothing left pending once quiet", ", ".join(busy)))


def _euros(minor: int) -> str:
    return f"{minor // 100}.{minor % 100:02d}"


def _expect(response: Any, statuses: tuple[int, ...]) -> Any:
    if response.status_code not in statuses or "/login" in response.headers.get("Location", ""):
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
