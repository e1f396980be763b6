"""Transfers to connected accounts and their reversals (separate charges and transfers)."""

from __future__ import annotations

from typing import Any

from .. import money, shapes
from ..context import Ctx
from ..errors import StripeError, balance_insufficient, invalid
from ..ids import new_id
from ..params import apply_metadata
from ..router import route
from ..store import Selection, given
from .accounts import get_account
from .common import LIST_PARAMS, get, out, paginate, require_platform
from .events import emit

_TRANSFER_PARAMS = frozenset(
    {
        "amount",
        "currency",
        "destination",
        "source_transaction",
        "transfer_group",
        "metadata",
        "description",
        "source_type",
    }
)


@route("POST", "/v1/transfers")
def create_transfer(ctx: Ctx) -> dict[str, Any]:
    require_platform(ctx, "Creating transfers")
    p = ctx.params
    p.check_known(_TRANSFER_PARAMS)
    amount = p.req_int("amount")
    if amount <= 0:
        raise invalid("Invalid positive integer", param="amount")
    currency = p.currency() or "usd"
    destination_id = p.req_str("destination")
    try:
        destination = get_account(ctx, destination_id)
    except StripeError:
        raise StripeError(
            f"No such destination: '{destination_id}'",
            code="resource_missing",
            param="destination",
        ) from None
    if destination["capabilities"].get("transfers") != "active":
        raise StripeError(
            "Your destination account needs to have at least one of the following capabilities "
            "enabled: transfers, crypto_transfers, legacy_payments",
            code="insufficient_capabilities_for_transfer",
            param="destination",
        )
    source_id = p.get_str("source_transaction")
    transfer_id = new_id("tr")
    if source_id:
        charge = get(ctx, source_id, "charge", param="source_transaction")
        if charge["status"] != "succeeded":
            raise invalid(
                f"The source_transaction {source_id} has not succeeded.",
                param="source_transaction",
            )
        if charge["currency"] != currency:
            raise invalid(
                f"The currency of source_transaction's balance transaction ({charge['currency']})"
                f" must be the same as the transfer currency ({currency})",
                param="currency",
            )
        already = ctx.store.source_transferred(source_id)
        if amount > charge["amount"] - already:
            raise StripeError(
                f"The transfer amount ({amount}) exceeds the amount of source_transaction "
                f"{source_id} not yet transferred ({charge['amount'] - already}).",
                code="balance_insufficient",
                param="amount",
            )
        # The funds come out of that charge: they leave (and reach the destination) when the
        # charge's funds become available, so platform pending funds pay for it.
        charge_txn = ctx.store.get(charge["balance_transaction"]) or {}
        available_on = max(ctx.now, int(charge_txn.get("available_on") or ctx.now))
    else:
        if money.available(ctx, "", currency) < amount:
            raise balance_insufficient()
        available_on = ctx.now
    txn = money.add_txn(
        ctx,
        account="",
        type="transfer",
        amount=-amount,
        currency=currency,
        source=transfer_id,
        available_on=available_on,
        description=p.get_str("description"),
    )
    # On the connected account the transfer shows up as a payment (a ``py_`` charge).
    dest_ctx = ctx.for_account(destination["id"])
    payment_id = new_id("py")
    payment_txn = money.add_txn(
        dest_ctx,
        account=destination["id"],
        type="payment",
        amount=amount,
        currency=currency,
        source=payment_id,
        available_on=available_on,
    )
    payment = shapes.charge(
        id=payment_id,
        amount=amount,
        amount_captured=amount,
        balance_transaction=payment_txn["id"],
        captured=True,
        created=ctx.now,
        currency=currency,
        paid=True,
        source_transfer=transfer_id,
        status="succeeded",
        transfer_group=p.get_str("transfer_group"),
    )
    ctx.store.insert(payment, type="charge", account=destination["id"])
    transfer = shapes.transfer(
        id=transfer_id,
        amount=amount,
        balance_transaction=txn["id"],
        created=ctx.now,
        currency=currency,
        description=p.get_str("description"),
        destination=destination["id"],
        destination_payment=payment_id,
        metadata=apply_metadata({}, p.metadata()),
        source_transaction=source_id,
        transfer_group=p.get_str("transfer_group"),
    )
    ctx.store.insert(transfer, type="transfer", account="")
    if source_id:
        ctx.store.add_source_transfer(source_id, amount)
    emit(ctx, "transfer.created", transfer)
    return out(ctx, transfer)


@route("GET", "/v1/transfers/{id}")
def retrieve_transfer(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "transfer"))


@route("POST", "/v1/transfers/{id}")
def update_transfer(ctx: Ctx, id: str) -> dict[str, Any]:
    transfer = get(ctx, id, "transfer")
    ctx.params.check_known({"metadata", "description"})
    if "description" in ctx.params:
        transfer["description"] = ctx.params.get_str("description")
    transfer["metadata"] = apply_metadata(transfer["metadata"], ctx.params.metadata())
    ctx.store.save(transfer)
    emit(ctx, "transfer.updated", transfer)
    return out(ctx, transfer)


@route("GET", "/v1/transfers")
def list_transfers(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(LIST_PARAMS | {"destination", "transfer_group"})
    dest, group = p.get_str("destination"), p.get_str("transfer_group")
    transfers = Selection(
        "transfer", ctx.account, given({"destination": dest, "transfer_group": group})
    )
    return paginate(ctx, transfers, "/v1/transfers")


@route("POST", "/v1/transfers/{id}/reversals")
def create_reversal(ctx: Ctx, id: str) -> dict[str, Any]:
    transfer = get(ctx, id, "transfer")
    p = ctx.params
    p.check_known({"amount", "metadata", "description", "refund_application_fee"})
    remaining = transfer["amount"] - transfer["amount_reversed"]
    if remaining <= 0:
        raise StripeError(
            f"Transfer {id} has already been fully reversed.", code="transfer_already_reversed"
        )
    amount = p.get_int("amount")
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise invalid("Invalid positive integer", param="amount")
    if amount > remaining:
        raise invalid(
            f"Transfer reversal amount ({amount}) is greater than the amount remaining on the "
            f"transfer ({remaining}).",
            param="amount",
        )
    destination = transfer["destination"]
    currency = transfer["currency"]
    # The connected account must still hold the money (pending funds count: a transfer funded
    # by a pending charge can be reversed before it settles).
    if money.total(ctx, destination, currency) < amount:
        raise balance_insufficient(
            f"Insufficient funds in the connected account {destination} to reverse {amount} "
            f"{currency}."
        )
    payment = ctx.store.get(transfer["destination_payment"]) or {}
    payment_txn = ctx.store.get(payment.get("balance_transaction") or "") or {}
    # Money that has not settled yet is reversed out of the pending balance on both sides.
    available_on = max(ctx.now, int(payment_txn.get("available_on") or ctx.now))
    reversal_id = new_id("trr")
    txn = money.add_txn(
        ctx,
        account="",
        type="transfer_refund",
        amount=amount,
        currency=currency,
        source=reversal_id,
        available_on=available_on,
    )
    refund_id = new_id("pyr")
    money.add_txn(
        ctx.for_account(destination),
        account=destination,
        type="payment_refund",
        amount=-amount,
        currency=currency,
        source=refund_id,
        available_on=available_on,
    )
    if payment:
        payment["amount_refunded"] += amount
        payment["refunded"] = payment["amount_refunded"] >= payment["amount"]
        ctx.store.save(payment)
    reversal = shapes.transfer_reversal(
        id=reversal_id,
        amount=amount,
        balance_transaction=txn["id"],
        created=ctx.now,
        currency=currency,
        destination_payment_refund=refund_id,
        metadata=apply_metadata({}, p.metadata()),
        transfer=id,
    )
    ctx.store.insert(reversal, type="transfer_reversal", account="")
    transfer["amount_reversed"] += amount
    transfer["reversed"] = transfer["amount_reversed"] >= transfer["amount"]
    ctx.store.save(transfer)
    emit(ctx, "transfer.reversed", transfer)
    return out(ctx, reversal)


@route("GET", "/v1/transfers/{id}/reversals")
def list_reversals(ctx: Ctx, id: str) -> dict[str, Any]:
    get(ctx, id, "transfer")
    ctx.params.check_known(LIST_PARAMS)
    reversals = Selection("transfer_reversal", ctx.account, match={"transfer": id})
    return paginate(ctx, reversals, f"/v1/transfers/{id}/reversals")


@route("GET", "/v1/transfers/{id}/reversals/{reversal}")
def retrieve_reversal(ctx: Ctx, id: str, reversal: str) -> dict[str, Any]:
    get(ctx, id, "transfer")
    obj = get(ctx, reversal, "transfer_reversal")
    if obj["transfer"] != id:
        raise invalid(f"Reversal {reversal} does not belong to transfer {id}.", param="id")
    return out(ctx, obj)


@route("POST", "/v1/transfers/{id}/reversals/{reversal}")
def update_reversal(ctx: Ctx, id: str, reversal: str) -> dict[str, Any]:
    obj = get(ctx, reversal, "transfer_reversal")
    if obj["transfer"] != id:
        raise invalid(f"Reversal {reversal} does not belong to transfer {id}.", param="id")
    ctx.params.check_known({"metadata"})
    obj["metadata"] = apply_metadata(obj["metadata"], ctx.params.metadata())
    ctx.store.save(obj)
    return out(ctx, obj)
