"""The one module that talks to Stripe.

Everything goes through `StripeGateway`, built on `stripe.StripeClient` (the v1 services) with
network retries on. Every POST carries an idempotency key that the caller derives from what
it is doing (the checkout, the payout item, the refund), never a random one: a retry after a
crash or a timeout then replays Stripe's first answer instead of charging or paying twice.

Stripe's exceptions are translated into three kinds the rest of the app can act on:
`GatewayDeclined` (the card or the request was refused: tell the person), `GatewayRejected`
(Stripe refused the request as invalid: a definitive failure), and `GatewayUnavailable`
(network trouble, Stripe's 5xx, rate limits: safe to retry later with the same key).

The writes that batches make by the thousand (transfers, reversals) keep to Stripe's rate
limit (`RateLimit`): a token bucket paces them, and one refused with 429 is sent again, with
the same key, after an exponential pause with jitter, a bounded number of times.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import stripe
from stripe.params import (
    AccountCreateParams,
    RefundCreateParams,
    TransferCreateParams,
    TransferListParams,
)
from stripe.params.checkout import SessionCreateParams

WEBHOOK_TOLERANCE_SECONDS = 300
# Stripe's live mode allows about 100 write requests a second (test mode 25).
STRIPE_WRITES_PER_SECOND = 100.0

Answer = TypeVar("Answer")


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


class GatewayRateLimited(GatewayUnavailable):
    """Stripe's rate limit refused the request (429): the same request, with the same key,
    may be sent again after a pause."""


class InvalidWebhook(Exception):
    """A webhook whose signature, timestamp or body is not right."""


def _translate(error: stripe.StripeError) -> GatewayError:
    code = getattr(error, "code", None)
    message = getattr(error, "user_message", None) or str(error) or error.__class__.__name__
    if isinstance(error, stripe.CardError):
        return GatewayDeclined(message, code=code, stripe_error=error)
    if isinstance(error, stripe.RateLimitError):
        return GatewayRateLimited(message, code=code or "rate_limit", stripe_error=error)
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


class RateLimit:
    """How a gateway keeps to Stripe's rate limit in its batch writes.

    A token bucket lets one write through every 1/`per_second` seconds (it holds one token:
    no burst above the rate); None lets every write through at once (the emulator has no
    limit). A write that Stripe still refuses with 429 waits `first_pause` seconds, doubling
    on each refusal up to `max_pause`, each pause between half and all of that (jitter, so
    that workers refused together do not come back together), and is sent again with the same
    idempotency key, at most `retries` times. Time is `clock` and `sleep`, so that tests
    control it.
    """

    def __init__(
        self,
        per_second: float | None = None,
        *,
        retries: int = 5,
        first_pause: float = 0.5,
        max_pause: float = 20.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.per_second = per_second if per_second and per_second > 0 else None
        self.retries = retries
        self.first_pause = first_pause
        self.max_pause = max_pause
        self.sleep = sleep
        self.clock = clock
        self.jitter = jitter
        self._capacity = 1.0
        self._tokens = self._capacity
        self._filled_at = clock()
        self._lock = threading.Lock()
        # What waiting cost so far (for progress reports): seconds held by the bucket, and
        # refusals and seconds paused after them.
        self.paced_seconds = 0.0
        self.refusals = 0
        self.paused_seconds = 0.0

    def take(self) -> None:
        """Wait for the bucket to let one write through."""
        if self.per_second is None:
            return
        with self._lock:
            now = self.clock()
            elapsed = max(0.0, now - self._filled_at)  # a clock swapped for a test's
            self._tokens = min(self._capacity, self._tokens + elapsed * self.per_second)
            self._filled_at = now
            # The token is taken now, even if it only comes in a moment: the writes waiting
            # after this one queue behind it.
            self._tokens -= 1.0
            wait = -self._tokens / self.per_second if self._tokens < 0 else 0.0
            self.paced_seconds += wait
        if wait > 0:
            self.sleep(wait)

    def pause(self, refusal: int) -> float:
        """How long to wait after the `refusal`-th 429 in a row (1 for the first)."""
        ceiling = min(self.max_pause, self.first_pause * 2 ** (refusal - 1))
        return ceiling * (0.5 + self.jitter() / 2)

    def send(
        self,
        write: Callable[[], Answer],
        on_pause: Callable[[float, int], None] | None = None,
    ) -> Answer:
        """Send `write` (which raises GatewayRateLimited on a 429) paced, and again after a
        pause when refused; raises the last refusal past `retries`."""
        refusals = 0
        while True:
            self.take()
            try:
                return write()
            except GatewayRateLimited:
                refusals += 1
                if refusals > self.retries:
                    raise
                pause = self.pause(refusals)
                with self._lock:
                    self.refusals += 1
                    self.paused_seconds += pause
                if on_pause is not None:
                    on_pause(pause, refusals)
                self.sleep(pause)


@dataclass(frozen=True)
class CheckoutLine:
    name: str
    unit_amount: int
    quantity: int


class StripeGateway:
    def __init__(
        self,
        client: stripe.StripeClient,
        *,
        webhook_secret: str = "",
        rate_limit: RateLimit | None = None,
    ) -> None:
        self.client = client
        self.webhook_secret = webhook_secret
        self.rate_limit = rate_limit or RateLimit()

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
        on_rate_limit: Callable[[float, int], None] | None = None,
    ) -> stripe.Transfer:
        """Paced, and sent again when rate limited (`on_rate_limit(pause, refusals)` hears of
        each pause first)."""
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

        def write() -> stripe.Transfer:
            with self._translated():
                return self.client.v1.transfers.create(params, {"idempotency_key": idempotency_key})

        return self.rate_limit.send(write, on_rate_limit)

    def reverse_transfer(
        self,
        *,
        transfer_id: str,
        amount: int,
        idempotency_key: str,
        metadata: dict[str, str] | None = None,
    ) -> stripe.TransferReversal:
        def write() -> stripe.TransferReversal:
            with self._translated():
                return self.client.v1.transfers.reversals.create(
                    transfer_id,
                    {"amount": amount, "metadata": metadata or {}},
                    {"idempotency_key": idempotency_key},
                )

        return self.rate_limit.send(write)

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
