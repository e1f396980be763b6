"""What every request costs stays small: the person making it, the navigation's badges, URLs
and translations are each worked out once, and the answers stay right."""

from __future__ import annotations

import re

from flask import render_template_string
from flask_babel import force_locale

from app.extensions import db
from marketplace import cart as carts
from marketplace.models import Product
from social.models import Suspension
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.marketplace.helpers import bearer, count_queries, make_token
from tests.social.helpers import page_text


def sql(statements: list[str]) -> list[str]:
    """The queries among the statements (SQLite's BEGIN is sent as one)."""
    return [s for s in statements if s.split()[0].upper() != "BEGIN"]


def queries(client, url: str, **kwargs) -> tuple[int, str]:
    with count_queries() as statements:
        response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return len(sql(statements)), page_text(response)


def test_a_logged_in_page_reads_its_person_and_badges_in_two_queries(app, client):
    me, fan = UserFactory(), UserFactory()
    product = ProductFactory(title="Mug")
    login(client, fan)
    client.post_form(f"/people/{me.handle}/follow")
    login(client, me)
    client.post_form("/cart/add", {"variant_id": product.variants[0].id, "quantity": 2})
    client.get("/")
    count, html = queries(client, "/categories")
    # The person with whether they are suspended; the cart's and the notifications' badges.
    assert count == 2, count
    badges = re.findall(r'<span class="badge"[^>]*>(\d+)</span>', html.split("<main")[0])
    assert sorted(badges) == ["1", "2"]  # fan's follow; the two items in the cart


def test_a_suspended_persons_session_and_token_stop_working(app, client):
    person = UserFactory()
    secret = make_token(client, person)
    login(client, person)
    assert client.get("/account/").status_code == 200
    with count_queries() as statements:
        assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 200
    assert len(sql(statements)) == 1  # the token, its person and their suspension, together
    db.session.add(Suspension(user_id=person.id, reason="spam"))
    db.session.commit()
    assert client.get("/api/v1/me", headers=bearer(secret)).status_code == 403
    assert client.get("/account/").status_code == 302  # logged out
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_adding_to_the_cart_by_api_costs_a_fixed_number_of_queries(app, client):
    buyer = UserFactory()
    secret = make_token(client, buyer)
    products = [ProductFactory(title=f"Thing {n}") for n in range(3)]

    def add(product: Product) -> int:
        with count_queries() as statements:
            response = client.api(
                "POST",
                "/api/v1/cart/lines",
                json={"variant_id": product.variants[0].id, "quantity": 1},
                headers=bearer(secret),
            )
        assert response.status_code == 201, response.get_json()
        return len(sql(statements))

    add(products[0])  # makes the cart
    again = add(products[0])
    more = add(products[1])
    assert again <= 12 and more <= 14, (again, more)
    assert add(products[2]) == more  # whatever the cart holds
    body = client.get("/api/v1/cart", headers=bearer(secret)).get_json()
    assert sorted(line["quantity"] for g in body["shops"] for line in g["lines"]) == [1, 1, 2]
    db.session.commit()
    assert carts.count_items(buyer) == 4


def test_urls_are_built_for_each_host_and_prefix(app, client):
    product = ProductFactory(title="Linen shirt")
    path = f"/products/{product.id}"
    for base, prefix in [(None, ""), ("http://kindred.test/shop/", "/shop"), (None, "")]:
        kwargs = {"base_url": base} if base else {}
        html = client.get(path, **kwargs).get_data(as_text=True)
        assert f'href="{prefix}/search"' in html
        assert f'href="{prefix}/shops/{product.shop.slug}"' in html
        if not prefix:
            assert "/shop/search" not in html


def test_templates_follow_the_locale_in_force(app, client):
    with app.test_request_context("/"):
        template = "{{ _('Log in') }}"
        assert render_template_string(template) == "Log in"
        with force_locale("fr"):  # a mail to someone who reads French, sent by this request
            assert render_template_string(template) == "Se connecter"
        assert render_template_string(template) == "Log in"


def test_limits_are_written_into_the_sql_on_postgresql(app, client, postgres_only):
    ProductFactory()
    with count_queries() as statements:
        assert client.get("/").status_code == 200
    listings = [s for s in statements if "FROM products" in s and "LIMIT" in s]
    assert listings and all("LIMIT 13" in s for s in listings), listings
    # A limit the statement binds itself stays a parameter (the feed's per-person reads).
    login(client, UserFactory())
    with count_queries() as statements:
        assert client.get("/feed").status_code == 200
    lateral = [s for s in statements if "JOIN LATERAL" in s]
    assert lateral and all("LIMIT %(page_limit)s" in s for s in lateral), lateral


def test_a_product_page_and_a_new_persons_feed_stay_within_their_queries(app, client):
    product = ProductFactory(title="Vase")
    cache = app.config["PAGE_CACHE_TYPE"]
    app.config["PAGE_CACHE_TYPE"] = "NullCache"  # what rendering it costs, not the cache
    client.get(f"/products/{product.id}")
    count, html = queries(client, f"/products/{product.id}")
    app.config["PAGE_CACHE_TYPE"] = cache
    # The product with its shop and variants, its images, its reviews (or its shop's) with
    # their rating, more from its shop, then the sections: picks, collections, likes, the
    # idea it came from.
    assert "Vase" in html and count <= 8, count
    login(client, UserFactory())
    client.get("/feed")
    count, html = queries(client, "/feed")
    # The person; the two sources of the feed; whom they follow; trending picks and active
    # curators to start with; the badges.
    assert count <= 7, count


def test_a_suspended_person_signed_in_by_the_remember_cookie_alone_is_kept_out(app, client):
    from tests.app.test_sessions import REMEMBER_COOKIE, copy_cookie, log_in_remembered

    person = UserFactory()
    log_in_remembered(client, person)
    browser = app.test_client()
    copy_cookie(client, browser, REMEMBER_COOKIE)  # no session cookie: only "remember me"
    db.session.add(Suspension(user_id=person.id, reason="spam"))
    db.session.commit()
    assert browser.get("/account/").status_code == 302
    home = browser.get("/", follow_redirects=True).get_data(as_text=True)
    assert person.handle not in home.split("<main")[0]


def test_a_request_that_names_no_one_reads_nothing(app, client):
    with count_queries() as statements:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert sql(statements) == []
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
