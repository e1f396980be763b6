"""Bench: how close `ledger.post` and `ledger.post_many` come to raw SQL.

    .venv/bin/python -m bench.ledger [--db sqlite|postgresql] [--entries N] [--batch B]

The baseline writes each entry the shortest way SQL allows: one INSERT of the entry (its id
returned) and one multi-row INSERT of its lines, by hand, through the session's own
connection. The targets post the same kind of entry (a sale: the platform's Stripe balance,
two payees' pending, the fee revenue) on accounts that already exist, each under a new key:
`ledger.post` one entry at a time, `ledger.post_many` in batches. Every method writes N
entries in one transaction, committed inside the timing. Rounds alternate the methods, in a
rotating order, so that noise on a shared machine hits them all; the table gives the median
rate of each and the median of its per-round ratio to the baseline of the same round, then
how many statements each method sends per entry (counted in a separate, untimed pass).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

DATABASE = "kindred_bench_ledger"
SERVER = "postgresql://postgres@127.0.0.1:5432"


def _database_url(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}"
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{DATABASE}"


def _drop_database(kind: str) -> None:
    if kind != "postgresql":
        return
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--entries", type=int, default=2000, help="entries per method per round")
    parser.add_argument("--batch", type=int, default=100, help="entries per post_many call")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--payees", type=int, default=50)
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="kindred-bench-ledger-"))
    url = _database_url(args.db, workdir)
    try:
        _run(args, url, workdir)
    finally:
        _drop_database(args.db)


def _run(args: argparse.Namespace, url: str, workdir: Path) -> None:
    from app import create_app
    from app.extensions import db

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "INSTANCE_PATH": str(workdir / "instance"),
            "STRIPE_EMULATOR_DB": ":memory:",
            "STRIPE_SECRET_KEY": "",
            "FEATURES": ["marketplace", "payouts"],
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        from payouts import ledger
        from payouts.ledger import credit, debit
        from payouts.models import LedgerAccount

        payees = [f"user:{n}" for n in range(args.payees)]

        def legs(n: int) -> list[ledger.Leg]:
            curator, seller = payees[n % len(payees)], payees[(n * 7 + 3) % len(payees)]
            if curator == seller:
                seller = payees[(n + 1) % len(payees)]
            return [
                debit(ledger.STRIPE_BALANCE, 10_000 + n % 97),
                credit(ledger.pending(seller), 8_200 + n % 97),
                credit(ledger.pending(curator), 1_000),
                credit(ledger.FEE_REVENUE, 800),
            ]

        # Every account exists before timing: the bench measures posting, not creating them.
        for n, payee in enumerate(payees):
            ledger.post(
                f"bench-open-{n}",
                "bench",
                [
                    debit(ledger.STRIPE_BALANCE, 2),
                    credit(ledger.pending(payee), 1),
                    credit(ledger.FEE_REVENUE, 1),
                ],
            )
        db.session.commit()
        account_ids = dict(db.session.execute(select(LedgerAccount.code, LedgerAccount.id)).all())

        dialect = db.engine.dialect
        mark = "?" if dialect.paramstyle in ("qmark", "numeric") else "%s"
        entry_sql = (
            "INSERT INTO journal_entries (idempotency_key, kind, memo, created_at) "
            f"VALUES ({mark}, {mark}, {mark}, {mark}) RETURNING id"
        )
        line_sql: dict[int, str] = {}

        def created_at() -> Any:
            now = datetime.now(UTC)
            # As SQLAlchemy stores a timestamp on SQLite (text), so the ORM reads it back.
            return now.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect.name == "sqlite" else now

        def raw(tag: str, count: int) -> None:
            connection = db.session.connection()
            for n in range(count):
                entry_id = connection.exec_driver_sql(
                    entry_sql, (f"{tag}-{n}", "sale", "", created_at())
                ).scalar_one()
                merged: dict[str, int] = {}
                for leg in legs(n):
                    merged[leg.account] = merged.get(leg.account, 0) + leg.amount
                rows = sorted(merged.items())
                sql = line_sql.get(len(rows))
                if sql is None:
                    sql = line_sql[len(rows)] = (
                        "INSERT INTO journal_lines (entry_id, account_id, amount, currency) VALUES "
                        + ", ".join([f"({mark}, {mark}, {mark}, {mark})"] * len(rows))
                    )
                params: list[Any] = []
                for code, amount in rows:
                    params += [entry_id, account_ids[code], amount, "eur"]
                connection.exec_driver_sql(sql, tuple(params))
            db.session.commit()

        def post(tag: str, count: int) -> None:
            for n in range(count):
                ledger.post(f"{tag}-{n}", "sale", legs(n))
            db.session.commit()

        def post_many(tag: str, count: int) -> None:
            for start in range(0, count, args.batch):
                ledger.post_many(
                    [
                        ledger.Posting(f"{tag}-{n}", "sale", legs(n))
                        for n in range(start, min(start + args.batch, count))
                    ]
                )
            db.session.commit()

        methods: dict[str, Callable[[str, int], None]] = {"raw SQL": raw, "ledger.post": post}
        if hasattr(ledger, "post_many"):
            methods[f"ledger.post_many ({args.batch})"] = post_many
        else:
            print("(ledger.post_many does not exist here: measuring post alone)")

        # Warm up: compiled statements, prepared statements, the account cache.
        for name, method in methods.items():
            method(f"warm-{name}", min(args.entries, 200))

        rates: dict[str, list[float]] = {name: [] for name in methods}
        ratios: dict[str, list[float]] = {name: [] for name in methods}
        names = list(methods)
        print(
            f"{args.db}: {args.rounds} rounds of {args.entries} entries per method "
            f"(4 legs each, {args.payees} payees)",
            flush=True,
        )
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            this_round: dict[str, float] = {}
            for name in order:
                started = time.perf_counter()
                methods[name](f"r{round_}-{name}", args.entries)
                this_round[name] = args.entries / (time.perf_counter() - started)
            for name in names:
                rates[name].append(this_round[name])
                ratios[name].append(this_round[name] / this_round["raw SQL"])
            print(
                f"  round {round_ + 1}: "
                + ", ".join(f"{name} {this_round[name]:,.0f}/s" for name in names),
                flush=True,
            )

        statements = _statements_per_entry(methods, min(args.entries, 500))
        print()
        print(f"{'method':<26} {'entries/s':>10} {'x raw SQL':>10} {'statements/entry':>17}")
        for name in names:
            print(
                f"{name:<26} {statistics.median(rates[name]):>10,.0f} "
                f"{statistics.median(ratios[name]):>10.2f} {statements[name]:>17.2f}"
            )
        assert ledger.trial_balance() == 0 and ledger.unbalanced_entries() == []
        db.session.remove()
        db.engine.dispose()


def _statements_per_entry(
    methods: dict[str, Callable[[str, int], None]], count: int
) -> dict[str, float]:
    from app.extensions import db

    seen = [0]

    def counting(*_args: Any) -> None:
        seen[0] += 1

    result = {}
    for name, method in methods.items():
        db.session.commit()
        engine = db.engine
        event.listen(engine, "before_cursor_execute", counting)
        try:
            seen[0] = 0
            method(f"count-{name}", count)
            # The commit is not a statement the cursor sends; SQLite's BEGIN is, once per call.
            result[name] = seen[0] / count
        finally:
            event.remove(engine, "before_cursor_execute", counting)
    return result


if __name__ == "__main__":
    main()
