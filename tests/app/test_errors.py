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


# --- the order of the first checks ------------------------------------------------------------


def _post_without_csrf_token(client: KindredClient) -> Any:
    # "/" only takes GET; a form posted to it carries no CSRF token.
    return client.post("/", data={"q": "x"}, headers={"X-Request-ID": "req-405"})


def test_a_post_to_a_get_only_page_is_405_before_the_csrf_check(client: KindredClient) -> None:
    response = _post_without_csrf_token(client)
    assert response.status_code == 405, response.get_data(as_text=True)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    # The request id was given before the check answered, so the answer carries it.
    assert response.headers["X-Request-ID"] == "req-405"


def test_the_first_checks_run_in_the_factorys_order(app: Flask) -> None:
    from app import errors
    from app import logging as app_logging

    hooks = app.before_request_funcs[None]
    csrf = next(i for i, hook in enumerate(hooks) if hook.__name__ == "_csrf_unless_token")
    assert hooks[:2] == [app_logging.assign_request_id, errors.routing_first]
    assert csrf > 1


def test_the_405_check_does_not_depend_on_a_hooks_name(
    app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renaming the request id's hook (a refactor) must not move the 404/405 check."""
    from app import create_app
    from app import logging as app_logging

    set_up = app_logging.init_app

    def renamed(app: Flask) -> None:
        set_up(app)
        for hook in app.before_request_funcs.get(None, []):
            hook.__name__ = f"renamed{hook.__name__}"

    monkeypatch.setattr(app_logging, "init_app", renamed)
    renamed_app = create_app(app_config)
    renamed_app.test_client_class = KindredClient
    with renamed_app.app_context():
        response = _post_without_csrf_token(renamed_app.test_client())  # type: ignore[arg-type]
    assert response.status_code == 405
    assert response.headers["X-Request-ID"] == "req-405"
