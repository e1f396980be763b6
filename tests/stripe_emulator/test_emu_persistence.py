"""State in an SQLite file survives a restart, including the emulator clock."""

from __future__ import annotations

from stripe_emulator import Emulator


def test_state_and_clock_survive_restart(tmp_path, make_client):
    db = str(tmp_path / "state.sqlite3")
    first = Emulator(db_path=db)
    import stripe

    client = stripe.StripeClient("sk_test_x", http_client=first.http_client())
    pi = client.v1.payment_intents.create(
        params={
            "amount": 5000,
            "currency": "usd",
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    first.advance(86400)
    platform = first.platform_id
    first.close()

    second = Emulator(db_path=db)
    try:
        client = stripe.StripeClient("sk_test_x", http_client=second.http_client())
        assert client.v1.payment_intents.retrieve(pi.id).status == "succeeded"
        assert second.platform_id == platform
        assert second.clock.offset == 86400
        assert second.balance()["pending"] == {"usd": 5000 - 175}
        second.advance(86400)
        assert second.balance()["available"] == {"usd": 5000 - 175}
    finally:
        second.close()


def test_concurrent_requests_from_many_threads(emu, make_client):
    """The app may serve several threads; state stays consistent under the lock."""
    import threading

    errors: list[BaseException] = []

    def worker() -> None:
        client = make_client()
        try:
            for _ in range(5):
                client.v1.payment_intents.create(
                    params={
                        "amount": 1000,
                        "currency": "usd",
                        "payment_method": "pm_card_bypassPending",
                        "confirm": True,
                    }
                )
                client.v1.balance.retrieve()
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(emu.objects("payment_intent")) == 40
    assert emu.balance()["available"] == {"usd": 40 * (1000 - 59)}
