"""Fixtures for the emulator tests: an in-process emulator and an SDK client bound to it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import stripe

from stripe_emulator import Emulator

API_KEY = "sk_test_emulator"
PUBLIC_URL = "http://emulator.test"


@dataclass
class Inbox:
    """A webhook receiver: records deliveries and answers with a configurable status."""

    status: int = 200
    deliveries: list[tuple[str, bytes, dict[str, str]]] = field(default_factory=list)
    fail_with: Exception | None = None

    def __call__(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        self.deliveries.append((url, body, headers))
        if self.fail_with is not None:
            raise self.fail_with
        return self.status

    def types(self) -> list[str]:
        import json

        return [json.loads(body)["type"] for _, body, _ in self.deliveries]


@pytest.fixture
def emu() -> Iterator[Emulator]:
    emulator = Emulator(db_path=":memory:", public_url=PUBLIC_URL)
    yield emulator
    emulator.close()


@pytest.fixture
def inbox(emu: Emulator) -> Inbox:
    box = Inbox()
    emu.webhook_sender = box
    return box


def _make_client(emu: Emulator, retries: int = 0, key: str = API_KEY) -> stripe.StripeClient:
    # retry_sleep=0: the SDK's retry back-off would only slow the tests down.
    return stripe.StripeClient(
        key, http_client=emu.http_client(retry_sleep=0.0), max_network_retries=retries
    )


@pytest.fixture
def client(emu: Emulator) -> stripe.StripeClient:
    return _make_client(emu)


@pytest.fixture
def make_client(emu: Emulator) -> Any:
    def factory(retries: int = 0, key: str = API_KEY) -> stripe.StripeClient:
        return _make_client(emu, retries, key)

    return factory


# Helpers are exposed through a fixture (not imported) so that these tests never depend on how
# pytest puts test directories on sys.path next to the rest of the project's tests.
class Helpers:
    API_KEY = API_KEY
    PUBLIC_URL = PUBLIC_URL

    def __init__(self, client: stripe.StripeClient, emu: Emulator) -> None:
        self.client = client
        self.emu = emu

    def create_account(self, **extra: Any) -> Any:
        return create_account(self.client, **extra)

    def onboarded_account(self) -> str:
        return onboarded_account(self.client, self.emu)

    def pay(self, amount: int = 10_000, pm: str = "pm_card_visa", **kw: Any) -> Any:
        return pay(self.client, amount, pm, **kw)

    def checkout_params(self, **extra: Any) -> dict[str, Any]:
        return checkout_params(**extra)


@pytest.fixture
def h(client: stripe.StripeClient, emu: Emulator) -> Helpers:
    return Helpers(client, emu)


def create_account(client: stripe.StripeClient, **extra: Any) -> Any:
    params: dict[str, Any] = {
        "controller": {
            "stripe_dashboard": {"type": "express"},
            "fees": {"payer": "application"},
            "losses": {"payments": "application"},
        },
        "country": "US",
        "email": "seller@example.com",
        "capabilities": {
            "card_payments": {"requested": True},
            "transfers": {"requested": True},
        },
        "metadata": {"user_id": "42"},
    }
    params.update(extra)
    return client.v1.accounts.create(params=params)


def onboarded_account(client: stripe.StripeClient, emu: Emulator) -> str:
    account = create_account(client)
    emu.complete_onboarding(account.id, business_name="Pottery Co")
    return str(account.id)


def pay(
    client: stripe.StripeClient,
    amount: int = 10_000,
    pm: str = "pm_card_visa",
    transfer_group: str | None = None,
    **options: Any,
) -> Any:
    """A confirmed PaymentIntent (raises CardError for declining test cards)."""
    params: dict[str, Any] = {
        "amount": amount,
        "currency": "usd",
        "payment_method": pm,
        "confirm": True,
    }
    if transfer_group:
        params["transfer_group"] = transfer_group
    return client.v1.payment_intents.create(params=params, options=options or None)  # type: ignore[arg-type]


def checkout_params(**extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 2500,
                    "product_data": {"name": "Blue mug"},
                },
                "quantity": 2,
            },
            {
                "price_data": {
                    "currency": "usd",
                    "unit_amount": 1000,
                    "product_data": {"name": "Shipping"},
                },
                "quantity": 1,
            },
        ],
        "success_url": "https://shop.example/thanks?session={CHECKOUT_SESSION_ID}",
        "cancel_url": "https://shop.example/cart",
        "payment_intent_data": {"transfer_group": "order_1", "metadata": {"order": "1"}},
        "metadata": {"order": "1"},
        "client_reference_id": "order_1",
        "customer_email": "buyer@example.com",
    }
    params.update(extra)
    return params
