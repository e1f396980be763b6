"""Browser pages standing in for Stripe's hosted ones, plus a small dashboard.

The hosted pages (checkout, Express onboarding and dashboard, receipts) are what Stripe itself
serves to anyone with the link; the dashboard and the object pages are test controls, served
only when the emulator's controls are on (see ``server.create_app``).

Plain server-rendered HTML; forms post without CSRF tokens on purpose (this is a test double).
All links go through ``url_for`` so they stay right when the app is mounted under a prefix.
"""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING, Any

from flask import Flask, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from .errors import StripeError
from .resources import accounts, checkout, payments
from .resources.common import render
from .store import Selection
from .webhooks import list_deliveries

if TYPE_CHECKING:
    from .emulator import Emulator

ZERO_DECIMAL = payments.ZERO_DECIMAL
SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "cad": "CA$", "aud": "A$", "jpy": "¥"}


def format_amount(amount: int | None, currency: str | None) -> str:
    if amount is None or currency is None:
        return "—"
    currency = currency.lower()
    value = str(amount) if currency in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = SYMBOLS.get(currency)
    sign = "-" if amount < 0 else ""
    value = value.lstrip("-")
    return f"{sign}{symbol}{value}" if symbol else f"{sign}{value} {currency.upper()}"


def format_time(ts: int | None) -> str:
    if not ts:
        return "—"
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def register_pages(app: Flask, emu: Emulator) -> None:
    app.jinja_env.filters["money"] = lambda amount, currency: format_amount(amount, currency)
    app.jinja_env.filters["ts"] = format_time
    app.jinja_env.filters["pretty"] = lambda obj: Markup.escape(json.dumps(obj, indent=2))

    # -- hosted checkout ----------------------------------------------------------------------

    @app.route("/c/pay/<session_id>", methods=["GET", "POST"])
    def checkout_page(session_id: str) -> ResponseReturnValue:
        error: str | None = None
        form: dict[str, str] = {}
        with emu.lock:
            emu.settle()
            session = emu.store.get(session_id)
            if session is None or session.get("object") != "checkout.session":
                abort(404)
            if request.method == "POST" and session["status"] == "open":
                form = {k: str(v).strip() for k, v in request.form.items()}
                pm = payments.card_for_number(form.get("card_number", ""))
                if pm is None:
                    error = "Your card number is invalid."
                else:
                    ctx = emu.ctx(account=emu.store.account_of(session_id) or "")
                    with emu.store.transaction():
                        failure = checkout.pay_session(
                            ctx, session, pm, form.get("email") or None, form.get("name") or None
                        )
                    if failure is None:
                        target = checkout.success_url(session)
                        if target:
                            return redirect(target, code=303)
                    else:
                        error = failure.message
            session = emu.store.get(session_id)
            assert session is not None
        status = 402 if error else 200
        return (
            render_template(
                "checkout.html",
                session=session,
                items=session["_line_items"],
                error=error,
                form=form,
                success_url=checkout.success_url(session),
                test_cards=TEST_CARDS,
            ),
            status,
        )

    # -- hosted Express onboarding ------------------------------------------------------------

    @app.route("/setup/e/<account_id>/<token>", methods=["GET", "POST"])
    def onboarding_page(account_id: str, token: str) -> ResponseReturnValue:
        with emu.lock:
            ctx = emu.ctx()
            link = accounts.find_account_link(ctx, account_id, token)
            account = emu.store.get(account_id)
            if link is None or account is None:
                abort(404)
            if link["used"] or ctx.now > link["expires_at"]:
                # Stripe sends expired or already used links to refresh_url for a new one.
                return redirect(link["refresh_url"], code=303)
            if request.method == "POST":
                details = {k: str(v).strip() for k, v in request.form.items()}
                details["ip"] = request.remote_addr or "127.0.0.1"
                with emu.store.transaction():
                    accounts.complete_onboarding(ctx, account, details)
                    link["used"] = True
                    emu.store.save(link)
                return redirect(link["return_url"], code=303)
        name = account["business_profile"].get("name") or "Test Business"
        return render_template(
            "onboarding.html",
            account=account,
            link=link,
            prefill={
                "business_name": name,
                "first_name": "Jenny",
                "last_name": "Rosen",
                "email": account.get("email") or "jenny.rosen@example.com",
                "phone": "0000000000",
                "dob": "1901-01-01",
                "url": account["business_profile"].get("url") or "https://example.com",
                "product_description": account["business_profile"].get("product_description")
                or "Handmade goods",
                "routing_number": "110000000",
                "account_number": "000123456789",
            },
        )

    # -- Express dashboard (login links) ------------------------------------------------------

    @app.route("/express/<account_id>/<token>")
    def express_dashboard(account_id: str, token: str) -> ResponseReturnValue:
        with emu.lock:
            now = emu.clock.now()
            account = emu.store.get(account_id)
            if account is None or account.get("object") != "account":
                abort(404)
            payments_in = [render(emu.store, c, now) for c in emu.store.query("charge", account_id)]
            payouts = [render(emu.store, p, now) for p in emu.store.query("payout", account_id)]
        return render_template(
            "express.html",
            account=account,
            balance=emu.balance(account_id),
            payments=payments_in,
            payouts=payouts,
        )

    # -- receipts (a charge's receipt_url) ------------------------------------------------------

    @app.route("/receipts/<charge_id>")
    def receipt_page(charge_id: str) -> ResponseReturnValue:
        charge = emu.get(charge_id)
        if charge is None or charge.get("object") != "charge" or charge["status"] != "succeeded":
            abort(404)
        return render_template("receipt.html", charge=charge)

    # -- emulator dashboard -------------------------------------------------------------------

    @app.route("/")
    @app.route("/_emulator/dashboard")
    def dashboard() -> ResponseReturnValue:
        emu.settle()
        with emu.lock:
            now = emu.clock.now()
            store = emu.store

            def objs(type: str, account: str | None = None) -> list[dict[str, Any]]:
                # The newest 50, read as far as needed: not every object rendered first.
                newest = itertools.islice(store.scan(Selection(type, account)), 50)
                return [render(store, o, now) for o in newest]

            data = {
                "accounts": objs("account", ""),
                "sessions": objs("checkout.session"),
                "payment_intents": objs("payment_intent"),
                "charges": [c for c in objs("charge") if not c["id"].startswith("py_")],
                "refunds": objs("refund"),
                "transfers": objs("transfer"),
                "payouts": objs("payout"),
                "disputes": objs("dispute"),
                "endpoints": objs("webhook_endpoint"),
                "events": objs("event")[:30],
            }
            account_balances = {a["id"]: emu.balance(a["id"]) for a in data["accounts"]}
        return render_template(
            "dashboard.html",
            now=now,
            offset=emu.clock.offset,
            platform_id=emu.platform_id,
            platform_balance=emu.balance(),
            account_balances=account_balances,
            deliveries=list_deliveries(emu)[:50],
            faults=emu.faults.pending(),
            **data,
        )

    @app.route("/_emulator/objects/<obj_id>")
    def object_page(obj_id: str) -> ResponseReturnValue:
        obj = emu.get(obj_id)
        if obj is None:
            abort(404)
        events = [e for e in emu.objects("event") if e["data"]["object"].get("id") == obj_id]
        return render_template("object.html", obj=obj, events=events)

    @app.errorhandler(404)
    def not_found(_exc: Exception) -> ResponseReturnValue:
        if request.path.startswith("/v1/"):
            return {"error": {"type": "invalid_request_error", "message": "Not found"}}, 404
        return render_template(
            "message.html", title="Not found", message="There is nothing here."
        ), 404

    @app.errorhandler(StripeError)
    def stripe_error(exc: StripeError) -> ResponseReturnValue:
        return render_template("message.html", title="Error", message=exc.message), exc.status

    app.add_template_global(lambda: url_for("dashboard"), "dashboard_url")


TEST_CARDS = [
    ("4242 4242 4242 4242", "Succeeds (funds pending for the configured delay)"),
    ("4000 0000 0000 0077", "Succeeds, funds available immediately"),
    ("4000 0000 0000 0002", "Declined (generic_decline)"),
    ("4000 0000 0000 9995", "Declined (insufficient_funds)"),
    ("4000 0000 0000 9987", "Declined (lost_card)"),
    ("4000 0000 0000 0069", "Declined (expired_card)"),
    ("4000 0000 0000 0127", "Declined (incorrect_cvc)"),
    ("4000 0000 0000 0119", "Declined (processing_error)"),
    ("4100 0000 0000 0019", "Blocked as fraudulent"),
    ("4000 0000 0000 0259", "Succeeds, then disputed"),
]
