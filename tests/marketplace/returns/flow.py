"""A delivered order to return things from: bought through the real checkout and the
emulator, shipped and delivered by the services."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.uow import unit_of_work
from marketplace import orders
from marketplace.order_models import Order
from marketplace.returns import steps
from marketplace.returns.models import ReturnRequest
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.shopping import add, orders_of, pay_on_hosted_page, start_checkout


def delivered_order(
    client: Any,
    *,
    quantity: int = 2,
    window_days: int = 30,
    deliver: bool = True,
    price_minor: int = 2500,
) -> Order:
    """A buyer bought `quantity` bowls at €25 (shipping €5) from a shop taking returns for
    `window_days`; shipped, and delivered unless told otherwise."""
    shop = ShopFactory(name="Ana's studio", shipping_flat_minor=500, return_window_days=window_days)
    bowl = ProductFactory(shop=shop, title="Speckled bowl", price_minor=price_minor, stock=5)
    buyer = UserFactory(handle="farid")
    login(client, buyer)
    assert add(client, bowl, quantity).status_code == 302
    started = start_checkout(client)
    assert started.status_code == 303
    pay_on_hosted_page(client, started.headers["Location"])
    db.session.commit()
    from sqlalchemy import select

    from marketplace.order_models import Checkout

    checkout = db.session.scalars(
        select(Checkout).where(Checkout.buyer_id == buyer.id).order_by(Checkout.id.desc())
    ).first()
    order = orders_of(checkout)[0]
    with unit_of_work():
        orders.mark_shipped(shop.owner, order.id, "La Poste", "6A1")
    if deliver:
        with unit_of_work():
            orders.confirm_delivery(buyer, order.id)
    db.session.commit()
    return db.session.get(Order, order.id)


def ask(order: Order, quantity: int = 1, reason: str = "damaged", text: str = "") -> ReturnRequest:
    with unit_of_work():
        found = steps.ask(
            order.buyer,
            order.id,
            steps.ReturnAsk({order.lines[0].id: quantity}, reason, text),
        )
        return_id = found.id
    return db.session.get(ReturnRequest, return_id)


def accepted(order: Order, quantity: int = 1) -> ReturnRequest:
    found = ask(order, quantity)
    with unit_of_work():
        steps.accept(order.shop.owner, found.id, "Post it to 3 rue Haute, Lyon.")
    return fresh(found)


def received(found: ReturnRequest, *, restock: bool = True) -> Any:
    with unit_of_work():
        refund = steps.receive(found.order.shop.owner, found.id, restock=restock)
    if refund is not None:
        with unit_of_work():
            orders.deliver_refund(db.session.get(type(refund), refund.id))
    return refund


def fresh(found: Any) -> Any:
    db.session.commit()
    db.session.expire_all()
    return db.session.get(type(found), found.id)
