"""Stripe-shaped API errors.

Handlers raise :class:`StripeError`; the API layer turns it into Stripe's JSON error object
with the matching HTTP status, which the SDK then maps onto its exception classes.
"""

from __future__ import annotations

from typing import Any

DOC_BASE = "https://stripe.com/docs/error-codes/"


class StripeError(Exception):
    """An error response. ``persist`` decides whether state written so far is kept (a declined
    card leaves a failed charge behind); :attr:`began_execution` whether the response is saved
    for idempotent replays."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        persist: bool = False,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.code = code
        self.param = param
        self.persist = persist
        self.extra = extra or {}
        self.headers = headers or {}

    @property
    def began_execution(self) -> bool:
        """Stripe saves the result of every request that began executing, errors included (a
        declined card, a balance too low, a 500), and replays it for the same idempotency key.
        A request whose parameters failed validation never began, so nothing is saved: the
        emulator's parameter errors are the invalid-request errors that name a parameter."""
        return not (self.type == "invalid_request_error" and self.param is not None)

    def body(self, request_id: str | None = None) -> dict[str, Any]:
        err: dict[str, Any] = {}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOC_BASE + self.code
        err["message"] = self.message
        if self.param:
            err["param"] = self.param
        if request_id:
            err["request_log_url"] = f"https://dashboard.stripe.com/test/logs/{request_id}?t=0"
        err.update(self.extra)
        err["type"] = self.type
        return {"error": err}


def invalid(message: str, param: str | None = None, code: str | None = None) -> StripeError:
    return StripeError(message, param=param, code=code or ("parameter_invalid" if param else None))


def missing_param(param: str) -> StripeError:
    return StripeError(f"Missing required param: {param}.", param=param, code="parameter_missing")


def no_such(kind: str, obj_id: str, param: str | None = "id") -> StripeError:
    return StripeError(
        f"No such {kind}: '{obj_id}'", status=404, code="resource_missing", param=param
    )


def balance_insufficient(message: str | None = None) -> StripeError:
    return StripeError(
        message
        or (
            "You have insufficient available funds in your Stripe account. Try adding funds "
            "directly to your available balance by creating Charges using the "
            "4000000000000077 test card."
        ),
        code="balance_insufficient",
    )


def api_error(message: str = "An unknown error occurred") -> StripeError:
    return StripeError(message, status=500, type="api_error")


def idempotency_in_progress(key: str) -> StripeError:
    """Another request with this key is still executing (the SDK retries a 409 on its own)."""
    return StripeError(
        "There is currently another in-progress request using this Idempotent Key (that "
        "probably means you submitted twice, and the other request is still going through): "
        f"{key}. Please try again later.",
        status=409,
        type="idempotency_error",
    )
