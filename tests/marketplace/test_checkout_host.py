"""In the embedded mode the payment page is served by the app itself, so its address must be
the one the shopper is using: a page at another host or port is refused by the content
security policy's form-action after "Pay", and the shopper sees nothing happen."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from app.config import from_environment
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.marketplace.shopping import ADDRESS, add

HERE = "http://127.0.0.1:5101"


@pytest.fixture
def app_config(app_config):
    # The test browser is at 127.0.0.1: its cookies go to every port of that host, as a
    # browser's do (the server name does not restrict which host reaches the app).
    app_config["SERVER_NAME"] = "127.0.0.1:5000"
    return app_config


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _at(base_url: str) -> dict[str, str]:
    """The request as a browser at `base_url` sends it (the session cookie is the same)."""
    return {"Host": urlsplit(base_url).netloc}


def _checkout_at(client, base_url: str):
    return client.post_form("/checkout", ADDRESS, headers=_at(base_url))


def test_the_payment_page_is_at_the_address_the_shopper_uses(client, emulator):
    login(client, UserFactory())
    add(client, ProductFactory())
    started = _checkout_at(client, HERE)
    assert started.status_code == 303
    location = started.headers["Location"]
    assert _origin(location) == HERE
    assert urlsplit(location).path.startswith("/_stripe/")
    # And the emulator serves it there.
    page = client.get(urlsplit(location).path, headers=_at(HERE))
    assert page.status_code == 200


def test_a_checkout_opened_on_another_port_is_paid_on_this_one(client, emulator):
    login(client, UserFactory())
    add(client, ProductFactory())
    first = _checkout_at(client, "http://127.0.0.1:5000")
    assert _origin(first.headers["Location"]) == "http://127.0.0.1:5000"
    # The server restarted on another port; the same cart reuses the open checkout.
    again = _checkout_at(client, HERE)
    assert again.status_code == 303
    assert urlsplit(again.headers["Location"]).path == urlsplit(first.headers["Location"]).path
    assert _origin(again.headers["Location"]) == HERE


def test_payout_onboarding_is_at_the_address_the_seller_uses(client, emulator):
    from tests.factories import TwoStepUserFactory

    login(client, TwoStepUserFactory())
    started = client.post_form("/account/payouts/start", headers=_at(HERE))
    assert started.status_code == 303
    assert _origin(started.headers["Location"]) == HERE


def test_the_base_url_follows_host_and_port_in_the_embedded_mode(monkeypatch, tmp_path):
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.setenv("FLASK_RUN_HOST", "127.0.0.1")
    monkeypatch.setenv("FLASK_RUN_PORT", "5101")
    assert from_environment(tmp_path)["BASE_URL"] == HERE
    # Listening on every interface: links name this machine as a browser here reaches it.
    monkeypatch.setenv("FLASK_RUN_HOST", "0.0.0.0")  # noqa: S104
    assert from_environment(tmp_path)["BASE_URL"] == HERE
    monkeypatch.setenv("BASE_URL", "https://kindred.example/")
    assert from_environment(tmp_path)["BASE_URL"] == "https://kindred.example"


def test_the_apis_payment_url_follows_the_callers_address(client, emulator):
    login(client, UserFactory())
    add(client, ProductFactory())
    started = client.api(
        "POST", "/api/v1/checkouts", json={"shipping_address": ADDRESS}, headers=_at(HERE)
    )
    assert started.status_code == 201, started.get_json()
    assert _origin(started.get_json()["payment_url"]) == HERE
