"""A 429 says when to try again: `Retry-After`, on a page and in problem+json alike, whether
the limit is Flask-Limiter's (log-in attempts, likes) or the app's own (pictures sent)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask

from app import media
from tests.app.test_media import picture
from tests.conftest import KindredClient, login
from tests.factories import CollectionFactory, ProductFactory, UserFactory

PROBLEM = "application/problem+json"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(
        RATELIMIT_LOGIN="1 per minute", RATELIMIT_LIKES="1 per minute", RATELIMIT_UPLOADS=""
    )
    return app_config


def seconds(response: Any) -> int:
    value = response.headers.get("Retry-After")
    assert value is not None, f"{response.status_code} without Retry-After"
    assert value.isdigit(), value
    return int(value)


def png() -> bytes:
    return picture((24, 24), "PNG")


# --- the app's own limit: pictures -----------------------------------------------------------


def test_too_many_pictures_on_a_page_is_the_form_again_with_retry_after(
    app: Flask, client: KindredClient
) -> None:
    login(client, UserFactory())
    app.config["RATELIMIT_UPLOADS"] = "1 per hour"

    def new_collection(title: str) -> Any:
        return client.post_form(
            "/collections/new",
            {"title": title, "cover": (io.BytesIO(png()), "cover.png")},
            content_type="multipart/form-data",
        )

    assert new_collection("First").status_code == 302
    refused = new_collection("Second")
    # The form's error, as for any other refusal of the form (422), and when to send again.
    assert refused.status_code == 422, refused.get_data(as_text=True)
    assert 3500 < seconds(refused) <= 3600
    page = refused.get_data(as_text=True)
    assert "Too many attempts" in page and 'value="Second"' in page  # the form, as it was


def test_too_many_pictures_through_the_api_is_problem_json_with_retry_after(
    app: Flask, client: KindredClient
) -> None:
    person = UserFactory()
    collection = CollectionFactory(owner=person, products=[ProductFactory()])
    login(client, person)
    app.config["RATELIMIT_UPLOADS"] = "1 per hour"

    def cover() -> Any:
        return client.api(
            "PUT",
            f"/api/v1/collections/{collection.id}/cover",
            data={"image": (io.BytesIO(png()), "cover.png")},
            content_type="multipart/form-data",
        )

    assert cover().status_code == 200
    refused = cover()
    assert refused.status_code == 429 and refused.mimetype == PROBLEM
    assert 3500 < seconds(refused) <= 3600


@pytest.mark.parametrize("path", ["/slow", "/api/v1/slow"], ids=["page", "api"])
def test_an_upload_limit_no_form_catches_still_says_when(
    app: Flask, client: KindredClient, path: str
) -> None:
    def slow() -> Any:
        raise media.UploadRateLimited("Too many attempts.", field="photo", retry_after=42)

    app.add_url_rule(path, "slow", slow)
    refused = client.get(path)
    assert refused.status_code == 429
    assert refused.mimetype == (PROBLEM if path.startswith("/api/") else "text/html")
    assert seconds(refused) == 42


# --- Flask-Limiter's limits --------------------------------------------------------------------


@pytest.mark.parametrize("headers_enabled", [True, False], ids=["limiter-headers", "no-headers"])
def test_too_many_log_in_attempts_say_when(app: Flask, headers_enabled: bool) -> None:
    from app.extensions import limiter

    limiter._headers_enabled = headers_enabled  # RATELIMIT_HEADERS_ENABLED, read at init
    client: KindredClient = app.test_client()  # type: ignore[assignment]
    tries = [
        client.post_form("/login", {"login": "who@example.com", "password": "wrong"})
        for _ in range(2)
    ]
    assert tries[0].status_code == 422
    assert tries[1].status_code == 429
    assert 0 < seconds(tries[1]) <= 61  # the window, rounded up


@pytest.mark.parametrize("headers_enabled", [True, False], ids=["limiter-headers", "no-headers"])
def test_too_many_likes_through_the_api_say_when(
    app: Flask, client: KindredClient, headers_enabled: bool
) -> None:
    from app.extensions import limiter

    limiter._headers_enabled = headers_enabled
    products = [ProductFactory() for _ in range(2)]
    login(client, UserFactory())
    assert client.api("PUT", f"/api/v1/likes/product/{products[0].id}").status_code == 200
    refused = client.api("PUT", f"/api/v1/likes/product/{products[1].id}")
    assert refused.status_code == 429 and refused.mimetype == PROBLEM
    assert 0 < seconds(refused) <= 61


def test_any_other_429_says_when(app: Flask, client: KindredClient) -> None:
    from flask import abort

    def busy() -> Any:
        abort(429)

    app.add_url_rule("/busy", "busy", busy)
    refused = client.get("/busy")
    assert refused.status_code == 429
    assert seconds(refused) > 0
