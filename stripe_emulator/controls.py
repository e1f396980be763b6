"""Test controls under ``/_emulator/``: JSON POSTs without auth (or dashboard form posts).

Each one mirrors a Python method of :class:`~stripe_emulator.Emulator`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from flask import Flask, Response, jsonify, redirect, request, url_for
from flask.typing import ResponseReturnValue

from .errors import StripeError

if TYPE_CHECKING:
    from .emulator import Emulator


def _args() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if isinstance(data, dict):
        return data
    return {k: v for k, v in request.values.items()}


def _from_form() -> bool:
    return request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "yes", "on", "won")


def register_controls(app: Flask, emu: Emulator) -> None:
    def control(path: str, methods: tuple[str, ...] = ("POST",)) -> Callable[..., Any]:
        def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
            @wraps(fn)
            def view(**kwargs: Any) -> ResponseReturnValue:
                try:
                    result = fn(_args(), **kwargs)
                except KeyError as exc:
                    return jsonify(error={"type": "not_found", "message": str(exc)}), 404
                except (ValueError, TypeError) as exc:
                    return jsonify(error={"type": "invalid", "message": str(exc)}), 400
                except StripeError as exc:
                    return jsonify(exc.body()), exc.status
                if request.method == "POST" and _from_form():
                    # Buttons on the dashboard: go back to it.
                    return redirect(url_for("dashboard"), code=303)
                return jsonify(result)

            app.add_url_rule(
                f"/_emulator/{path}",
                endpoint=f"control_{fn.__name__}",
                view_func=view,
                methods=list(methods),
            )
            return view

        return decorator

    @control("reset")
    def reset(_a: dict[str, Any]) -> dict[str, Any]:
        emu.reset()
        return {"ok": True}

    @control("clock", methods=("GET",))
    def clock(_a: dict[str, Any]) -> dict[str, Any]:
        return {"now": emu.clock.now(), "offset": emu.clock.offset}

    @control("advance")
    def advance(a: dict[str, Any]) -> dict[str, Any]:
        seconds = int(a.get("seconds", 0))
        return {"now": emu.advance(seconds), "offset": emu.clock.offset}

    @control("deliver")
    def deliver(_a: dict[str, Any]) -> dict[str, Any]:
        return {"attempted": emu.deliver_due_webhooks()}

    @control("deliveries", methods=("GET",))
    def deliveries(a: dict[str, Any]) -> list[dict[str, Any]]:
        return emu.deliveries(a.get("event"))

    @control("balance", methods=("GET",))
    def balance(a: dict[str, Any]) -> dict[str, Any]:
        return emu.balance(a.get("account") or None)

    @control("disputes")
    def create_dispute(a: dict[str, Any]) -> dict[str, Any]:
        return emu.create_dispute(str(a["charge"]), reason=str(a.get("reason") or "fraudulent"))

    @control("disputes/<dispute_id>/close")
    def close_dispute(a: dict[str, Any], dispute_id: str) -> dict[str, Any]:
        return emu.close_dispute(dispute_id, won=_bool(a.get("won", False)))

    @control("payouts/<payout_id>/fail")
    def fail_payout(_a: dict[str, Any], payout_id: str) -> dict[str, Any]:
        return emu.fail_payout(payout_id)

    @control("faults", methods=("GET", "POST", "DELETE"))
    def faults(a: dict[str, Any]) -> dict[str, Any]:
        if request.method == "POST":
            emu.fail_next(
                str(a["path_prefix"]),
                int(a.get("count", 1)),
                kind=str(a.get("kind", "error")),
                when=str(a.get("when", "before")),
            )
        elif request.method == "DELETE":
            emu.faults.clear()
        return {
            "faults": [
                {
                    "path_prefix": f.path_prefix,
                    "kind": f.kind,
                    "when": f.when,
                    "remaining": f.remaining,
                }
                for f in emu.faults.pending()
            ]
        }

    @control("checkout/sessions/<session_id>/pay")
    def pay(a: dict[str, Any], session_id: str) -> dict[str, Any]:
        return emu.pay_checkout_session(
            session_id, str(a.get("card_number") or "4242424242424242"), a.get("email")
        )

    @control("accounts/<account_id>/onboard")
    def onboard(a: dict[str, Any], account_id: str) -> dict[str, Any]:
        return emu.complete_onboarding(account_id, **{k: str(v) for k, v in a.items()})

    @app.route("/_emulator/health")
    def health() -> Response:
        return jsonify(ok=True, platform=emu.platform_id)
