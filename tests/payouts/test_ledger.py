from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select, text, update

from app.extensions import db
from payouts import ledger
from payouts.ledger import LedgerError, credit, debit
from payouts.models import JournalEntry, JournalLine
from tests.conftest import _empty_tables, is_postgres


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
    entry = sale()
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
