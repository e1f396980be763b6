from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.uow import unit_of_work
from marketplace import cart as carts
from marketplace import products as product_services
from marketplace.order_models import Cart, CartLine
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.marketplace.shopping import add, two_shops


def lines():
    db.session.commit()
    return db.session.scalars(select(CartLine).order_by(CartLine.id)).all()


def test_guest_cart_groups_by_shop_with_shipping(client):
    bowl, jacket = two_shops()
    assert add(client, bowl, 2).status_code == 302
    assert add(client, jacket).status_code == 302
    page = client.get("/cart")
    html = page.get_data(as_text=True)
    assert "Ana&#39;s studio" in html and "Bruno denim" in html
    assert "€50.00" in html  # 2 x €25
    assert "€5.00" in html  # Ana's flat shipping
    assert "Free" in html  # Bruno: free over €30
    assert "€95.00" in html  # 50 + 5 + 40
    assert db.session.scalar(select(Cart.guest_token)) is not None


def test_adding_twice_adds_up_and_never_beyond_the_stock(client):
    bowl, _jacket = two_shops()
    add(client, bowl, 2)
    response = add(client, bowl, 2)  # only 3 in stock
    assert response.status_code == 302
    follow = client.get("/cart").get_data(as_text=True)
    assert "Only 3 of" in follow
    assert [line.quantity for line in lines()] == [2]
    add(client, bowl, 1)
    assert [line.quantity for line in lines()] == [3]


def test_quantities_must_be_positive_and_sane(client):
    bowl, _jacket = two_shops()
    for quantity in (0, -1, 100):
        add(client, bowl, quantity)
    assert lines() == []


def test_update_and_remove_lines(client):
    bowl, jacket = two_shops()
    add(client, bowl)
    add(client, jacket)
    first, second = lines()
    client.post_form(f"/cart/lines/{first.id}", {"quantity": 3})
    assert lines()[0].quantity == 3
    client.post_form(f"/cart/lines/{first.id}", {"quantity": 4})  # more than the stock
    assert lines()[0].quantity == 3
    client.post_form(f"/cart/lines/{first.id}", {"quantity": 0})  # zero removes
    assert [line.id for line in lines()] == [second.id]
    client.post_form(f"/cart/lines/{second.id}/remove")
    assert lines() == []
    assert "Your cart is empty" in client.get("/cart").get_data(as_text=True)


def test_someone_elses_line_is_not_found(app, client):
    bowl, _jacket = two_shops()
    other = app.test_client()
    add(other, bowl)
    (line,) = lines()
    client.post_form(f"/cart/lines/{line.id}", {"quantity": 2})
    client.post_form(f"/cart/lines/{line.id}/remove")
    assert [(li.id, li.quantity) for li in lines()] == [(line.id, 1)]


def test_the_guest_cart_joins_the_account_at_login(client):
    bowl, jacket = two_shops()
    buyer = UserFactory()
    login(client, buyer)
    add(client, bowl)
    client.post_form("/logout")
    add(client, bowl)
    add(client, jacket)
    assert (
        client.post_form("/login", {"login": buyer.email, "password": DEFAULT_PASSWORD}).status_code
        == 302
    )
    db.session.commit()
    carts = db.session.scalars(select(Cart)).all()
    assert [c.user_id for c in carts] == [buyer.id]
    assert sorted((li.product_id, li.quantity) for li in lines()) == [(bowl.id, 2), (jacket.id, 1)]


def test_price_and_stock_changes_are_flagged(client):
    bowl, _jacket = two_shops()
    add(client, bowl, 3)
    variant = bowl.variants[0]
    product_services.update_variant(
        bowl.shop.owner,
        bowl,
        variant.id,
        product_services.VariantInput(price_minor=2900, stock=2, sku=variant.sku),
    )
    db.session.commit()
    html = client.get("/cart").get_data(as_text=True)
    assert "The price changed since you added it" in html
    assert "Only 2 left" in html
    assert "Fix the items marked above" in html
    client.post_form("/cart/accept-prices")
    html = client.get("/cart").get_data(as_text=True)
    assert "The price changed" not in html


def test_archived_products_and_paused_shops_cannot_be_added(client):
    bowl, jacket = two_shops()
    bowl.status = "archived"
    jacket.shop.status = "paused"
    db.session.commit()
    product_services.refresh(bowl)
    db.session.commit()
    add(client, bowl)
    add(client, jacket)
    assert lines() == []


def test_the_cart_count_shows_in_the_navigation(client):
    bowl, _jacket = two_shops()
    add(client, bowl, 2)
    html = client.get("/").get_data(as_text=True)
    header = html.split("<main")[0]
    # Read out as what it counts: a cart holds items, it has nothing "unread".
    assert 'aria-label="2 items in your cart">2</span>' in header
    assert "unread" not in header


def test_the_cart_page_costs_the_same_whatever_its_size(client, app):
    from tests.factories import ProductFactory
    from tests.marketplace.helpers import count_queries

    products = [ProductFactory(price_minor=1000 + i, stock=5) for i in range(8)]
    add(client, products[0])
    add(client, products[1])
    with count_queries() as small:
        client.get("/cart")
    for product in products[2:]:
        add(client, product)
    with count_queries() as large:
        client.get("/cart")
    assert len(large) == len(small)


def test_two_adds_of_the_same_variant_at_once_make_one_line(app):
    """Two requests racing to put the same variant in one cart: one line, both quantities."""
    bowl, _jacket = two_shops()
    buyer = UserFactory()
    variant_id, buyer_id = bowl.variants[0].id, buyer.id
    with unit_of_work():
        carts.cart_for(buyer, create=True)

    def add_one() -> None:
        carts.add(db.session.get(User, buyer_id), variant_id, 1)

    at_once(app, [add_one, add_one])
    assert [line.quantity for line in lines()] == [2]


def test_two_first_adds_at_once_make_one_cart(app):
    """A person without a cart yet, adding from two tabs at once: one cart, no error."""
    bowl, jacket = two_shops()
    buyer_id = UserFactory().id
    variant_ids = [bowl.variants[0].id, jacket.variants[0].id]
    db.session.commit()

    def adder(variant_id: int) -> Callable[[], None]:
        return lambda: carts.add(db.session.get(User, buyer_id), variant_id, 1)

    at_once(app, [adder(v) for v in variant_ids])
    assert db.session.scalar(select(func.count(Cart.id))) == 1
    assert sorted(line.variant_id for line in lines()) == sorted(variant_ids)


def test_the_login_helper_keeps_a_guest_cart(client):
    bowl, _jacket = two_shops()
    add(client, bowl)
    buyer = UserFactory()
    login(client, buyer)
    assert [(line.product_id, line.quantity) for line in lines()] == [(bowl.id, 1)]
    assert db.session.scalar(select(Cart.user_id)) == buyer.id


def test_going_to_checkout_with_an_empty_cart_says_it_is_empty_once(client):
    login(client, UserFactory())
    page = client.get("/checkout", follow_redirects=True)
    assert page.request.path == "/cart"
    assert page.get_data(as_text=True).count("Your cart is empty.") == 1
