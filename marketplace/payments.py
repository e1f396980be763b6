"""The marketplace's port to the payment provider.

Only payouts talks to Stripe, and the marketplace may not import payouts: so the marketplace
states here what it needs, and payouts registers an implementation at start-up. The same
goes for showing, before paying, how each line's money will be shared (`split_preview`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from flask import Flask, current_app

if TYPE_CHECKING:
    from marketplace.order_models import Checkout


class PaymentError(Exception):
    """The provider could not do it; `retryable` when trying again later may work."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class AlreadyPaid(PaymentError):
    """The payment page cannot be cancelled: the buyer has just paid."""


@dataclass(frozen=True)
class PaymentPage:
    session_id: str
    url: str


@dataclass(frozen=True)
class RefundIntent:
    """What the provider is asked to refund, read before the transaction ends: nothing is
    loaded from the database while the provider is being called."""

    payment_intent_id: str
    amount_minor: int
    # Our refund's id: the idempotency key and the metadata that match its webhook to it.
    refund_public_id: str
    order_reference: str


@dataclass(frozen=True)
class RefundResult:
    provider_refund_id: str
    succeeded: bool
    failure_message: str | None = None


class PaymentProvider(Protocol):
    def open_payment_page(
        self, checkout: Checkout, *, success_url: str, cancel_url: str
    ) -> PaymentPage: ...

    def page_url(self, stored_url: str) -> str:
        """The payment page's URL, kept when it was made, as the buyer's browser should open
        it now."""
        ...

    def close_payment_page(self, checkout: Checkout) -> None:
        """Expire the payment page so it can no longer be paid (raises AlreadyPaid)."""

    def refund(self, intent: RefundIntent) -> RefundResult: ...

    def find_refund(self, intent: RefundIntent) -> RefundResult | None:
        """What an earlier attempt of this refund made at the provider, if anything: asked
        before sending it again once the provider may have forgotten its idempotency key."""


@dataclass(frozen=True)
class PreviewLine:
    """A line about to be bought, as the split preview sees it."""

    key: str
    shop_id: int
    product_id: int
    cart_line_id: int | None
    gross_minor: int
    # Set for a line already bought: its split was fixed at checkout.
    checkout_line_id: int | None = None
    # What the line has given back to the buyer so far (a line already bought).
    refunded_minor: int = 0


@dataclass(frozen=True)
class SplitPart:
    label: str
    amount_minor: int
    role: str
    # This party's part of the line's refunds: refunds are split as the sale was.
    refunded_minor: int = 0


SplitPreview = dict[str, list[SplitPart]]


class SplitPreviewer(Protocol):
    def __call__(self, lines: Sequence[PreviewLine], buyer_id: int | None) -> SplitPreview: ...


def register_provider(app: Flask, provider: PaymentProvider) -> None:
    app.extensions["kindred_payment_provider"] = provider


def provider() -> PaymentProvider:
    found = current_app.extensions.get("kindred_payment_provider")
    if found is None:
        raise PaymentError("no payment provider is configured")
    return found


def register_split_previewer(app: Flask, previewer: SplitPreviewer) -> None:
    app.extensions["kindred_split_previewer"] = previewer


def split_preview(lines: Sequence[PreviewLine], buyer_id: int | None) -> SplitPreview:
    previewer = current_app.extensions.get("kindred_split_previewer")
    if previewer is None:
        return {}
    return previewer(lines, buyer_id)
