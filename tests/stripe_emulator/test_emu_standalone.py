"""``python -m stripe_emulator`` as a real HTTP server, driven by the SDK over sockets."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import stripe

REPO = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _server(db: Path, port: int) -> Iterator[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(  # noqa: S603 - our own module with fixed arguments
        [
            sys.executable,
            "-m",
            "stripe_emulator",
            "--port",
            str(port),
            "--db",
            str(db),
            "--host",
            "127.0.0.1",
            "--fault-timeout",
            "3",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    output = proc.stdout.read().decode() if proc.stdout else ""
                    pytest.fail(f"emulator did not start:\n{output}")
                time.sleep(0.05)  # waiting for the server socket, not for emulated time
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()


def test_standalone_server_over_http(tmp_path):
    db = tmp_path / "emu.sqlite3"
    port = _free_port()
    with _server(db, port) as base:
        client = stripe.StripeClient("sk_test_standalone", base_addresses={"api": base})
        account = client.v1.accounts.create(
            params={"type": "express", "capabilities": {"transfers": {"requested": True}}}
        )
        session = client.v1.checkout.sessions.create(
            params={
                "mode": "payment",
                "line_items": [
                    {
                        "price_data": {
                            "currency": "usd",
                            "unit_amount": 1500,
                            "product_data": {"name": "Vase"},
                        },
                        "quantity": 1,
                    }
                ],
                "success_url": "https://shop.example/ok",
            }
        )
        assert session.url == f"{base}/c/pay/{session.id}"
        with pytest.raises(stripe.AuthenticationError):
            stripe.StripeClient("sk_live_nope", base_addresses={"api": base}).v1.balance.retrieve()

        # A dropped connection after processing: the SDK sees a network error.
        req = urllib.request.Request(  # noqa: S310 - local test server
            f"{base}/_emulator/faults",
            data=json.dumps(
                {"path_prefix": "/v1/payment_intents", "kind": "disconnect", "when": "after"}
            ).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - local test server
            assert resp.status == 200
        with pytest.raises(stripe.APIConnectionError):
            client.v1.payment_intents.create(params={"amount": 2000, "currency": "usd"})
        assert len(client.v1.payment_intents.list().data) == 1

    # Restarting on the same database keeps the objects.
    with _server(db, port) as base:
        client = stripe.StripeClient("sk_test_standalone", base_addresses={"api": base})
        assert client.v1.accounts.retrieve(account.id).id == account.id
        assert client.v1.checkout.sessions.retrieve(session.id).amount_total == 1500
