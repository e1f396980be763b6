"""The one module that talks to Stripe.

Everything goes through `StripeGateway`, built on `stripe.StripeClient` (the v1 services) with
network retries on. Every POST carries an idempotency key that the caller derives from what
it is doing (the checkout, the payout item, the refund), never a random one: a retry after a
crash or a timeout then replays Stripe's first answer instead of charging or paying twice.

Stripe's exceptions are translated into three kinds the rest of the app can act on:
`GatewayDeclined` (the card or the request was refused: tell the person), `GatewayRejected`
(Stripe refused the request as invalid: a definitive failure), and `GatewayUnavailable`
(network trouble, Stripe's 5xx, rate limits: safe to retry later with the same key).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import stripe
from stripe.params import (
    AccountCreateParams,
    RefundCreateParams,
    TransferCreateParams,
    TransferListParams,
)
from stripe.params.checkout import SessionCreateParams

WEBHOOK_TOLERANCE_SECONDS = 300


def _signed_at(signature_header: str) -> int:
    """The `t=` of a Stripe-Signature header; 0 when it has none (the library then refuses)."""
    for item in signature_header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t" and value.isascii() and value.isdigit() and len(value) <= 12:
            return int(value)
    return 0


class GatewayError(Exception):
    def __init__(
        self, message: str, *, code: str | None = None, stripe_error: Exception | None = None
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.stripe_error = stripe_error


class GatewayDeclined(GatewayError):
    """The payment method or the request was refused (card declined, insufficient funds)."""


class GatewayRejected(GatewayError):
    """Stripe refused the request as invalid; retrying the same request will not help."""


class GatewayUnavailable(GatewayError):
    """Stripe could not be reached or failed; retry later with the same idempotency key."""


class InvalidWebhook(Exception):
    """A webhook whose signature, timestamp or body is not right."""


def _translate(error: stripe.StripeError) -> GatewayError:
    code = getattr(error, "code", None)
    message = getattr(error, "user_message", None) or str(error) or error.__class__.__name__
    if isinstance(error, stripe.CardError):
        return GatewayDeclined(message, code=code, stripe_error=error)
    if isinstance(error, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        return GatewayUnavailable(message, code=code, stripe_error=error)
    if getattr(error, "http_status", None) == 409:
        # Another request with the same key is still running (ours, from another worker):
        # its answer will be replayed to a later try.
        return GatewayUnavailable(message, code=code or "idempotency_error", stripe_error=error)
    if isinstance(error, stripe.IdempotencyError):
        # Same key, other parameters: a programming error on our side, never retryable.
        return GatewayRejected(message, code=code or "idempotency_error", stripe_error=error)
    return GatewayRejected(message, code=code, stripe_error=error)


def _has_metadata(obj: stripe.StripeObject, wanted: dict[str, str]) -> bool:
    metadata = getattr(obj, "metadata", None)
    found = metadata.to_dict() if metadata else {}
    return all(found.get(key) == value for key, value in wanted.items())


@dataclass(frozen=True)
class CheckoutLine:
    name: str
    unit_amount: int
    quantity: int


class StripeGateway:
    def __init__(self, client: stripe.StripeClient, *, webhook_secret: str = "") -> None:
        self.client = client
        self.webhook_secret = webhook_secret

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except stripe.StripeError as error:
            raise _translate(error) from error

    # --- payments ---------------------------------------------------------------------------

    def create_checkout_session(
        self,
        *,
        lines: list[CheckoutLine],
        currency: str,
        transfer_group: str,
        success_url: str,
        cancel_url: str,
        expires_at: int,
        idempotency_key: str,
        customer_email: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> stripe.checkout.Session:
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency,
                        "unit_amount": line.unit_amount,
                        "product_data": {"name": line.name},
                    },
                    "quantity": line.quantity,
                }
                for line in lines
            ],
            "payment_intent_data": {"transfer_group": transfer_group, "metadata": metadata or {}},
            "metadata": metadata or {},
            "client_reference_id": transfer_group,
            "success_url": success_url,
            "cancel_url": cancel_url,
            "expires_at": expires_at,
        }
        if customer_email:
            params["customer_email"] = customer_email
        with self._translated():
            return self.client.v1.checkout.sessions.create(
                params, {"idempotency_key": idempotency_key}
            )

    def retrieve_checkout_session(self, session_id: str) -> stripe.checkout.Session:
        with self._translated():
            return self.client.v1.checkout.sessions.retrieve(
                session_id, {"expand": ["payment_intent", "payment_intent.latest_charge"]}
            )

    def expire_checkout_session(
        self, session_id: str, *, idempotency_key: str
    ) -> stripe.checkout.Session:
        with self._translated():
            return self.client.v1.checkout.sessions.expire(
                session_id, None, {"idempotency_key": idempotency_key}
            )

    def retrieve_payment_intent(self, payment_intent_id: str) -> stripe.PaymentIntent:
        with self._translated():
            return self.client.v1.payment_intents.retrieve(
                payment_intent_id,
                {"expand": ["latest_charge", "latest_charge.balance_transaction"]},
            )

    def retrieve_charge(self, charge_id: str) -> stripe.Charge:
        with self._translated():
            return self.client.v1.charges.retrieve(charge_id, {"expand": ["balance_transaction"]})

    def refund(
        self,
        *,
        payment_intent: str,
        amount: int,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> stripe.Refund:
        params: RefundCreateParams = {
            "payment_intent": payment_intent,
            "amount": amount,
            "metadata": metadata or {},
        }
        with self._translated():
            return self.client.v1.refunds.create(params, {"idempotency_key": idempotency_key})

    def find_refund(self, *, payment_intent: str, metadata: dict[str, str]) -> stripe.Refund | None:
        """The refund of `payment_intent` whose metadata holds all of `metadata`: what an
        earlier attempt made, once its idempotency key has expired."""
        with self._translated():
            found = self.client.v1.refunds.list({"payment_intent": payment_intent, "limit": 100})
            for refund in found.auto_paging_iter():
                if _has_metadata(refund, metadata):
                    return refund
        return None

    # --- Connect ----------------------------------------------------------------------------

    def create_express_account(
        self,
        *,
        email: str,
        country: str,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> stripe.Account:
        params: AccountCreateParams = {
            "controller": {
                "fees": {"payer": "application"},
                "losses": {"payments": "application"},
                "stripe_dashboard": {"type": "express"},
            },
            "country": country,
            "email": email,
            "capabilities": {"transfers": {"requested": True}},
            "metadata": metadata or {},
        }
        with self._translated():
            return self.client.v1.accounts.create(params, {"idempotency_key": idempotency_key})

    def retrieve_account(self, account_id: str) -> stripe.Account:
        with self._translated():
            return self.client.v1.accounts.retrieve(account_id)

    def create_account_link(
        self, *, account: str, refresh_url: str, return_url: str, idempotency_key: str
    ) -> stripe.AccountLink:
        with self._translated():
            return self.client.v1.account_links.create(
                {
                    "account": account,
                    "refresh_url": refresh_url,
                    "return_url": return_url,
                    "type": "account_onboarding",
                },
                {"idempotency_key": idempotency_key},
            )

    def create_login_link(self, *, account: str, idempotency_key: str) -> stripe.LoginLink:
        with self._translated():
            return self.client.v1.accounts.login_links.create(
                account, None, {"idempotency_key": idempotency_key}
            )

    # --- money movement ---------------------------------------------------------------------

    def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        source_transaction: str | None = None,
        transfer_group: str | None = None,
        metadata: dict[str, str] | None = None,
    ) -> stripe.Transfer:
        params: TransferCreateParams = {
            "amount": amount,
            "currency": currency,
            "destination": destination,
            "metadata": metadata or {},
        }
        if source_transaction:
            params["source_transaction"] = source_transaction
        if transfer_group:
            params["transfer_group"] = transfer_group
        with self._translated():
            return self.client.v1.transfers.create(params, {"idempotency_key": idempotency_key})

    def reverse_transfer(
        self,
        *,
        transfer_id: str,
        amount: int,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> stripe.TransferReversal:
        with self._translated():
            return self.client.v1.transfers.reversals.create(
                transfer_id,
                {"amount": amount, "metadata": metadata or {}},
                {"idempotency_key": idempotency_key},
            )

    def find_reversal(
        self, *, transfer_id: str, metadata: dict[str, str]
    ) -> stripe.TransferReversal | None:
        """The reversal of `transfer_id` whose metadata holds all of `metadata`."""
        with self._translated():
            found = self.client.v1.transfers.reversals.list(transfer_id, {"limit": 100})
            for reversal in found.auto_paging_iter():
                if _has_metadata(reversal, metadata):
                    return reversal
        return None

    def retrieve_transfer(self, transfer_id: str) -> stripe.Transfer:
        with self._translated():
            return self.client.v1.transfers.retrieve(transfer_id)

    def iter_transfers(self, *, destination: str | None = None) -> Iterator[stripe.Transfer]:
        params: TransferListParams = {"limit": 100}
        if destination:
            params["destination"] = destination
        with self._translated():
            yield from self.client.v1.transfers.list(params).auto_paging_iter()

    def find_transfer(
        self, *, destination: str, transfer_group: str | None, metadata: dict[str, str]
    ) -> stripe.Transfer | None:
        """The transfer to `destination` (in `transfer_group`) whose metadata holds all of
        `metadata`: what an earlier attempt made, once its idempotency key has expired."""
        params: TransferListParams = {"limit": 100, "destination": destination}
        if transfer_group:
            params["transfer_group"] = transfer_group
        with self._translated():
            for transfer in self.client.v1.transfers.list(params).auto_paging_iter():
                if _has_metadata(transfer, metadata):
                    return transfer
        return None

    def balance(self, account: str | None = None) -> stripe.Balance:
        options: stripe.RequestOptions = {"stripe_account": account} if account else {}
        with self._translated():
            return self.client.v1.balance.retrieve(None, options)

    def retrieve_balance_transaction(self, transaction_id: str) -> stripe.BalanceTransaction:
        with self._translated():
            return self.client.v1.balance_transactions.retrieve(transaction_id)

    # --- hosted pages -----------------------------------------------------------------------

    def browser_url(self, url: str) -> str:
        """A hosted page's URL (payment, onboarding, dashboard) as the browser should open it:
        Stripe's own, as they are."""
        return url

    # --- webhooks ---------------------------------------------------------------------------

    def construct_event(self, payload: bytes, signature_header: str) -> stripe.Event:
        """Verify a webhook's signature (raw body, 5-minute tolerance) and parse it.

        The tolerance holds both ways: Stripe's library only refuses old timestamps, so a
        signature dated in the future would stay replayable until that time came.
        """
        if not self.webhook_secret:
            raise InvalidWebhook("no webhook signing secret is configured")
        if _signed_at(signature_header) > time.time() + WEBHOOK_TOLERANCE_SECONDS:
            raise InvalidWebhook("the signature's timestamp is in the future")
        try:
            return stripe.Webhook.construct_event(
                payload, signature_header, self.webhook_secret, WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as error:
            raise InvalidWebhook(str(error)) from error
        except ValueError as error:
            raise InvalidWebhook("the body is not a JSON event") from error
