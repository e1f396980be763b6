"""Batches that survive one bad row: sweeps, payout runs, retries.

A batch hands each row to its work in a transaction of its own. A row whose work raises is
rolled back, logged and recorded (`BatchFailure`, shown to admins), and the batch goes on
with the next; a row that later succeeds clears its record. One poisoned refund or payout
item then never stops every row queued after it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from sqlalchemy import String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column

from app import uow
from app.extensions import Model, db
from app.models import utcnow

log = logging.getLogger(__name__)

Row = TypeVar("Row")
Outcome = TypeVar("Outcome")

ERROR_MAX = 2000


class BatchFailure(Model):
    """A row a batch could not handle: the last error, how often, since when."""

    __tablename__ = "batch_failures"
    __table_args__ = (UniqueConstraint("batch", "subject", name="uq_batch_failures_subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(80))
    subject: Mapped[str] = mapped_column(String(120))
    error: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(default=1)
    first_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())


@dataclass
class BatchResult(Generic[Outcome]):
    outcomes: list[Outcome] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def each(
    batch: str,
    rows: Iterable[Row],
    work: Callable[[Row], Outcome],
    *,
    subject: Callable[[Row], str] = str,
) -> BatchResult[Outcome]:
    """Run `work` on each row, committing after each; a row that raises is rolled back,
    recorded under (`batch`, `subject(row)`) and skipped."""
    result: BatchResult[Outcome] = BatchResult()
    known = set(db.session.scalars(select(BatchFailure.subject).where(BatchFailure.batch == batch)))
    uow.checkpoint()
    for row in rows:
        name = subject(row)
        try:
            outcome = work(row)
            if name in known:
                clear_failure(batch, name)
            uow.checkpoint()
        except Exception as error:
            uow.rollback()
            log.exception("batch %s: %s failed", batch, name)
            record_failure(batch, name, error)
            result.failed.append(name)
            continue
        result.outcomes.append(outcome)
    return result


def clear_failure(batch: str, name: str) -> None:
    """The row went through: it leaves the admins' list (the caller commits)."""
    failure = db.session.scalar(
        select(BatchFailure).where(BatchFailure.batch == batch, BatchFailure.subject == name)
    )
    if failure is not None:
        db.session.delete(failure)


def record_failure(batch: str, name: str, error: Exception) -> None:
    """Record (and commit) that a row failed; call after rolling the row's work back."""
    text = f"{error.__class__.__name__}: {error}"[:ERROR_MAX]
    try:
        failure = db.session.scalar(
            select(BatchFailure).where(BatchFailure.batch == batch, BatchFailure.subject == name)
        )
        if failure is None:
            db.session.add(BatchFailure(batch=batch, subject=name, error=text))
        else:
            failure.error = text
            failure.occurrences += 1
            failure.last_at = utcnow()
        uow.checkpoint()
    except Exception:  # the database itself may be what failed: the log keeps it
        uow.rollback()
        log.exception("batch %s: could not record the failure of %s", batch, name)


def recent_failures(limit: int = 50) -> list[BatchFailure]:
    return list(
        db.session.scalars(select(BatchFailure).order_by(BatchFailure.last_at.desc()).limit(limit))
    )
