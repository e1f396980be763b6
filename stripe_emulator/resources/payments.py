"""Payment intents, charges, refunds and disputes (the money coming in)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import money, shapes
from ..context import Ctx
from ..errors import StripeError, invalid, no_such
from ..ids import new_id, random_suffix
from ..params import apply_metadata
from ..router import route
from ..store import Selection, given
from .common import LIST_PARAMS, get, out, paginate, public
from .events import emit


@dataclass(frozen=True)
class TestCard:
    brand: str
    last4: str
    outcome: str  # "success", "success_available", "decline", "dispute"
    decline_code: str | None = None
    # The error's code: card_declined, or a code of its own (expired_card, incorrect_cvc...).
    code: str = "card_declined"
    # Blocked by Stripe's fraud screening rather than declined by the issuer.
    blocked: bool = False


def _declined(last4: str, decline_code: str, code: str = "card_declined") -> TestCard:
    return TestCard("visa", last4, "decline", decline_code, code)


# Stripe's test payment methods (its testing page) and the card numbers the hosted checkout
# page accepts for them.
TEST_PAYMENT_METHODS = {
    "pm_card_visa": TestCard("visa", "4242", "success"),
    "pm_card_mastercard": TestCard("mastercard", "4444", "success"),
    "pm_card_bypassPending": TestCard("visa", "0077", "success_available"),
    "pm_card_chargeDeclined": _declined("0002", "generic_decline"),
    "pm_card_visa_chargeDeclined": _declined("0002", "generic_decline"),
    "pm_card_chargeDeclinedInsufficientFunds": _declined("9995", "insufficient_funds"),
    "pm_card_visa_chargeDeclinedInsufficientFunds": _declined("9995", "insufficient_funds"),
    "pm_card_visa_chargeDeclinedLostCard": _declined("9987", "lost_card"),
    "pm_card_visa_chargeDeclinedStolenCard": _declined("9979", "stolen_card"),
    "pm_card_chargeDeclinedExpiredCard": _declined("0069", "expired_card", "expired_card"),
    "pm_card_visa_chargeDeclinedExpiredCard": _declined("0069", "expired_card", "expired_card"),
    "pm_card_chargeDeclinedIncorrectCvc": _declined("0127", "incorrect_cvc", "incorrect_cvc"),
    "pm_card_visa_chargeDeclinedIncorrectCvc": _declined("0127", "incorrect_cvc", "incorrect_cvc"),
    "pm_card_chargeDeclinedProcessingError": _declined(
        "0119", "processing_error", "processing_error"
    ),
    "pm_card_visa_chargeDeclinedProcessingError": _declined(
        "0119", "processing_error", "processing_error"
    ),
    "pm_card_visa_chargeDeclinedVelocityLimitExceeded": _declined("6975", "card_velocity_exceeded"),
    "pm_card_chargeDeclinedFraudulent": TestCard(
        "visa", "0019", "decline", "fraudulent", blocked=True
    ),
    "pm_card_radarBlock": TestCard("visa", "0019", "decline", "fraudulent", blocked=True),
    "pm_card_createDispute": TestCard("visa", "0259", "dispute"),
}
TEST_CARD_NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000077": "pm_card_bypassPending",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000000000009987": "pm_card_visa_chargeDeclinedLostCard",
    "4000000000009979": "pm_card_visa_chargeDeclinedStolenCard",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000000000000127": "pm_card_chargeDeclinedIncorrectCvc",
    "4000000000000119": "pm_card_chargeDeclinedProcessingError",
    "4000000000006975": "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
    "4100000000000019": "pm_card_chargeDeclinedFraudulent",
    "4000000000000259": "pm_card_createDispute",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "card_velocity_exceeded": (
        "Your card was declined for making repeated attempts too frequently or exceeding its "
        "amount limit."
    ),
}
# The field a decline points at, where Stripe names one.
DECLINE_PARAMS = {"expired_card": "exp_month", "incorrect_cvc": "cvc"}
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
MIN_AMOUNT = {"gbp": 30, "jpy": 50, "hkd": 400, "mxn": 1000, "aud": 50, "cad": 50}


def check_amount(amount: int, currency: str, param: str = "amount") -> None:
    minimum = MIN_AMOUNT.get(currency, 50)
    if amount < minimum:
        shown = str(minimum) if currency in ZERO_DECIMAL else f"{minimum / 100:.2f}"
        raise StripeError(
            f"Amount must be at least {shown} {currency}",
            code="amount_too_small",
            param=param,
        )
    if amount > 99_999_999:
        raise StripeError(
            "Amount must be no more than 999,999.99", code="amount_too_large", param=param
        )


def luhn_ok(number: str) -> bool:
    digits = [int(c) for c in number]
    checksum = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        checksum += d
    return checksum % 10 == 0


def card_for_number(number: str) -> str | None:
    """Map a card number typed on the hosted page to a test payment method (None: invalid)."""
    number = "".join(ch for ch in number if ch.isdigit())
    if number in TEST_CARD_NUMBERS:
        return TEST_CARD_NUMBERS[number]
    if 12 <= len(number) <= 19 and luhn_ok(number):
        return "pm_card_visa"
    return None


# -- payment intents ---------------------------------------------------------------------------

_PI_PARAMS = frozenset(
    {
        "amount",
        "currency",
        "metadata",
        "description",
        "transfer_group",
        "payment_method",
        "payment_method_types",
        "automatic_payment_methods",
        "confirm",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "capture_method",
        "return_url",
        "customer",
        "setup_future_usage",
        "off_session",
        "error_on_requires_action",
    }
)


def new_payment_intent(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    metadata: dict[str, str] | None = None,
    description: str | None = None,
    transfer_group: str | None = None,
    receipt_email: str | None = None,
    payment_method: str | None = None,
) -> dict[str, Any]:
    check_amount(amount, currency)
    pi_id = new_id("pi")
    pi = shapes.payment_intent(
        id=pi_id,
        amount=amount,
        client_secret=f"{pi_id}_secret_{random_suffix(25)}",
        created=ctx.now,
        currency=currency,
        description=description,
        metadata=metadata or {},
        payment_method=payment_method,
        receipt_email=receipt_email,
        status="requires_confirmation" if payment_method else "requires_payment_method",
        transfer_group=transfer_group,
    )
    ctx.store.insert(pi, type="payment_intent", account=ctx.account)
    emit(ctx, "payment_intent.created", pi)
    return pi


@route("POST", "/v1/payment_intents")
def create_payment_intent(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(_PI_PARAMS)
    if p.get_str("capture_method", default="automatic") not in ("automatic", "automatic_async"):
        raise invalid("The emulator only supports automatic capture.", param="capture_method")
    payment_method = p.get_str("payment_method")
    if payment_method:
        _test_card(payment_method)
    pi = new_payment_intent(
        ctx,
        amount=p.req_int("amount"),
        currency=p.currency() or "usd",
        metadata=apply_metadata({}, p.metadata()),
        description=p.get_str("description"),
        transfer_group=p.get_str("transfer_group"),
        receipt_email=p.get_str("receipt_email"),
        payment_method=payment_method,
    )
    if p.get_bool("confirm"):
        pi, _charge, error = attempt_payment(ctx, pi, payment_method)
        if error:
            raise error
    return out(ctx, pi)


@route("GET", "/v1/payment_intents/{id}")
def retrieve_payment_intent(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "payment_intent"))


@route("GET", "/v1/payment_intents")
def list_payment_intents(ctx: Ctx) -> dict[str, Any]:
    ctx.params.check_known(LIST_PARAMS | {"customer"})
    return paginate(ctx, Selection("payment_intent", ctx.account), "/v1/payment_intents")


@route("POST", "/v1/payment_intents/{id}")
def update_payment_intent(ctx: Ctx, id: str) -> dict[str, Any]:
    pi = get(ctx, id, "payment_intent")
    p = ctx.params
    p.check_known(
        {"amount", "metadata", "description", "transfer_group", "payment_method", "receipt_email"}
    )
    if pi["status"] in ("succeeded", "canceled") and ({"amount", "payment_method"} & set(p.data)):
        raise _unexpected_state(pi, "update")
    if "amount" in p:
        amount = p.req_int("amount")
        check_amount(amount, pi["currency"])
        pi["amount"] = amount
    if "payment_method" in p:
        pi["payment_method"] = _test_card_id(p.req_str("payment_method"))
        pi["status"] = "requires_confirmation"
    for key in ("description", "transfer_group", "receipt_email"):
        if key in p:
            pi[key] = p.get_str(key)
    pi["metadata"] = apply_metadata(pi["metadata"], p.metadata())
    ctx.store.save(pi)
    return out(ctx, pi)


def _unexpected_state(pi: dict[str, Any], action: str) -> StripeError:
    return StripeError(
        f"You cannot {action} this PaymentIntent because it has a status of {pi['status']}.",
        code="payment_intent_unexpected_state",
        extra={"payment_intent": public(pi)},
    )


def _test_card(pm: str) -> TestCard:
    card = TEST_PAYMENT_METHODS.get(pm)
    if card is None:
        raise no_such("PaymentMethod", pm, param="payment_method")
    return card


def _test_card_id(pm: str) -> str:
    _test_card(pm)
    return pm


@route("POST", "/v1/payment_intents/{id}/confirm")
def confirm_payment_intent(ctx: Ctx, id: str) -> dict[str, Any]:
    pi = get(ctx, id, "payment_intent")
    ctx.params.check_known(
        {
            "payment_method",
            "return_url",
            "receipt_email",
            "off_session",
            "error_on_requires_action",
            "payment_method_types",
        }
    )
    payment_method = ctx.params.get_str("payment_method") or pi.get("payment_method")
    pi, _charge, error = attempt_payment(ctx, pi, payment_method)
    if error:
        raise error
    return out(ctx, pi)


@route("POST", "/v1/payment_intents/{id}/cancel")
def cancel_payment_intent(ctx: Ctx, id: str) -> dict[str, Any]:
    pi = get(ctx, id, "payment_intent")
    ctx.params.check_known({"cancellation_reason"})
    reason = ctx.params.get_str("cancellation_reason")
    if reason and reason not in ("duplicate", "fraudulent", "requested_by_customer", "abandoned"):
        raise invalid(f"Invalid cancellation_reason: {reason}", param="cancellation_reason")
    cancel_payment_intent_obj(ctx, pi, reason)
    return out(ctx, pi)


def cancel_payment_intent_obj(
    ctx: Ctx, pi: dict[str, Any], reason: str | None, *, request: bool = True
) -> None:
    if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
        raise _unexpected_state(pi, "cancel")
    pi["status"] = "canceled"
    pi["canceled_at"] = ctx.now
    pi["cancellation_reason"] = reason
    ctx.store.save(pi)
    emit(ctx, "payment_intent.canceled", pi, request=request)


def attempt_payment(
    ctx: Ctx,
    pi: dict[str, Any],
    payment_method: str | None,
    *,
    request: bool = True,
    billing_email: str | None = None,
    billing_name: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None, StripeError | None]:
    """Confirm ``pi`` with a test payment method: create the charge, move money, emit events.

    Returns the updated intent, the charge (if one was attempted) and the card error to report
    (state is kept even when the card is declined, like Stripe).
    """
    if pi["status"] == "succeeded":
        raise StripeError(
            "You cannot confirm this PaymentIntent because it has already succeeded after "
            "being previously confirmed.",
            code="payment_intent_unexpected_state",
            extra={"payment_intent": public(pi)},
        )
    if pi["status"] not in ("requires_payment_method", "requires_confirmation"):
        raise _unexpected_state(pi, "confirm")
    if not payment_method:
        raise StripeError(
            "You cannot confirm this PaymentIntent because it's missing a payment method. "
            "To confirm the PaymentIntent with a payment method, pass `payment_method`.",
            code="payment_intent_unexpected_state",
            param="payment_method",
        )
    card = _test_card(payment_method)
    # Stripe makes a PaymentMethod of its own from a test one (pm_card_visa is a template).
    pm = shapes.payment_method(
        id=new_id("pm"),
        card=shapes.payment_method_card(card.brand, card.last4),
        created=ctx.now,
    )
    pm["billing_details"].update(email=billing_email, name=billing_name)
    ctx.store.insert(pm, type="payment_method", account=ctx.account)
    pm_id = pm["id"]
    charge = shapes.charge(
        id=new_id("ch"),
        amount=pi["amount"],
        created=ctx.now,
        currency=pi["currency"],
        description=pi["description"],
        metadata=dict(pi["metadata"]),
        payment_intent=pi["id"],
        payment_method=pm_id,
        payment_method_details={
            "card": shapes.card_details(card.brand, card.last4),
            "type": "card",
        },
        receipt_email=pi["receipt_email"],
        transfer_group=pi["transfer_group"],
    )
    charge["billing_details"]["email"] = billing_email
    charge["billing_details"]["name"] = billing_name
    pi["latest_charge"] = charge["id"]
    if card.outcome == "decline":
        return _decline(ctx, pi, charge, card, pm, request=request)

    emu = ctx.emu
    fee = money.processing_fee(pi["amount"], emu.fee_bps, emu.fee_fixed)
    available_on = ctx.now if card.outcome == "success_available" else ctx.now + emu.pending_seconds
    txn = money.add_txn(
        ctx,
        account=ctx.account,
        type="charge",
        amount=pi["amount"],
        currency=pi["currency"],
        source=charge["id"],
        available_on=available_on,
        fee=fee,
        fee_details=[money.fee_detail(fee, pi["currency"], "Stripe processing fees")],
        description=pi["description"],
    )
    charge.update(
        amount_captured=pi["amount"],
        balance_transaction=txn["id"],
        captured=True,
        outcome=shapes.outcome(
            type="authorized",
            network_status="approved_by_network",
            reason=None,
            seller_message="Payment complete.",
        ),
        paid=True,
        receipt_url=f"{emu.base_url()}/receipts/{charge['id']}",
        status="succeeded",
    )
    ctx.store.insert(charge, type="charge", account=ctx.account)
    pi.update(
        amount_received=pi["amount"],
        last_payment_error=None,
        payment_method=pm_id,
        status="succeeded",
    )
    ctx.store.save(pi)
    emit(ctx, "charge.succeeded", charge, request=request)
    emit(ctx, "payment_intent.succeeded", pi, request=request)
    if card.outcome == "dispute":
        create_dispute(ctx, charge, request=request)
    return pi, charge, None


def _decline(
    ctx: Ctx,
    pi: dict[str, Any],
    charge: dict[str, Any],
    card: TestCard,
    pm: dict[str, Any],
    *,
    request: bool,
) -> tuple[dict[str, Any], dict[str, Any], StripeError]:
    """A declined (or blocked) test card: the failed charge, the intent back to
    requires_payment_method with the error, the events, and the card error to answer."""
    decline = card.decline_code or "generic_decline"
    message = DECLINE_MESSAGES.get(decline, "Your card was declined.")
    if card.code != "card_declined":
        message = DECLINE_MESSAGES.get(card.code, message)
    if card.blocked:
        outcome = shapes.outcome(
            type="blocked",
            network_status="not_sent_to_network",
            reason="highest_risk_level",
            seller_message="Stripe blocked this payment as too risky.",
        )
        outcome.update(risk_level="highest", risk_score=95)
    else:
        outcome = shapes.outcome(
            type="issuer_declined",
            network_status="declined_by_network",
            reason=decline,
            seller_message="The bank did not return any further details with this decline.",
        )
    charge.update(status="failed", failure_code=card.code, failure_message=message, outcome=outcome)
    ctx.store.insert(charge, type="charge", account=ctx.account)
    error_body: dict[str, Any] = {
        "charge": charge["id"],
        "code": card.code,
        "decline_code": decline,
        "doc_url": "https://stripe.com/docs/error-codes/" + card.code.replace("_", "-"),
        "message": message,
    }
    param = DECLINE_PARAMS.get(card.code)
    if param:
        error_body["param"] = param
    error_body["payment_method"] = pm
    error_body["type"] = "card_error"
    pi["status"] = "requires_payment_method"
    pi["payment_method"] = None
    pi["last_payment_error"] = error_body
    ctx.store.save(pi)
    emit(ctx, "charge.failed", charge, request=request)
    emit(ctx, "payment_intent.payment_failed", pi, request=request)
    error = StripeError(
        message,
        status=402,
        type="card_error",
        code=card.code,
        param=param,
        persist=True,
        extra={
            "charge": charge["id"],
            "decline_code": decline,
            "payment_intent": public(pi),
            "payment_method": pm,
        },
    )
    return pi, charge, error


@route("GET", "/v1/payment_methods/{id}")
def retrieve_payment_method(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "payment_method", name="PaymentMethod"))


# -- charges -----------------------------------------------------------------------------------


@route("GET", "/v1/charges/{id}")
def retrieve_charge(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "charge"))


@route("POST", "/v1/charges/{id}")
def update_charge(ctx: Ctx, id: str) -> dict[str, Any]:
    charge = get(ctx, id, "charge")
    ctx.params.check_known({"metadata", "description", "transfer_group", "receipt_email"})
    for key in ("description", "transfer_group", "receipt_email"):
        if key in ctx.params:
            charge[key] = ctx.params.get_str(key)
    charge["metadata"] = apply_metadata(charge["metadata"], ctx.params.metadata())
    ctx.store.save(charge)
    return out(ctx, charge)


@route("GET", "/v1/charges")
def list_charges(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(LIST_PARAMS | {"payment_intent", "transfer_group", "customer"})
    pi, group = p.get_str("payment_intent"), p.get_str("transfer_group")
    charges = Selection(
        "charge", ctx.account, given({"payment_intent": pi, "transfer_group": group})
    )
    return paginate(ctx, charges, "/v1/charges")


# -- refunds -----------------------------------------------------------------------------------


@route("POST", "/v1/refunds")
def create_refund(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(
        {
            "payment_intent",
            "charge",
            "amount",
            "metadata",
            "reason",
            "refund_application_fee",
            "reverse_transfer",
            "instructions_email",
        }
    )
    if p.get_bool("reverse_transfer") or p.get_bool("refund_application_fee"):
        raise invalid(
            "reverse_transfer/refund_application_fee only apply to destination charges, which "
            "the emulator does not model; reverse the transfer explicitly.",
            param="reverse_transfer",
        )
    charge_id, pi_id = p.get_str("charge"), p.get_str("payment_intent")
    if charge_id and pi_id:
        raise invalid("You can only specify one of charge or payment_intent.", param="charge")
    if pi_id:
        pi = get(ctx, pi_id, "payment_intent", "payment_intent", param="payment_intent")
        if pi["status"] != "succeeded" or not pi["latest_charge"]:
            raise StripeError(
                f"This PaymentIntent ({pi_id}) does not have a successful charge to refund.",
                code="payment_intent_unexpected_state",
                param="payment_intent",
            )
        charge = get(ctx, pi["latest_charge"], "charge")
    elif charge_id:
        charge = get(ctx, charge_id, "charge", param="charge")
    else:
        raise StripeError(
            "One of the following params should be provided for this request: payment_intent "
            "or charge.",
            code="parameter_missing",
        )
    reason = p.get_str("reason")
    if reason and reason not in ("duplicate", "fraudulent", "requested_by_customer"):
        raise invalid(f"Invalid reason: {reason}", param="reason")
    amount = p.get_int("amount")
    refund = refund_charge(ctx, charge, amount, reason, apply_metadata({}, p.metadata()))
    return out(ctx, refund)


def refund_charge(
    ctx: Ctx,
    charge: dict[str, Any],
    amount: int | None,
    reason: str | None,
    metadata: dict[str, str],
) -> dict[str, Any]:
    if charge["status"] != "succeeded":
        raise invalid(f"Charge {charge['id']} has not succeeded and cannot be refunded.")
    if charge["disputed"]:
        raise StripeError(
            f"Charge {charge['id']} has been charged back; cannot issue a refund.",
            code="charge_disputed",
        )
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = remaining if amount is None else amount
    if amount <= 0:
        raise invalid("Refund amount must be positive.", param="amount")
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            code="amount_too_large",
            param="amount",
        )
    refund_id = new_id("re")
    # Refunds come out of the platform balance right away, and may drive it negative.
    txn = money.add_txn(
        ctx,
        account=ctx.account,
        type="refund",
        amount=-amount,
        currency=charge["currency"],
        source=refund_id,
        description="REFUND FOR CHARGE"
        + (f" ({charge['description']})" if charge["description"] else ""),
    )
    refund = shapes.refund(
        id=refund_id,
        amount=amount,
        balance_transaction=txn["id"],
        charge=charge["id"],
        created=ctx.now,
        currency=charge["currency"],
        metadata=metadata,
        payment_intent=charge["payment_intent"],
        payment_method=charge["payment_method"],
        reason=reason,
    )
    ctx.store.insert(refund, type="refund", account=ctx.account)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    ctx.store.save(charge)
    emit(ctx, "refund.created", refund)
    emit(ctx, "charge.refunded", charge)
    return refund


@route("GET", "/v1/refunds/{id}")
def retrieve_refund(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "refund"))


@route("POST", "/v1/refunds/{id}")
def update_refund(ctx: Ctx, id: str) -> dict[str, Any]:
    refund = get(ctx, id, "refund")
    ctx.params.check_known({"metadata"})
    refund["metadata"] = apply_metadata(refund["metadata"], ctx.params.metadata())
    ctx.store.save(refund)
    return out(ctx, refund)


@route("GET", "/v1/refunds")
def list_refunds(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(LIST_PARAMS | {"charge", "payment_intent"})
    charge, pi = p.get_str("charge"), p.get_str("payment_intent")
    refunds = Selection("refund", ctx.account, given({"charge": charge, "payment_intent": pi}))
    return paginate(ctx, refunds, "/v1/refunds")


@route("GET", "/v1/charges/{id}/refunds")
def list_charge_refunds(ctx: Ctx, id: str) -> dict[str, Any]:
    get(ctx, id, "charge")
    refunds = Selection("refund", ctx.account, {"charge": id})
    return paginate(ctx, refunds, f"/v1/charges/{id}/refunds")


# -- disputes ----------------------------------------------------------------------------------


def create_dispute(
    ctx: Ctx, charge: dict[str, Any], *, reason: str = "fraudulent", request: bool = False
) -> dict[str, Any]:
    if charge["status"] != "succeeded":
        raise invalid(f"Charge {charge['id']} did not succeed and cannot be disputed.")
    if charge["disputed"]:
        raise invalid(f"Charge {charge['id']} is already disputed.")
    dispute_id = new_id("dp")
    amount = charge["amount"]
    # The disputed amount and the dispute fee leave the balance immediately.
    txn = money.add_txn(
        ctx,
        account=ctx.account,
        type="adjustment",
        amount=-amount,
        currency=charge["currency"],
        source=dispute_id,
        fee=money.DISPUTE_FEE,
        fee_details=[money.fee_detail(money.DISPUTE_FEE, charge["currency"], "Dispute fee")],
        description=f"Chargeback withdrawal for {charge['id']}",
    )
    dispute = shapes.dispute(
        id=dispute_id,
        amount=amount,
        balance_transactions=[out(ctx, txn)],
        charge=charge["id"],
        created=ctx.now,
        currency=charge["currency"],
        payment_intent=charge["payment_intent"],
        payment_method_details={
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        reason=reason,
        status="needs_response",
    )
    dispute["evidence_details"]["due_by"] = ctx.now + 7 * 86400
    ctx.store.insert(dispute, type="dispute", account=ctx.account)
    charge["disputed"] = True
    ctx.store.save(charge)
    emit(ctx, "charge.dispute.created", dispute, request=request)
    emit(ctx, "charge.dispute.funds_withdrawn", dispute, request=request)
    return dispute


def close_dispute(
    ctx: Ctx, dispute: dict[str, Any], won: bool, *, request: bool = False
) -> dict[str, Any]:
    if dispute["status"] in ("won", "lost"):
        raise invalid(f"Dispute {dispute['id']} is already closed.")
    if won:
        txn = money.add_txn(
            ctx,
            account=ctx.account,
            type="adjustment",
            amount=dispute["amount"],
            currency=dispute["currency"],
            source=dispute["id"],
            description=f"Chargeback reversal for {dispute['charge']}",
        )
        dispute["balance_transactions"].append(out(ctx, txn))
    dispute["status"] = "won" if won else "lost"
    ctx.store.save(dispute)
    if won:
        emit(ctx, "charge.dispute.funds_reinstated", dispute, request=request)
    emit(ctx, "charge.dispute.closed", dispute, request=request)
    return dispute


@route("GET", "/v1/disputes/{id}")
def retrieve_dispute(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "dispute"))


@route("GET", "/v1/disputes")
def list_disputes(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(LIST_PARAMS | {"charge", "payment_intent"})
    charge, pi = p.get_str("charge"), p.get_str("payment_intent")
    disputes = Selection("dispute", ctx.account, given({"charge": charge, "payment_intent": pi}))
    return paginate(ctx, disputes, "/v1/disputes")


@route("POST", "/v1/disputes/{id}")
def update_dispute(ctx: Ctx, id: str) -> dict[str, Any]:
    dispute = get(ctx, id, "dispute")
    ctx.params.check_known({"metadata", "evidence", "submit"})
    for key, value in ctx.params.get_dict("evidence").items():
        if key in dispute["evidence"]:
            dispute["evidence"][key] = value
            dispute["evidence_details"]["has_evidence"] = True
    if ctx.params.get_bool("submit", True) and dispute["evidence_details"]["has_evidence"]:
        dispute["evidence_details"]["submission_count"] += 1
        if dispute["status"] == "needs_response":
            dispute["status"] = "under_review"
    dispute["metadata"] = apply_metadata(dispute["metadata"], ctx.params.metadata())
    ctx.store.save(dispute)
    return out(ctx, dispute)


@route("POST", "/v1/disputes/{id}/close")
def accept_dispute(ctx: Ctx, id: str) -> dict[str, Any]:
    """Closing a dispute through the API means accepting it: it is lost."""
    dispute = get(ctx, id, "dispute")
    return out(ctx, close_dispute(ctx, dispute, won=False, request=True))
