"""The emulated Stripe runtime shared by several processes on one instance.

A server and every `flask` command started beside it build their own app on the same instance
folder, so on the same emulator state. They must agree on the webhook endpoint and its signing
secret: whichever process delivers an event delivers it to itself, and it must verify.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe
from flask import Flask
from sqlalchemy import select

from app import create_app
from app.extensions import db
from payouts.models import StripeEvent
from payouts.runtime import (
    EMULATED_KEY,
    WEBHOOK_PATH,
    _ensure_webhook_endpoint,
    deliver_webhooks,
    emulator,
    gateway,
)

SERVER_URL = "http://127.0.0.1:5001"
COMMAND_URL = "http://127.0.0.1:5000"


@pytest.fixture
def app_config(app_config: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    # The emulator's state on disk, as outside the tests, in the instance folder's place.
    return {
        **app_config,
        "STRIPE_EMULATOR_DB": str(tmp_path / "stripe-emulator.sqlite3"),
        "BASE_URL": SERVER_URL,
    }


@pytest.fixture
def another_process(app_config: dict[str, Any]) -> Iterator[Any]:
    """Build the app as another process on the same instance does (a `flask` command)."""
    made: list[Flask] = []

    def build(base_url: str) -> Flask:
        other = create_app({**app_config, "BASE_URL": base_url})
        made.append(other)
        return other

    yield build
    for other in made:
        emulator(other).close()
        with other.app_context():
            db.engine.dispose()


def _an_event_delivered_by(server: Flask) -> list[dict[str, Any]]:
    """Make Stripe emit an event and let the server's emulator deliver it, as it does after
    each response; returns the delivery attempts it made."""
    account = gateway(server).create_express_account(
        email="ana@example.com", country="FR", idempotency_key="acct-ana"
    )
    emu = emulator(server)
    emu.complete_onboarding(account.id)  # account.updated
    deliver_webhooks(server)
    event_ids = {e["id"] for e in emu.events() if e["data"]["object"].get("id") == account.id}
    assert event_ids, "the emulator emitted no event"
    return [d for d in emu.deliveries() if d["event_id"] in event_ids]


def _all_verified(app: Flask, deliveries: list[dict[str, Any]]) -> None:
    assert deliveries
    for delivery in deliveries:
        codes = [a["status_code"] for a in delivery["attempt_history"]]
        assert delivery["status"] == "succeeded", (delivery["url"], codes)
    stored = set(db.session.scalars(select(StripeEvent.id)))
    assert {d["event_id"] for d in deliveries} <= stored


def test_commands_on_the_same_instance_leave_the_servers_webhooks_verified(app, another_process):
    # The server runs on port 5001 (`make run PORT=5001` with its BASE_URL); then `flask`
    # commands run beside it, one with the default BASE_URL and one with the server's.
    another_process(COMMAND_URL)
    another_process(SERVER_URL)
    _all_verified(app, _an_event_delivered_by(app))


def test_a_command_started_after_the_server_delivers_to_itself_verified(app, another_process):
    command = another_process(COMMAND_URL)
    with command.app_context():
        deliveries = _an_event_delivered_by(command)
        _all_verified(command, deliveries)
    # And the server, which delivered nothing, still verifies what it is sent next.
    _all_verified(app, _an_event_delivered_by(app))


def test_one_endpoint_whatever_the_base_url(app, another_process):
    another_process(COMMAND_URL)
    another_process("http://shop.example")
    endpoints = gateway(app).client.v1.webhook_endpoints.list({"limit": 100}).data
    assert len(endpoints) == 1


def test_processes_starting_at_once_agree_on_the_secret(app, app_config):
    """Workers of one server start together: each registers the endpoint at the same time
    (here on an instance whose endpoint is to be made anew)."""
    from stripe_emulator import Emulator

    db_path = app_config["STRIPE_EMULATOR_DB"]
    for secret_file in Path(db_path).parent.rglob("*webhook-secret"):
        secret_file.unlink()
    workers = [Emulator(db_path=db_path) for _ in range(4)]
    secrets: list[str] = []
    barrier = threading.Barrier(len(workers))

    def start(emu: Any) -> None:
        client = stripe.StripeClient(EMULATED_KEY, http_client=emu.http_client())
        barrier.wait()
        secrets.append(_ensure_webhook_endpoint(app, client, SERVER_URL + WEBHOOK_PATH))

    threads = [threading.Thread(target=start, args=(emu,)) for emu in workers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(secrets) == len(workers)
        assert len(set(secrets)) == 1
        # The server (built before) follows the secret they agreed on.
        assert gateway(app).webhook_secret == secrets[0]
        client = stripe.StripeClient(EMULATED_KEY, http_client=workers[0].http_client())
        assert len(client.v1.webhook_endpoints.list({"limit": 100}).data) == 1
    finally:
        for emu in workers:
            emu.close()
    _all_verified(app, _an_event_delivered_by(app))


def test_the_server_follows_an_endpoint_made_anew(app, another_process, app_config):
    """If the shared secret is lost (the file removed by hand), the next process makes the
    endpoint anew; the running server verifies with the new secret, without a restart."""
    secret_file = Path(app_config["STRIPE_EMULATOR_DB"] + "-webhook-secret")
    assert secret_file.exists()
    before = gateway(app).webhook_secret
    secret_file.unlink()
    another_process(SERVER_URL)
    assert gateway(app).webhook_secret != before
    _all_verified(app, _an_event_delivered_by(app))


def test_the_secret_file_is_private(app, app_config):
    secret_file = Path(app_config["STRIPE_EMULATOR_DB"] + "-webhook-secret")
    assert secret_file.stat().st_mode & 0o077 == 0


@pytest.fixture
def build_app(app_config: dict[str, Any]) -> Iterator[Any]:
    made: list[Flask] = []

    def build(**settings: Any) -> Flask:
        config = {**app_config, "STRIPE_EMULATOR_DB": ":memory:", **settings}
        built = create_app(config)
        made.append(built)
        return built

    yield build
    for built in made:
        emulator(built).close()
        with built.app_context():
            db.session.remove()
            db.engine.dispose()


CONTROLS = [
    ("GET", "/_stripe/"),
    ("GET", "/_stripe/_emulator/dashboard"),
    ("GET", "/_stripe/_emulator/balance"),
    ("POST", "/_stripe/_emulator/reset"),
    ("POST", "/_stripe/_emulator/faults"),
]


def _controls_answer(served: Flask) -> list[int]:
    web = served.test_client()
    return [
        web.open(path, method=method, json={"path_prefix": "/v1"}).status_code
        for method, path in CONTROLS
    ]


def test_in_production_the_emulator_controls_are_closed(build_app):
    """`make serve` without Stripe keys: gunicorn, no debugger, not a test."""
    served = build_app(TESTING=False)
    assert _controls_answer(served) == [404] * len(CONTROLS)
    assert emulator(served).faults.pending() == []
    # The pages Stripe itself hosts keep working: the buyer pays on the checkout page.
    session = gateway(served).client.v1.checkout.sessions.create(
        params={
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 1500,
                        "product_data": {"name": "Mug"},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": "http://kindred.test/ok",
        }
    )
    page = served.test_client().get(session.url.replace(SERVER_URL, ""))
    assert page.status_code == 200
    # And the banner does not point at a dashboard that is not there.
    with served.app_context():
        from app.hooks import hooks

        banner = "".join(str(render()) for render in hooks(served).banners)
    assert "Payments are emulated" in banner
    assert "_emulator" not in banner


@pytest.mark.parametrize(
    "settings",
    [
        {"TESTING": True},
        # `make run`: the debugger, on the default SQLite database (whatever the suite runs on)
        {"TESTING": False, "DEBUG": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"},
        {"TESTING": False, "STRIPE_EMULATOR_CONTROLS": "1"},
    ],
)
def test_the_controls_answer_in_the_embedded_mode_or_when_asked(build_app, settings):
    served = build_app(**settings)
    assert 404 not in _controls_answer(served)
    with served.app_context():
        from app.hooks import hooks

        banner = "".join(str(render()) for render in hooks(served).banners)
    assert "/_stripe/_emulator/dashboard" in banner


def test_the_setting_can_close_them_in_the_embedded_mode_too(build_app):
    served = build_app(TESTING=False, DEBUG=True, STRIPE_EMULATOR_CONTROLS="0")
    assert _controls_answer(served) == [404] * len(CONTROLS)


def test_debug_against_postgresql_is_not_the_embedded_mode():
    from payouts.runtime import emulator_controls

    config = {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://db/kindred"}
    assert emulator_controls(config, testing=False, debug=True) is False
    sqlite = {"SQLALCHEMY_DATABASE_URI": "sqlite:///instance/kindred.sqlite3"}
    assert emulator_controls(sqlite, testing=False, debug=True) is True
    assert emulator_controls(sqlite, testing=False, debug=False) is False
    assert emulator_controls({**config, "STRIPE_EMULATOR_CONTROLS": "yes"}, False, False)
