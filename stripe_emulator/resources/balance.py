"""Balance, balance transactions and payouts."""

from __future__ import annotations

from typing import Any

from .. import money, shapes
from ..context import Ctx
from ..errors import StripeError, balance_insufficient, invalid
from ..ids import new_id
from ..params import apply_metadata
from ..router import route
from ..store import Selection, given
from .common import LIST_PARAMS, get, out, paginate
from .events import emit

PAYOUT_ARRIVAL_SECONDS = 86400


def _default_currency(ctx: Ctx) -> str:
    if ctx.account:
        account = ctx.store.get(ctx.account) or {}
        return str(account.get("default_currency") or "usd")
    return "usd"


def balance_object(ctx: Ctx) -> dict[str, Any]:
    sums = money.balances(ctx, ctx.account) or {_default_currency(ctx): (0, 0)}
    obj = shapes.balance(
        available=[
            {"amount": a, "currency": c, "source_types": {"card": a}} for c, (a, _) in sums.items()
        ],
        pending=[
            {"amount": p, "currency": c, "source_types": {"card": p}} for c, (_, p) in sums.items()
        ],
    )
    if not ctx.account:
        obj["connect_reserved"] = [{"amount": 0, "currency": c} for c in sums]
    return obj


@route("GET", "/v1/balance")
def retrieve_balance(ctx: Ctx) -> dict[str, Any]:
    return balance_object(ctx)


@route("GET", "/v1/balance_transactions/{id}")
def retrieve_balance_transaction(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "balance_transaction"))


@route("GET", "/v1/balance_transactions")
def list_balance_transactions(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(LIST_PARAMS | {"type", "source", "currency", "payout"})
    type_, source, currency = p.get_str("type"), p.get_str("source"), p.get_str("currency")
    txns = Selection(
        "balance_transaction",
        ctx.account,
        given({"type": type_, "source": source}),
        where=lambda t: not currency or t["currency"] == currency.lower(),
    )
    return paginate(ctx, txns, "/v1/balance_transactions")


# -- payouts -----------------------------------------------------------------------------------


@route("POST", "/v1/payouts")
def create_payout(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(
        {
            "amount",
            "currency",
            "metadata",
            "description",
            "statement_descriptor",
            "method",
            "destination",
            "source_type",
        }
    )
    amount = p.req_int("amount")
    if amount <= 0:
        raise invalid("Invalid positive integer", param="amount")
    currency = p.currency() or "usd"
    if p.get_str("method", default="standard") != "standard":
        raise invalid("The emulator only supports standard payouts.", param="method")
    destination = None
    if ctx.account:
        account = ctx.store.get(ctx.account) or {}
        if not account.get("payouts_enabled"):
            raise StripeError(
                "Payouts are not enabled for this account; it has to complete onboarding first.",
                code="payouts_not_allowed",
            )
        banks = account.get("external_accounts", {}).get("data", [])
        destination = banks[0]["id"] if banks else None
    if money.available(ctx, ctx.account, currency) < amount:
        raise balance_insufficient(
            "You have insufficient funds in your Stripe account for this transfer. Your "
            "available balance is too low."
        )
    payout_id = new_id("po")
    txn = money.add_txn(
        ctx,
        account=ctx.account,
        type="payout",
        amount=-amount,
        currency=currency,
        source=payout_id,
        description=p.get_str("description") or "STRIPE PAYOUT",
    )
    arrival = ctx.now + PAYOUT_ARRIVAL_SECONDS
    payout = shapes.payout(
        id=payout_id,
        amount=amount,
        arrival_date=arrival,
        balance_transaction=txn["id"],
        created=ctx.now,
        currency=currency,
        description=p.get_str("description") or "STRIPE PAYOUT",
        destination=destination,
        metadata=apply_metadata({}, p.metadata()),
        statement_descriptor=p.get_str("statement_descriptor"),
        status="pending",
    )
    ctx.store.insert(payout, type="payout", account=ctx.account)
    ctx.store.add_timer(arrival, "payout_paid", payout_id)
    emit(ctx, "payout.created", payout)
    return out(ctx, payout)


@route("GET", "/v1/payouts/{id}")
def retrieve_payout(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "payout"))


@route("GET", "/v1/payouts")
def list_payouts(ctx: Ctx) -> dict[str, Any]:
    ctx.params.check_known(LIST_PARAMS | {"status", "arrival_date", "destination"})
    status = ctx.params.get_str("status")
    payouts = Selection(
        "payout", ctx.account, where=lambda po: not status or po["status"] == status
    )
    return paginate(ctx, payouts, "/v1/payouts")


@route("POST", "/v1/payouts/{id}/cancel")
def cancel_payout(ctx: Ctx, id: str) -> dict[str, Any]:
    payout = get(ctx, id, "payout")
    if payout["status"] != "pending":
        raise invalid(f"Payout {id} cannot be canceled because it is {payout['status']}.")
    _return_funds(ctx, payout, "payout_cancel")
    payout["status"] = "canceled"
    ctx.store.save(payout)
    emit(ctx, "payout.canceled", payout)
    return out(ctx, payout)


def _return_funds(ctx: Ctx, payout: dict[str, Any], type: str) -> dict[str, Any]:
    return money.add_txn(
        ctx,
        account=ctx.account,
        type=type,
        amount=payout["amount"],
        currency=payout["currency"],
        source=payout["id"],
        description=f"Payout {payout['id']} returned",
    )


def pay_payout(ctx: Ctx, payout: dict[str, Any]) -> None:
    """The payout reached the bank (timer at ``arrival_date``)."""
    if payout["status"] not in ("pending", "in_transit"):
        return
    payout["status"] = "paid"
    payout["reconciliation_status"] = "completed"
    ctx.store.save(payout)
    emit(ctx, "payout.paid", payout, request=False)


def fail_payout(ctx: Ctx, payout: dict[str, Any]) -> dict[str, Any]:
    if payout["status"] in ("failed", "canceled"):
        raise invalid(f"Payout {payout['id']} is already {payout['status']}.")
    txn = _return_funds(ctx, payout, "payout_failure")
    payout.update(
        status="failed",
        failure_balance_transaction=txn["id"],
        failure_code="account_closed",
        failure_message="The bank account has been closed.",
    )
    ctx.store.save(payout)
    emit(ctx, "payout.failed", payout, request=False)
    return payout
