from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import utcnow


class StripeEvent(Model):
    """A Stripe event as received by the webhook, kept by its id so it is processed once."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100), index=True)
    # The connected account the event is about (Connect events), if any.
    account: Mapped[str | None] = mapped_column(String(255))
    payload: Mapped[dict] = mapped_column(JSON)
    stripe_created: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    processed_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # When a failed event is due for another try; None once processed (or before the first).
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)


class AccountKind:
    ASSET = "asset"  # the platform's Stripe balance
    LIABILITY = "liability"  # what is owed to payees (pending, available)
    INCOME = "income"  # platform fee revenue
    EXPENSE = "expense"  # Stripe's processing fees

    ALL = (ASSET, LIABILITY, INCOME, EXPENSE)
    # Kinds whose natural balance is a credit.
    CREDIT_NORMAL = (LIABILITY, INCOME)


class LedgerAccount(Model):
    """One account of the double-entry ledger, named by a code such as `payee:user:7:pending`."""

    __tablename__ = "ledger_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class JournalEntry(Model):
    """A balanced, append-only journal entry. Its key says what caused it, so it posts once."""

    __tablename__ = "journal_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    memo: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow(), index=True)

    lines: Mapped[list[JournalLine]] = relationship(
        back_populates="entry", order_by="JournalLine.id", cascade="save-update"
    )


class JournalLine(Model):
    """One leg of an entry: a signed amount in minor units (debit positive, credit negative)."""

    __tablename__ = "journal_lines"
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ledger_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))

    entry: Mapped[JournalEntry] = relationship(back_populates="lines")
    account: Mapped[LedgerAccount] = relationship()
