"""What a client gets back when a request is broken or the server trips: a clear 400/422 that
names the field for input no database could store, and an error page (or problem+json) that
never needs the database, even when the request left its transaction failed."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text

from app.extensions import db
from app.models import INT_MAX
from tests.conftest import KindredClient, login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token

PROBLEM = "application/problem+json"


@pytest.fixture
def token(client: KindredClient) -> dict[str, str]:
    return bearer(make_token(client, UserFactory()))


# --- text no database can store: NUL, and lone surrogates -----------------------------------


@pytest.mark.parametrize("bad", ["a\x00b", "a\ud800b"], ids=["nul", "lone-surrogate"])
def test_api_body_text_a_database_cannot_store_is_a_field_error(
    client: KindredClient, token: dict[str, str], bad: str
) -> None:
    response = client.post("/api/v1/shops", json={"name": bad, "slug": "nul-shop"}, headers=token)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert list(response.get_json()["errors"]) == ["name"]


def test_api_query_text_with_nul_is_a_field_error(client: KindredClient) -> None:
    response = client.get("/api/v1/search?q=bowl%00")
    assert response.status_code == 400
    assert response.mimetype == PROBLEM
    assert list(response.get_json()["errors"]) == ["q"]


def test_api_path_with_nul_is_not_found(client: KindredClient) -> None:
    response = client.get("/api/v1/users/ana%00")
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


def test_form_text_with_nul_is_a_field_error(client: KindredClient) -> None:
    login(client, UserFactory())
    response = client.post_form("/account/shop/open", {"name": "Nul\x00shop", "slug": "nul-shop"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Shop name" in page or "name" in page
    assert "cannot be stored" in page


# --- numbers too large: pathological JSON, ids and amounts beyond the database's range ------


@pytest.mark.parametrize(
    "body",
    ['{"variant_id": 1' + "0" * 5000 + "}", "[" * 100_000 + "]" * 100_000],
    ids=["5000-digit-integer", "100000-nested-brackets"],
)
def test_pathological_json_is_a_bad_request(
    client: KindredClient, token: dict[str, str], body: str
) -> None:
    response = client.post(
        "/api/v1/cart/lines", data=body, content_type="application/json", headers=token
    )
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/search?min_price={INT_MAX + 1}", "min_price"),
        (f"/api/v1/search?max_price={10**30}", "max_price"),
        (f"/api/v1/orders?page={10**30}", "page"),
    ],
)
def test_api_query_integer_beyond_the_database_is_a_field_error(
    client: KindredClient, token: dict[str, str], url: str, field: str
) -> None:
    response = client.get(url, headers=token)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    assert field in response.get_json()["errors"]


def test_api_body_integer_beyond_the_database_is_a_field_error(
    client: KindredClient, token: dict[str, str]
) -> None:
    response = client.put(
        "/api/v1/products/1/images/order", json={"image_ids": [10**20]}, headers=token
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "image_ids.0" in response.get_json()["errors"]


@pytest.mark.parametrize("variant_id", [str(INT_MAX + 1), str(10**30), "-" + "9" * 40])
def test_cart_form_with_a_huge_variant_id_is_a_form_error(
    client: KindredClient, variant_id: str
) -> None:
    product = ProductFactory(shop=ShopFactory())
    response = client.post_form(
        "/cart/add", {"variant_id": variant_id, "quantity": "1", "next": "/cart"}
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)
    cart = client.get("/cart").get_data(as_text=True)
    assert "Choose an option and a quantity." in cart
    assert product.title not in cart


# --- the error path never needs the database --------------------------------------------------


def _failing_view(app: Flask, path: str) -> None:
    """A route that leaves its transaction failed (a statement the database refuses), then makes
    the database refuse everything but a rollback, then raises: as a NUL byte or a lost
    connection would."""

    def view() -> Any:
        # The transaction is now failed (PostgreSQL), or at least dirty.
        with contextlib.suppress(Exception):
            db.session.execute(text("SELECT * FROM no_such_table_here"))

        def refuse(*_args: Any, **_kwargs: Any) -> None:
            raise RuntimeError("the database is gone")

        event.listen(db.engine, "before_cursor_execute", refuse)
        app.extensions["test_refuse"] = refuse
        raise RuntimeError("boom")

    app.add_url_rule(path, endpoint=f"boom{path.replace('/', '_')}", view_func=view)


@pytest.fixture
def failing(app: Flask) -> Any:
    _failing_view(app, "/boom")
    _failing_view(app, "/api/v1/boom")
    yield app
    refuse = app.extensions.pop("test_refuse", None)
    if refuse is not None and event.contains(db.engine, "before_cursor_execute", refuse):
        event.remove(db.engine, "before_cursor_execute", refuse)


def test_a_page_that_fails_gets_the_error_page_without_the_database(
    failing: Flask, client: KindredClient
) -> None:
    login(client, UserFactory())
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.mimetype == "text/html"
    assert "Something went wrong" in response.get_data(as_text=True)


def test_an_api_call_that_fails_gets_problem_json_without_the_database(
    failing: Flask, client: KindredClient, token: dict[str, str]
) -> None:
    response = client.get("/api/v1/boom", headers=token)
    assert response.status_code == 500
    assert response.mimetype == PROBLEM
    assert response.get_json()["status"] == 500
