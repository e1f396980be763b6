from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
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


class PlatformSettings(Model):
    """The platform's money settings, edited by admins (one row; defaults from config)."""

    __tablename__ = "platform_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    fee_bps: Mapped[int]
    commission_min_bps: Mapped[int]
    commission_max_bps: Mapped[int]
    # What the seller keeps at least, whatever the other parties' rates.
    seller_min_bps: Mapped[int]
    hold_days: Mapped[int]
    min_payout_minor: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class PayeeStatus:
    NONE = "none"  # no connected account yet: earnings accrue and wait
    PENDING = "pending"  # onboarding started, Stripe still needs something
    ENABLED = "enabled"  # can receive transfers
    RESTRICTED = "restricted"  # Stripe disabled transfers (requirements past due)


class Payee(Model):
    """Someone who receives shares of sales: a person, or a shop's collective pool."""

    __tablename__ = "payees"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    pool_shop_id: Mapped[int | None] = mapped_column(
        ForeignKey("shops.id", ondelete="CASCADE"), unique=True
    )
    stripe_account_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PayeeStatus.NONE)
    # What Stripe still needs (requirements.currently_due), shown on the payouts page.
    requirements: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_payout_failure: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    @property
    def ledger_key(self) -> str:
        return f"payee-{self.id}"

    @property
    def can_receive(self) -> bool:
        return self.status == PayeeStatus.ENABLED and bool(self.stripe_account_id)


class LineParty(Model):
    """One party to a checkout line's split, with its rate, fixed when the checkout starts."""

    __tablename__ = "line_parties"
    __table_args__ = (
        UniqueConstraint(
            "checkout_line_id", "role", "payee_id", name="uq_line_parties_line_role_payee"
        ),
        CheckConstraint(
            "rate_bps IS NULL OR (rate_bps >= 0 AND rate_bps <= 10000)", name="rate_in_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkout_line_id: Mapped[int] = mapped_column(
        ForeignKey("checkout_lines.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    # None for the platform's fee.
    payee_id: Mapped[int | None] = mapped_column(ForeignKey("payees.id"))
    # None for the seller, who gets the rest.
    rate_bps: Mapped[int | None]
    # Where the party's share came from (e.g. the share link of a curator's pick).
    source: Mapped[str] = mapped_column(String(120), default="")


class EarningState:
    PENDING = "pending"  # sold; waiting for delivery and the hold period
    AVAILABLE = "available"  # can be paid out
    PAID = "paid"  # transferred to the payee's connected account
    ALL = (PENDING, AVAILABLE, PAID)


class Earning(Model):
    """One party's share of one order line (or a seller's shipping), as it moves."""

    __tablename__ = "earnings"
    __table_args__ = (
        UniqueConstraint("order_line_id", "role", "payee_id", name="uq_earnings_line_role_payee"),
        Index("ix_earnings_payee_state", "payee_id", "state", "available_on"),
        Index("ix_earnings_state_available_on", "state", "available_on"),
        CheckConstraint("amount_minor >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    # None for money that came from no order: a reward the shop paid by card.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    # None for the shipping of an order, which goes to the seller whole.
    order_line_id: Mapped[int | None] = mapped_column(ForeignKey("order_lines.id"))
    role: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int]
    # What this party has given back through refunds (can exceed nothing but the amount).
    refunded_minor: Mapped[int] = mapped_column(default=0)
    # What this party passed on to others from its available money (an idea's reward, the
    # collective pool's monthly distribution): each such part is an earning of its own.
    transferred_minor: Mapped[int] = mapped_column(default=0)
    # What an earning passed on to this party came from ("reward:<id>", "pool:<shop>:<month>").
    origin: Mapped[str | None] = mapped_column(String(60), index=True)
    state: Mapped[str] = mapped_column(String(16), default=EarningState.PENDING)
    # A dispute on the payment holds the earning where it is until it closes.
    frozen: Mapped[bool] = mapped_column(default=False)
    # When it becomes available: delivery plus the hold period (None until delivered).
    available_on: Mapped[datetime | None]
    source_charge_id: Mapped[str | None] = mapped_column(String(255))
    payout_item_id: Mapped[int | None] = mapped_column(ForeignKey("payout_items.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    released_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]

    @property
    def net_minor(self) -> int:
        return self.amount_minor - self.refunded_minor - self.transferred_minor


class PayoutRun(Model):
    __tablename__ = "payout_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    finished_at: Mapped[datetime | None]
    items_created: Mapped[int] = mapped_column(default=0)
    items_paid: Mapped[int] = mapped_column(default=0)
    items_failed: Mapped[int] = mapped_column(default=0)
    amount_paid_minor: Mapped[int] = mapped_column(BigInteger, default=0)


class PayoutItemStatus:
    PENDING = "pending"  # recorded; the transfer is being (or will be) created
    # Claimed by one run across its Stripe call, until `claimed_until`: no other run sends it.
    SUBMITTING = "submitting"
    PAID = "paid"
    FAILED = "failed"  # Stripe refused it for good; its earnings went back to available
    # Not sent: one of its earnings froze (a dispute, a refund held for an admin) before its
    # turn came; its earnings wait, available, for a run after the freeze ends.
    HELD_BACK = "held_back"


class PayoutItem(Model):
    """One transfer: what one payee is paid from one source charge, in one payout run."""

    __tablename__ = "payout_items"
    __table_args__ = (
        CheckConstraint("amount_minor > 0", name="amount_positive"),
        Index("ix_payout_items_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    payee_id: Mapped[int] = mapped_column(ForeignKey("payees.id"), index=True)
    source_charge_id: Mapped[str] = mapped_column(String(255))
    transfer_group: Mapped[str | None] = mapped_column(String(255))
    currency: Mapped[str] = mapped_column(String(3))
    amount_minor: Mapped[int]
    # Derived from the item, never random: a retry replays Stripe's answer, never pays twice.
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=PayoutItemStatus.PENDING)
    stripe_transfer_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    reversed_minor: Mapped[int] = mapped_column(default=0)
    failure_message: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    # The lease of the run that is calling Stripe for it; past it, another run may take over.
    claimed_until: Mapped[datetime | None]
    # When its key first went to Stripe: keys live 24 hours there, so after that a retry
    # first looks for the transfer the first attempt may have made.
    first_sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    completed_at: Mapped[datetime | None]


class TransferReversal(Model):
    """Money taken back from a payee's transfer because the sale was refunded."""

    __tablename__ = "transfer_reversals"

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_item_id: Mapped[int] = mapped_column(ForeignKey("payout_items.id"), index=True)
    earning_id: Mapped[int] = mapped_column(ForeignKey("earnings.id"), index=True)
    amount_minor: Mapped[int]
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, succeeded, failed
    stripe_reversal_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    failure_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


class Dispute(Model):
    __tablename__ = "disputes"

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_dispute_id: Mapped[str] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str] = mapped_column(String(255), index=True)
    amount_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    closed_at: Mapped[datetime | None]


class HeldRefundStatus:
    HELD = "held"  # the money left Stripe; nobody is paid from the charge until it is decided
    BOOKED = "booked"  # an admin booked it on orders of the checkout
    ABSORBED = "absorbed"  # an admin decided the platform bears it


class HeldRefund(Model):
    """A refund Stripe made that no Kindred intent caused (Stripe's dashboard, an unknown
    caller): never spread onto orders it does not name; held for an admin to decide."""

    __tablename__ = "held_refunds"
    __table_args__ = (CheckConstraint("amount_minor > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stripe_refund_id: Mapped[str] = mapped_column(String(255), unique=True)
    charge_id: Mapped[str] = mapped_column(String(255), index=True)
    amount_minor: Mapped[int]
    # What admins have booked on orders so far (the rest is still held, or absorbed).
    booked_minor: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default=HeldRefundStatus.HELD, index=True)
    # Why it could not be attributed, in the words of the webhook handler.
    why: Mapped[str] = mapped_column(String(255), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    decided_at: Mapped[datetime | None]

    @property
    def left_minor(self) -> int:
        return self.amount_minor - self.booked_minor


class PoolDistribution(Model):
    """A shop's collective pool shared among its members for one month: once per month, once
    the month is over, from the contributions that had settled by then."""

    __tablename__ = "pool_distributions"
    __table_args__ = (UniqueConstraint("shop_id", "month", name="uq_pool_distributions_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id", ondelete="CASCADE"), index=True)
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    amount_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    member_count: Mapped[int] = mapped_column(default=0)
    # Contributions up to the month's end that were not shared (still in the hold, awaiting
    # delivery, frozen by a dispute, or no member yet): carried to the next distribution.
    carried_minor: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
