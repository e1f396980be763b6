from __future__ import annotations

import threading

import pytest

from app.extensions import db
from app.rules import Conflict
from app.uow import unit_of_work
from marketplace import stock
from marketplace.models import Product, ProductVariant
from tests.factories import ProductFactory


def test_take_and_return_stock_keep_the_product_in_step(app):
    product = ProductFactory(stock=2)
    variant_id = product.variants[0].id
    with unit_of_work():
        stock.take_stock(variant_id, 2)
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.stock_total == 0 and product.status == "sold_out" and product.listed
    assert stock.available(variant_id) == 0
    with pytest.raises(Conflict, match="sold out"), unit_of_work():
        stock.take_stock(variant_id, 1)
    with unit_of_work():
        stock.return_stock(variant_id, 1)
    db.session.expire_all()
    product = db.session.get(Product, product.id)
    assert product.stock_total == 1 and product.status == "active"


def test_cannot_take_more_than_is_left_or_from_a_draft(app):
    product = ProductFactory(stock=3)
    draft = ProductFactory(stock=3, status="draft")
    with pytest.raises(Conflict, match="Only 3"), unit_of_work():
        stock.take_stock(product.variants[0].id, 4)
    with pytest.raises(Conflict, match="not on sale"), unit_of_work():
        stock.take_stock(draft.variants[0].id, 1)
    assert db.session.get(ProductVariant, product.variants[0].id).stock == 3


def test_concurrent_buyers_never_oversell(app):
    """Eight buyers race for five items: exactly five succeed, on SQLite and PostgreSQL."""
    product = ProductFactory(stock=5)
    variant_id, product_id = product.variants[0].id, product.id
    db.session.remove()
    sold: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []

    def buy() -> None:
        try:
            with app.app_context():
                try:
                    with unit_of_work():
                        stock.take_stock(variant_id, 1)
                    sold.append(1)
                except Conflict:
                    refused.append(1)
                db.session.remove()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=buy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (len(sold), len(refused)) == (5, 3)
    product = db.session.get(Product, product_id)
    assert product.stock_total == 0 and product.status == "sold_out"


def test_popularity_orders_trending(client):
    from marketplace.products import bump_popularity

    quiet = ProductFactory(title="Quiet")
    loved = ProductFactory(title="Loved")
    bump_popularity(quiet.id, 1)
    bump_popularity(loved.id, 5)
    db.session.commit()
    items = client.get("/api/v1/products?sort=trending").get_json()["items"]
    assert [i["title"] for i in items] == ["Loved", "Quiet"]
    assert items[0]["popularity"] == 5
