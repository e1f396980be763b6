"""Bench: posting a paid checkout of 5 lines with 4 parties each, and a payout run for many
payees, against the in-process emulator.

    .venv/bin/python -m bench.payouts --payees 10000 [--db sqlite|postgresql]
        [--progress-every 1000]

Prints the median and p95 time of posting one paid checkout (split, earnings and the ledger
entry, through the real `checkout_paid` receiver), then the time of one payout run that pays
every payee one transfer: as it goes, the transfers handled and their pace (transfers/s) every
`--progress-every` transfers; at the end the planning time and the sending time apart.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--payees", type=int, default=10_000)
    parser.add_argument("--posts", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--progress-every", type=int, default=1000)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kindred-bench-payouts-"))
    if args.db == "postgresql":
        import psycopg

        name = "kindred_bench_payouts"
        with psycopg.connect(
            "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True
        ) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    else:
        url = f"sqlite:///{workdir / 'bench.sqlite3'}"

    from app import create_app
    from app.accounts.passwords import use_fast_hashing_for_tests
    from app.extensions import db
    from app.uow import unit_of_work

    use_fast_hashing_for_tests()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(workdir / "instance"),
            "STRIPE_EMULATOR_DB": ":memory:",
            "STRIPE_SECRET_KEY": "",
            "FEATURES": ["marketplace", "payouts"],
            "MIN_PAYOUT_MINOR": 1,
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from app.accounts.models import User
        from marketplace import checkout as checkouts
        from marketplace import signals
        from marketplace.order_models import Checkout, Order
        from payouts.models import Earning, EarningState, Payee, PayeeStatus
        from payouts.runtime import emulator, gateway
        from payouts.splits import Role
        from payouts.terms import Term, add_party_provider
        from tests.factories import ProductFactory, ShopFactory, UserFactory

        # --- posting a paid checkout: 5 lines, each with platform, curator, co-creator, seller
        curator, author, buyer = UserFactory(), UserFactory(), UserFactory()
        shop = ShopFactory()
        products = [ProductFactory(shop=shop, price_minor=1999 + i, stock=10_000) for i in range(5)]
        from payouts import payees as payee_services

        with unit_of_work():
            curator_payee = payee_services.for_user(curator.id).id
            author_payee = payee_services.for_user(author.id).id
        add_party_provider(
            app,
            lambda line: [
                Term(Role.CURATOR, curator_payee, 1000, "bench"),
                Term(Role.CO_CREATOR, author_payee, 800, "bench"),
            ],
        )
        timings = []
        for n in range(args.posts):
            with unit_of_work():
                from marketplace import cart

                for product in products:
                    cart.add(buyer, product.variants[0].id, 1)
                checkout = checkouts.start(
                    buyer,
                    {
                        "name": "B",
                        "line1": "1 rue",
                        "city": "Lyon",
                        "postal_code": "69000",
                        "country": "FR",
                    },
                ).checkout
                checkout_id = checkout.id
            with unit_of_work():
                checkout = db.session.get(Checkout, checkout_id)
                started = time.perf_counter()
                checkouts.record_payment(
                    public_id=checkout.public_id,
                    session_id=None,
                    payment_intent_id=f"pi_bench_{n}",
                    charge_id=None,
                    amount_total=checkout.total_minor,
                )
                db.session.flush()
            timings.append((time.perf_counter() - started) * 1000)
        timings.sort()
        print(
            f"post a paid checkout (5 lines x 4 parties): "
            f"median {statistics.median(timings):.1f} ms, "
            f"p95 {timings[int(len(timings) * 0.95) - 1]:.1f} ms over {len(timings)}"
        )

        # --- a payout run for many payees: each gets one available earning from one charge
        emu = emulator(app)
        print(f"creating {args.payees} onboarded payees…", flush=True)
        started = time.perf_counter()
        # One charge per ten payees, as real sales spread over many charges (a single charge
        # funding every transfer would make each transfer check all the charge's others).
        charge_ids = []
        for _ in range((args.payees + 9) // 10):
            intent = gateway(app).client.v1.payment_intents.create(
                {
                    "amount": 50 * 10 + 1000,
                    "currency": "eur",
                    "confirm": True,
                    "payment_method": "pm_card_bypassPending",
                }
            )
            latest = intent.latest_charge
            charge_ids.append(latest if isinstance(latest, str) else latest.id)
        order_id = db.session.scalar(select(Order.id))
        users = (
            db.session.execute(
                insert(User).returning(User.id),
                [
                    {
                        "email": f"payee{i}@bench.test",
                        "handle": f"payee{i}",
                        "password_hash": "x",
                        "display_name": "",
                        "bio": "",
                        "session_nonce": "n",
                        "is_admin": False,
                    }
                    for i in range(args.payees)
                ],
            )
            .scalars()
            .all()
        )
        rows = []
        for i, user_id in enumerate(users):
            account = gateway(app).client.v1.accounts.create(
                {
                    "type": "express",
                    "country": "FR",
                    "email": f"payee{i}@bench.test",
                    "capabilities": {"transfers": {"requested": True}},
                }
            )
            emu.complete_onboarding(account.id)
            rows.append(
                {
                    "user_id": user_id,
                    "stripe_account_id": account.id,
                    "status": PayeeStatus.ENABLED,
                    "requirements": [],
                }
            )
        payee_ids = db.session.execute(insert(Payee).returning(Payee.id), rows).scalars().all()
        db.session.execute(
            insert(Earning),
            [
                {
                    "payee_id": pid,
                    "order_id": order_id,
                    "order_line_id": None,
                    "role": "seller",
                    "currency": "eur",
                    "amount_minor": 50,
                    "state": EarningState.AVAILABLE,
                    "source_charge_id": charge_ids[n // 10],
                }
                for n, pid in enumerate(payee_ids)
            ],
        )
        from payouts import ledger
        from payouts.ledger import credit, debit

        ledger.post(
            "bench-funding",
            "bench",
            [debit(ledger.STRIPE_BALANCE, 50 * len(payee_ids))]
            + [credit(ledger.available(f"payee-{pid}"), 50) for pid in payee_ids],
        )
        db.session.commit()
        print(f"  set up in {time.perf_counter() - started:.1f} s")
        from payouts import payout_run

        started = time.perf_counter()

        def progress(message: str) -> None:
            print(f"  {message}", flush=True)

        with unit_of_work():
            result = payout_run.run(progress=progress, progress_every=args.progress_every)
        elapsed = time.perf_counter() - started
        print(
            f"payout run for {args.payees} payees: {result.paid} transfers in {elapsed:.1f} s "
            f"({1000 * elapsed / max(result.paid, 1):.2f} ms per transfer, "
            f"{result.paid / max(elapsed, 1e-9):.0f} transfers/s); "
            f"planning {result.planning_seconds:.2f} s, "
            f"sending {result.sending_seconds:.1f} s "
            f"({result.paid / max(result.sending_seconds, 1e-9):.0f} transfers/s)"
        )
        _ = signals


if __name__ == "__main__":
    main()
