"""Helpers for buying through the real pages and the emulator's hosted checkout."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from marketplace.order_models import Checkout, Order
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory

ADDRESS = {
    "name": "Farid Haddad",
    "line1": "12 rue des Lilas",
    "line2": "",
    "city": "Lyon",
    "postal_code": "69003",
    "region": "",
    "country": "FR",
    "phone": "",
}
SUCCESS_CARD = "4242424242424242"
DECLINED_CARD = "4000000000000002"


def two_shops() -> tuple[Any, Any]:
    """Two products from two shops: €25 (stock 3, shipping €5) and €40 (stock 1, free over €30)."""
    bowl = ProductFactory(
        shop=ShopFactory(name="Ana's studio", shipping_flat_minor=500),
        title="Speckled bowl",
        price_minor=2500,
        stock=3,
    )
    jacket = ProductFactory(
        shop=ShopFactory(
            name="Bruno denim", shipping_flat_minor=700, free_shipping_over_minor=3000
        ),
        title="Denim jacket",
        price_minor=4000,
        stock=1,
    )
    return bowl, jacket


def add(client: Any, product: Any, quantity: int = 1) -> Any:
    return client.post_form(
        "/cart/add", {"variant_id": product.variants[0].id, "quantity": quantity}
    )


def start_checkout(client: Any, address: dict[str, str] | None = None) -> Any:
    return client.post_form("/checkout", address or ADDRESS)


def pay_on_hosted_page(client: Any, payment_url: str, card: str = SUCCESS_CARD) -> Any:
    """Pay like a person on the emulator's hosted page (served by the app under /_stripe)."""
    path = payment_url.replace("http://kindred.test", "")
    page = client.get(path)
    assert page.status_code == 200, page.status_code
    return client.post(
        path,
        data={
            "email": "buyer@example.com",
            "card_number": card,
            "exp": "12 / 34",
            "cvc": "123",
            "name": "Farid",
        },
    )


def buy(client: Any, buyer: Any, *products: Any, card: str = SUCCESS_CARD) -> Checkout:
    login(client, buyer)
    for product in products:
        assert add(client, product).status_code == 302
    started = start_checkout(client)
    assert started.status_code == 303, started.get_data(as_text=True)[-2000:]
    paid = pay_on_hosted_page(client, started.headers["Location"], card)
    assert paid.status_code in (200, 303)
    db.session.commit()  # a fresh snapshot
    return db.session.scalars(
        select(Checkout).where(Checkout.buyer_id == buyer.id).order_by(Checkout.id.desc())
    ).first()


def orders_of(checkout: Checkout) -> list[Order]:
    return list(
        db.session.scalars(select(Order).where(Order.checkout_id == checkout.id).order_by(Order.id))
    )


def new_buyer(**kwargs: Any) -> Any:
    return UserFactory(**kwargs)
