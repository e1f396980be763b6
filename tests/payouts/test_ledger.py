from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import delete, func, select, text, update

from app.extensions import db
from payouts import ledger
from payouts.ledger import LedgerError, credit, debit
from payouts.models import JournalEntry, JournalLine
from tests.concurrency import at_once
from tests.conftest import _empty_tables, is_postgres
from tests.marketplace.helpers import count_queries


def sale(key="evt_sale_1"):
    return ledger.post(
        key,
        "sale",
        [
            debit(ledger.STRIPE_BALANCE, 10_000),
            credit(ledger.pending("user:1"), 8_200),
            credit(ledger.pending("user:2"), 1_000),
            credit(ledger.FEE_REVENUE, 800),
        ],
    )


def test_posting_balances_and_reports_natural_signs(app):
    sale()
    assert ledger.balance(ledger.STRIPE_BALANCE) == 10_000
    assert ledger.balance(ledger.pending("user:1")) == 8_200
    assert ledger.balance(ledger.FEE_REVENUE) == 800
    assert ledger.trial_balance() == 0 and ledger.unbalanced_entries() == []
    assert ledger.balances([ledger.pending("user:2"), ledger.available("user:2")]) == {
        ledger.pending("user:2"): 1_000,
        ledger.available("user:2"): 0,
    }


def test_same_key_posts_once(app):
    first = sale()
    again = sale()
    assert first.id == again.id
    db.session.commit()
    assert db.session.query(JournalEntry).count() == 1
    assert ledger.balance(ledger.STRIPE_BALANCE) == 10_000


def test_same_key_other_amounts_is_an_error(app):
    sale()
    with pytest.raises(LedgerError):
        ledger.post(
            "evt_sale_1", "sale", [debit(ledger.STRIPE_BALANCE, 1), credit(ledger.FEE_REVENUE, 1)]
        )


def test_unbalanced_or_empty_entries_are_refused(app):
    with pytest.raises(LedgerError):
        ledger.post(
            "k1", "sale", [debit(ledger.STRIPE_BALANCE, 100), credit(ledger.FEE_REVENUE, 99)]
        )
    with pytest.raises(LedgerError):
        ledger.post(
            "k2", "noop", [debit(ledger.STRIPE_BALANCE, 5), credit(ledger.STRIPE_BALANCE, 5)]
        )
    with pytest.raises(LedgerError):
        ledger.post("k3", "sale", [debit("bank:somewhere", 5), credit(ledger.FEE_REVENUE, 5)])
    assert db.session.query(JournalEntry).count() == 0


def test_ledger_is_append_only_in_the_orm(app):
    entry = db.session.get(JournalEntry, sale().id)
    db.session.commit()
    entry.memo = "rewritten"
    with pytest.raises(LedgerError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.get(JournalLine, entry.lines[0].id))
    with pytest.raises(LedgerError):
        db.session.flush()
    db.session.rollback()


def test_ledger_is_append_only_in_the_database(app):
    sale()
    db.session.commit()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(update(JournalLine).values(amount=1))
    db.session.rollback()
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(text("UPDATE journal_entries SET memo = 'x'"))
    db.session.rollback()


def _refused(statement):
    with pytest.raises(Exception, match="append-only"):
        db.session.execute(statement)
    db.session.rollback()


def test_the_database_refuses_to_delete_journal_rows_on_every_engine(app):
    sale()
    db.session.commit()
    _refused(text("DELETE FROM journal_lines"))
    _refused(text("DELETE FROM journal_entries"))
    _refused(delete(JournalLine).where(JournalLine.amount > 0))  # a bulk delete skips the ORM
    if is_postgres(app):
        # TRUNCATE fires no row trigger: it is refused by a statement trigger of its own, also
        # when it arrives by cascade from the accounts the lines point to.
        _refused(text("TRUNCATE journal_lines"))
        _refused(text("TRUNCATE ledger_accounts CASCADE"))
    assert db.session.scalar(select(func.count(JournalLine.id))) == 4
    assert ledger.trial_balance() == 0


def test_the_test_clean_up_empties_the_journal_and_leaves_it_append_only(app):
    sale()
    db.session.commit()
    db.session.remove()
    _empty_tables()
    assert db.session.scalar(select(func.count(JournalEntry.id))) == 0
    sale()
    db.session.commit()
    _refused(text("DELETE FROM journal_lines"))
    _refused(text("UPDATE journal_lines SET amount = 1"))


# --- posting near raw SQL: the statements a post costs, and batches of entries


def sale_legs(payee: str = "user:1", gross: int = 10_000) -> list[ledger.Leg]:
    return [
        debit(ledger.STRIPE_BALANCE, gross),
        credit(ledger.pending(payee), gross - 1_800),
        credit(ledger.pending("user:2"), 1_000),
        credit(ledger.FEE_REVENUE, 800),
    ]


def entries() -> int:
    return db.session.scalar(select(func.count(JournalEntry.id)))


def _in_a_transaction() -> None:
    """Begin the next transaction now, so that counting leaves out its BEGIN (SQLite's)."""
    db.session.connection()


def test_a_post_on_known_accounts_takes_at_most_three_statements(app):
    sale("evt_sale_1")
    db.session.commit()
    _in_a_transaction()
    with count_queries() as sent:
        entry = ledger.post("evt_sale_2", "sale", sale_legs(gross=20_000), memo="second")
    assert len(sent) <= 3, sent
    db.session.commit()
    # What it returns is the entry as posted, as the journal holds it.
    assert (entry.idempotency_key, entry.kind, entry.memo) == ("evt_sale_2", "sale", "second")
    assert entry.legs == {
        ledger.STRIPE_BALANCE: 20_000,
        ledger.pending("user:1"): -18_200,
        ledger.pending("user:2"): -1_000,
        ledger.FEE_REVENUE: -800,
    }
    loaded = db.session.get(JournalEntry, entry.id)
    assert (loaded.idempotency_key, loaded.memo, loaded.created_at) == (
        "evt_sale_2",
        "second",
        entry.created_at,
    )
    assert {line.account.code: line.amount for line in loaded.lines} == entry.legs
    assert ledger.balance(ledger.STRIPE_BALANCE) == 30_000
    assert ledger.unbalanced_entries() == []


def test_a_repeated_post_returns_the_entry_posted_first(app):
    first = sale()
    assert sale() == first
    db.session.commit()
    assert sale() == first
    assert entries() == 1


def test_post_many_posts_each_entry_and_gives_their_ids_in_order(app):
    ids = ledger.post_many(
        [
            ledger.Posting("evt_1", "sale", sale_legs("user:1", 10_000)),
            ledger.Posting("evt_2", "sale", sale_legs("user:3", 20_000), memo="two"),
            ledger.Posting(
                "fee_2",
                "stripe_fee",
                [debit(ledger.STRIPE_FEES, 30), credit(ledger.STRIPE_BALANCE, 30)],
            ),
        ]
    )
    db.session.commit()
    posted = {e.idempotency_key: e for e in db.session.scalars(select(JournalEntry))}
    assert ids == [posted["evt_1"].id, posted["evt_2"].id, posted["fee_2"].id]
    assert posted["evt_2"].memo == "two" and posted["fee_2"].kind == "stripe_fee"
    assert ledger.balance(ledger.STRIPE_BALANCE) == 29_970
    assert ledger.balance(ledger.pending("user:3")) == 18_200
    assert ledger.balance(ledger.pending("user:2")) == 2_000
    assert ledger.balance(ledger.STRIPE_FEES) == 30
    assert ledger.trial_balance() == 0 and ledger.unbalanced_entries() == []


def test_post_many_again_is_a_no_op(app):
    batch = [ledger.Posting(f"evt_{n}", "sale", sale_legs(f"user:{n}")) for n in range(3, 6)]
    first = ledger.post_many(batch)
    db.session.commit()
    assert ledger.post_many(batch) == first
    assert ledger.post_many(list(reversed(batch))) == list(reversed(first))
    db.session.commit()
    assert entries() == 3
    assert ledger.balance(ledger.STRIPE_BALANCE) == 30_000


def test_post_many_mixes_posted_and_new_keys(app):
    posted = sale("evt_1").id
    db.session.commit()
    ids = ledger.post_many(
        [
            ledger.Posting("evt_0", "sale", sale_legs("user:4")),
            ledger.Posting("evt_1", "sale", sale_legs("user:1")),  # as `sale` posted it
            ledger.Posting("evt_2", "sale", sale_legs("user:5")),
        ]
    )
    assert ids[1] == posted and len(set(ids)) == 3
    db.session.commit()
    assert entries() == 3
    assert ledger.balance(ledger.STRIPE_BALANCE) == 30_000
    assert ledger.balance(ledger.pending("user:1")) == 8_200


def test_post_many_refuses_a_posted_key_with_other_amounts_and_writes_nothing(app):
    sale("evt_1")
    db.session.commit()
    with pytest.raises(LedgerError, match="other amounts"):
        ledger.post_many(
            [
                ledger.Posting("evt_2", "sale", sale_legs("user:4")),
                ledger.Posting("evt_1", "sale", sale_legs("user:1", gross=10_001)),
            ]
        )
    assert entries() == 1
    assert ledger.balance(ledger.pending("user:4")) == 0


@pytest.mark.parametrize(
    ("key", "legs"),
    [
        ("bad", [debit(ledger.STRIPE_BALANCE, 5), credit(ledger.FEE_REVENUE, 4)]),
        ("bad", [debit(ledger.FEE_REVENUE, 5), credit(ledger.FEE_REVENUE, 5)]),
        ("bad", []),
        ("bad", [debit("bank:somewhere", 5), credit(ledger.FEE_REVENUE, 5)]),
        # The same key twice in one batch, with other amounts.
        ("evt_1", sale_legs("user:1", gross=99)),
    ],
    ids=["unbalanced", "moves-nothing", "empty", "unknown-account", "same-key-other-amounts"],
)
def test_post_many_checks_every_entry_before_it_writes_any(app, key, legs):
    batch = [
        ledger.Posting("evt_1", "sale", sale_legs("user:1")),
        ledger.Posting(key, "sale", legs),
        ledger.Posting("evt_2", "sale", sale_legs("user:7")),
    ]
    _in_a_transaction()
    with count_queries() as sent, pytest.raises(LedgerError):
        ledger.post_many(batch)
    assert sent == []
    assert entries() == 0


def test_post_many_takes_the_same_statements_for_any_number_of_entries(app):
    sale("evt_0")
    db.session.commit()

    def count(size: int, tag: str) -> int:
        _in_a_transaction()
        with count_queries() as sent:
            ledger.post_many(
                [ledger.Posting(f"{tag}_{n}", "sale", sale_legs("user:1")) for n in range(size)]
            )
        db.session.commit()
        return len(sent)

    new = count(2, "a")
    assert new == count(50, "b") <= 4
    # With keys posted before among them, one more statement reads their legs.
    _in_a_transaction()
    with count_queries() as sent:
        ledger.post_many(
            [
                ledger.Posting(f"{tag}_{n}", "sale", sale_legs("user:1"))
                for tag in "ac"
                for n in range(2)
            ]
        )
    assert len(sent) == new + 1
    assert entries() == 1 + 2 + 50 + 2


def test_an_account_made_in_a_transaction_that_rolled_back_is_made_again(app):
    sale("evt_0")
    db.session.commit()
    ledger.post("evt_1", "sale", sale_legs("user:8"))
    db.session.rollback()
    # SQLite gives the rolled-back account's id to the next account made: another payee's.
    ledger.post("evt_2", "sale", sale_legs("user:9", gross=5_000))
    db.session.commit()
    ledger.post("evt_1", "sale", sale_legs("user:8"))
    ledger.post_many([ledger.Posting("evt_3", "sale", sale_legs("user:8"))])
    db.session.commit()
    assert ledger.balance(ledger.pending("user:8")) == 2 * 8_200
    assert ledger.balance(ledger.pending("user:9")) == 3_200
    assert ledger.unbalanced_entries() == []


def test_accounts_known_before_the_tables_were_emptied_are_read_again(app):
    ledger.post("evt_1", "sale", sale_legs("user:1"))
    db.session.commit()
    db.session.remove()
    _empty_tables()
    # The same ids now go to other accounts, in another order.
    ledger.post(
        "evt_2", "refund", [debit(ledger.pending("user:2"), 7), credit(ledger.pending("user:1"), 7)]
    )
    ledger.post("evt_1", "sale", sale_legs("user:1"))
    db.session.commit()
    assert ledger.balance(ledger.STRIPE_BALANCE) == 10_000
    assert ledger.balance(ledger.pending("user:1")) == 8_207
    assert ledger.balance(ledger.pending("user:2")) == 993
    assert ledger.balance(ledger.FEE_REVENUE) == 800


def test_two_transactions_posting_one_key_at_once_post_it_once(app, postgres_only):
    sale("evt_0")
    refused: list[LedgerError] = []

    def posting(keys: tuple[str, str], gross: int) -> Callable[[], None]:
        def run() -> None:
            try:
                ledger.post(keys[0], "sale", sale_legs("user:1", gross))
                ledger.post_many([ledger.Posting(keys[1], "sale", sale_legs("user:3", gross))])
            except LedgerError as error:
                refused.append(error)

        return run

    at_once(app, [posting(("evt_1", "evt_2"), 10_000) for _ in range(4)])
    assert entries() == 3 and refused == []
    # The same keys with other amounts: the first transaction's entry stands, the other fails.
    at_once(app, [posting(("evt_3", "evt_4"), 10_000), posting(("evt_3", "evt_4"), 20_000)])
    assert entries() == 5 and len(refused) == 1
    assert ledger.balance(ledger.STRIPE_BALANCE) in (30_000 + 2 * 10_000, 30_000 + 2 * 20_000)
    assert ledger.unbalanced_entries() == []


def test_two_batches_with_one_key_at_once_post_it_once(app, postgres_only):
    sale("evt_0")
    refused: list[LedgerError] = []

    def batch(keys: tuple[str, str], gross: int) -> Callable[[], None]:
        def run() -> None:
            try:
                ledger.post_many(
                    [ledger.Posting(key, "sale", sale_legs("user:1", gross)) for key in keys]
                )
            except LedgerError as error:
                refused.append(error)

        return run

    # Each reads that no key is posted, then all write: the first stands, the others wait for
    # it and find their keys posted, with the same amounts (or, below, other amounts).
    at_once(app, [batch(("evt_1", "evt_2"), 10_000) for _ in range(4)])
    assert entries() == 3 and refused == []
    at_once(app, [batch(("evt_3", "evt_4"), 10_000), batch(("evt_3", "evt_4"), 20_000)])
    assert entries() == 5 and len(refused) == 1
    assert ledger.balance(ledger.STRIPE_BALANCE) in (30_000 + 2 * 10_000, 30_000 + 2 * 20_000)
    assert ledger.unbalanced_entries() == []
