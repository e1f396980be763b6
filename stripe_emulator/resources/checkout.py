"""Checkout sessions (hosted payment pages) in ``payment`` mode."""

from __future__ import annotations

from typing import Any

from .. import shapes
from ..context import Ctx
from ..errors import StripeError, invalid, missing_param
from ..ids import checkout_session_id, new_id
from ..params import Params, apply_metadata, as_int, validate_metadata
from ..router import route
from ..store import Selection, given
from .common import LIST_PARAMS, get, out, paginate
from .events import emit
from .payments import attempt_payment, cancel_payment_intent_obj, check_amount, new_payment_intent

MIN_EXPIRY = 30 * 60
MAX_EXPIRY = 24 * 3600

_SESSION_PARAMS = frozenset(
    {
        "mode",
        "line_items",
        "payment_intent_data",
        "metadata",
        "success_url",
        "cancel_url",
        "return_url",
        "client_reference_id",
        "customer_email",
        "expires_at",
        "payment_method_types",
        "locale",
        "submit_type",
        "billing_address_collection",
        "ui_mode",
        "customer",
        "customer_creation",
        "allow_promotion_codes",
        "phone_number_collection",
    }
)
_PI_DATA = frozenset(
    {
        "transfer_group",
        "metadata",
        "description",
        "receipt_email",
        "statement_descriptor",
        "statement_descriptor_suffix",
        "capture_method",
        "setup_future_usage",
    }
)


def _line_items(ctx: Ctx) -> list[dict[str, Any]]:
    raw = ctx.params.get_list("line_items")
    if not raw:
        raise missing_param("line_items")
    items = []
    for i, entry in enumerate(raw):
        prefix = f"line_items[{i}]"
        if not isinstance(entry, dict):
            raise invalid(f"Invalid {prefix}", param=prefix)
        if "price" in entry:
            raise invalid(
                "The emulator only supports line items with inline price_data.",
                param=f"{prefix}[price]",
            )
        price_data = entry.get("price_data")
        if not isinstance(price_data, dict):
            raise missing_param(f"{prefix}[price_data]")
        pd = Params(price_data)
        currency = pd.currency()
        assert currency is not None
        unit_amount = as_int(
            price_data.get("unit_amount"), f"{prefix}[price_data][unit_amount]", required=True
        )
        assert unit_amount is not None
        if unit_amount < 0:
            raise invalid(
                "Invalid non-negative integer", param=f"{prefix}[price_data][unit_amount]"
            )
        product_data = price_data.get("product_data")
        if not isinstance(product_data, dict) or not product_data.get("name"):
            raise missing_param(f"{prefix}[price_data][product_data][name]")
        quantity = as_int(entry.get("quantity"), f"{prefix}[quantity]", required=True)
        assert quantity is not None
        if quantity < 1:
            raise invalid("Quantity must be at least 1", param=f"{prefix}[quantity]")
        product_id = new_id("prod", 14)
        price = shapes.price(
            id=new_id("price"),
            created=ctx.now,
            currency=currency,
            product=product_id,
            unit_amount=unit_amount,
            unit_amount_decimal=str(unit_amount),
        )
        items.append(
            shapes.line_item(
                id=new_id("li"),
                amount_subtotal=unit_amount * quantity,
                amount_total=unit_amount * quantity,
                currency=currency,
                description=str(product_data["name"]),
                metadata=validate_metadata(entry.get("metadata") or {}, f"{prefix}[metadata]"),
                price=price,
                quantity=quantity,
                _product_description=product_data.get("description"),
                _images=product_data.get("images") or [],
            )
        )
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise invalid("All line items must use the same currency.", param="line_items")
    return items


@route("POST", "/v1/checkout/sessions")
def create_session(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(_SESSION_PARAMS)
    mode = p.req_str("mode")
    if mode != "payment":
        raise invalid("The emulator only supports mode=payment.", param="mode")
    if p.get_str("ui_mode", default="hosted") != "hosted":
        raise invalid("The emulator only supports ui_mode=hosted.", param="ui_mode")
    items = _line_items(ctx)
    total = sum(item["amount_total"] for item in items)
    currency = items[0]["currency"]
    check_amount(total, currency, param="line_items")
    pi_data = p.get_dict("payment_intent_data")
    for key in pi_data:
        if key not in _PI_DATA:
            raise StripeError(
                f"Received unknown parameter: payment_intent_data[{key}]",
                code="parameter_unknown",
                param=f"payment_intent_data[{key}]",
            )
    if pi_data.get("capture_method", "automatic") != "automatic":
        raise invalid(
            "The emulator only supports automatic capture.",
            param="payment_intent_data[capture_method]",
        )
    expires_at = p.get_int("expires_at", default=ctx.now + MAX_EXPIRY)
    assert expires_at is not None
    if not ctx.now + MIN_EXPIRY <= expires_at <= ctx.now + MAX_EXPIRY:
        raise invalid(
            "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout "
            "Session creation.",
            param="expires_at",
        )
    session_id = checkout_session_id()
    session = shapes.checkout_session(
        id=session_id,
        amount_subtotal=total,
        amount_total=total,
        cancel_url=p.get_str("cancel_url"),
        client_reference_id=p.get_str("client_reference_id"),
        created=ctx.now,
        currency=currency,
        customer_email=p.get_str("customer_email"),
        expires_at=expires_at,
        locale=p.get_str("locale"),
        metadata=apply_metadata({}, p.metadata()),
        submit_type=p.get_str("submit_type"),
        success_url=p.get_str("success_url"),
        url=f"{ctx.emu.base_url()}/c/pay/{session_id}",
        _line_items=items,
        _payment_intent_data={
            "transfer_group": pi_data.get("transfer_group"),
            "description": pi_data.get("description"),
            "receipt_email": pi_data.get("receipt_email"),
            "metadata": validate_metadata(
                pi_data.get("metadata") or {}, "payment_intent_data[metadata]"
            ),
        },
    )
    ctx.store.insert(session, type="checkout.session", account=ctx.account)
    ctx.store.add_timer(expires_at, "session_expire", session_id)
    return out(ctx, session)


def success_url(session: dict[str, Any]) -> str | None:
    url = session.get("success_url")
    # Stripe substitutes the literal placeholder with the session id.
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None


def pay_session(
    ctx: Ctx, session: dict[str, Any], payment_method: str, email: str | None, name: str | None
) -> StripeError | None:
    """Pay an open session from the hosted page; returns the card error, if any."""
    if session["status"] != "open":
        raise invalid(f"This Checkout Session is {session['status']}.")
    pi = ctx.store.get(session["payment_intent"]) if session["payment_intent"] else None
    if pi is None:
        # The PaymentIntent is only created when the customer first submits the form.
        data = session["_payment_intent_data"]
        pi = new_payment_intent(
            ctx,
            amount=session["amount_total"],
            currency=session["currency"],
            metadata=data["metadata"],
            description=data["description"],
            transfer_group=data["transfer_group"],
            receipt_email=data["receipt_email"] or email,
        )
        session["payment_intent"] = pi["id"]
        ctx.store.save(session)
    pi, _charge, error = attempt_payment(
        ctx, pi, payment_method, request=False, billing_email=email, billing_name=name
    )
    if error:
        return error
    session.update(
        customer_details=shapes.customer_details(email or session["customer_email"], name),
        payment_status="paid",
        status="complete",
    )
    ctx.store.save(session)
    emit(ctx, "checkout.session.completed", session, request=False)
    return None


def expire_session(ctx: Ctx, session: dict[str, Any], *, request: bool) -> dict[str, Any]:
    if session["status"] != "open":
        raise invalid(
            f'Only Checkout Sessions with a status in ["open"] can be expired. This Checkout '
            f'Session has a status of "{session["status"]}".',
            param="session",
        )
    session["status"] = "expired"
    ctx.store.save(session)
    pi = ctx.store.get(session["payment_intent"]) if session["payment_intent"] else None
    if pi is not None and pi["status"] in ("requires_payment_method", "requires_confirmation"):
        cancel_payment_intent_obj(ctx, pi, "abandoned", request=request)
    emit(ctx, "checkout.session.expired", session, request=request)
    return session


@route("GET", "/v1/checkout/sessions/{id}")
def retrieve_session(ctx: Ctx, id: str) -> dict[str, Any]:
    return _with_line_items(ctx, get(ctx, id, "checkout.session"))


def _with_line_items(ctx: Ctx, session: dict[str, Any]) -> dict[str, Any]:
    data = out(ctx, session)
    # ``line_items`` is only present when expanded, as on Stripe.
    if "line_items" in ctx.params.expand():
        data["line_items"] = {
            "object": "list",
            "data": _public_items(session),
            "has_more": False,
            "url": f"/v1/checkout/sessions/{session['id']}/line_items",
        }
    return data


def _public_items(session: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {k: v for k, v in item.items() if not k.startswith("_")} for item in session["_line_items"]
    ]


@route("GET", "/v1/checkout/sessions")
def list_sessions(ctx: Ctx) -> dict[str, Any]:
    p = ctx.params
    p.check_known(
        LIST_PARAMS
        | {
            "payment_intent",
            "status",
            "customer",
            "customer_details",
            "payment_link",
            "subscription",
        }
    )
    pi, status = p.get_str("payment_intent"), p.get_str("status")
    sessions = Selection(
        "checkout.session",
        ctx.account,
        given({"payment_intent": pi}),
        where=lambda s: not status or s["status"] == status,
    )
    return paginate(ctx, sessions, "/v1/checkout/sessions")


@route("POST", "/v1/checkout/sessions/{id}/expire")
def expire(ctx: Ctx, id: str) -> dict[str, Any]:
    session = get(ctx, id, "checkout.session")
    return out(ctx, expire_session(ctx, session, request=True))


@route("POST", "/v1/checkout/sessions/{id}")
def update_session(ctx: Ctx, id: str) -> dict[str, Any]:
    session = get(ctx, id, "checkout.session")
    ctx.params.check_known({"metadata"})
    session["metadata"] = apply_metadata(session["metadata"], ctx.params.metadata())
    ctx.store.save(session)
    return out(ctx, session)


@route("GET", "/v1/checkout/sessions/{id}/line_items")
def list_line_items(ctx: Ctx, id: str) -> dict[str, Any]:
    session = get(ctx, id, "checkout.session")
    ctx.params.check_known(LIST_PARAMS)
    items = _public_items(session)
    limit = ctx.params.get_int("limit", default=10) or 10
    start = 0
    after = ctx.params.get_str("starting_after")
    if after:
        ids = [i["id"] for i in items]
        start = ids.index(after) + 1 if after in ids else len(items)
    page = items[start : start + limit]
    return {
        "object": "list",
        "data": page,
        "has_more": start + limit < len(items),
        "url": f"/v1/checkout/sessions/{id}/line_items",
    }
