"""Payees and their Stripe Connect accounts (Express), onboarding and status."""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app import uow
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from payouts.gateway import GatewayError
from payouts.models import Payee, PayeeStatus
from payouts.runtime import gateway


def _get_or_create(**identity: int) -> Payee:
    query = select(Payee).filter_by(**identity)
    found = db.session.scalar(query)
    if found is not None:
        return found
    payee = Payee(**identity)
    try:
        with db.session.begin_nested():
            db.session.add(payee)
    except IntegrityError:
        # Created at the same moment by another transaction: use that one.
        return db.session.scalars(query).one()
    return payee


def for_user(user_id: int) -> Payee:
    """The payee of a person, created on first use (earnings accrue before onboarding)."""
    return _get_or_create(user_id=user_id)


def for_pool(shop_id: int) -> Payee:
    """The payee of a shop's collective pool."""
    return _get_or_create(pool_shop_id=shop_id)


def find_pool_payee(shop_id: int) -> Payee | None:
    return db.session.scalar(select(Payee).where(Payee.pool_shop_id == shop_id))


def find_user_payee(user_id: int) -> Payee | None:
    return db.session.scalar(select(Payee).where(Payee.user_id == user_id))


def apply_account(payee: Payee, account: dict[str, Any]) -> Payee:
    """Bring a payee's status in line with its Stripe account (onboarding, account.updated)."""
    capabilities = account.get("capabilities") or {}
    transfers = capabilities.get("transfers") if isinstance(capabilities, dict) else None
    requirements = account.get("requirements") or {}
    due = list(requirements.get("currently_due") or []) + list(requirements.get("past_due") or [])
    if transfers == "active" and account.get("payouts_enabled"):
        status = PayeeStatus.ENABLED
    elif account.get("details_submitted") and requirements.get("disabled_reason"):
        status = PayeeStatus.RESTRICTED
    else:
        status = PayeeStatus.PENDING
    payee.status = status
    payee.requirements = sorted(set(due))
    payee.updated_at = utcnow()
    return payee


def start_onboarding(user: User, *, return_url: str, refresh_url: str) -> str:
    """An Account Link URL to Stripe's Express onboarding for this person's payee.

    The connected account is created once (its key is derived from the payee), recorded,
    committed, and only then is the one-time link asked for.
    """
    payee = for_user(user.id)
    if not payee.stripe_account_id:
        payee_id, email = payee.id, user.email
        uow.checkpoint()
        account = gateway().create_express_account(
            email=email,
            country=current_app.config.get("STRIPE_ACCOUNT_COUNTRY", "FR"),
            idempotency_key=f"payee-{payee_id}-account",
            metadata={"payee": str(payee_id), "user": str(user.id)},
        )
        payee = db.session.get(Payee, payee_id)  # type: ignore[assignment]
        assert payee is not None
        payee.stripe_account_id = account.id
        apply_account(payee, account.to_dict())
    account_id = payee.stripe_account_id
    uow.checkpoint()
    # A fresh key per attempt: Account Links are single-use and short-lived.
    link = gateway().create_account_link(
        account=account_id,
        refresh_url=refresh_url,
        return_url=return_url,
        idempotency_key=f"payee-{payee.id}-link-{int(utcnow().timestamp())}",
    )
    return gateway().browser_url(str(link.url))


def refresh_status(payee: Payee) -> Payee:
    if not payee.stripe_account_id:
        return payee
    account_id = payee.stripe_account_id
    uow.checkpoint()
    try:
        account = gateway().retrieve_account(account_id)
    except GatewayError:
        return payee  # shown as it was; account.updated will bring the news
    return apply_account(payee, account.to_dict())


def dashboard_link(payee: Payee) -> str:
    assert payee.stripe_account_id
    account_id = payee.stripe_account_id
    uow.checkpoint()
    link = gateway().create_login_link(
        account=account_id,
        idempotency_key=f"payee-{payee.id}-login-{int(utcnow().timestamp())}",
    )
    return gateway().browser_url(str(link.url))


def on_account_updated(payload: dict[str, Any]) -> None:
    account = payload["data"]["object"]
    payee = db.session.scalar(select(Payee).where(Payee.stripe_account_id == account.get("id")))
    if payee is not None:
        apply_account(payee, account)
