"""Idempotency keys where money races hide: a key in use, a key expired, an error saved."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import stripe

from stripe_emulator import Emulator, EmulatorHTTPClient
from stripe_emulator import api as emulator_api

TRANSFER = {"amount": 1_000, "currency": "usd"}
IN_PROGRESS = "There is currently another in-progress request using this Idempotent Key"


@pytest.fixture
def funded(h: Any) -> str:
    acct = h.onboarded_account()
    h.pay(50_000, pm="pm_card_bypassPending")
    return acct


class Held:
    """Holds the next request that claimed its idempotency key just before it executes, as a
    slow request at Stripe is still executing when its retry arrives."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.claimed = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        real = emulator_api._execute
        held = [False]

        def execute(*args: Any, **kwargs: Any) -> Any:
            if held[0]:
                return real(*args, **kwargs)
            held[0] = True
            self.claimed.set()
            assert self.release.wait(10), "the held request was never released"
            try:
                return real(*args, **kwargs)
            finally:
                self.done.set()

        monkeypatch.setattr(emulator_api, "_execute", execute)

    def start(self, call: Any) -> tuple[threading.Thread, list[Any]]:
        results: list[Any] = []

        def run() -> None:
            try:
                results.append(call())
            except Exception as exc:  # the test looks at it
                results.append(exc)

        thread = threading.Thread(target=run)
        thread.start()
        assert self.claimed.wait(10), "the first request never began"
        return thread, results


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> Held:
    return Held(monkeypatch)


def _transfer(client: stripe.StripeClient, destination: str, key: str) -> Any:
    return client.v1.transfers.create(
        params={**TRANSFER, "destination": destination}, options={"idempotency_key": key}
    )


def test_a_second_request_with_a_key_in_use_gets_409(client, emu, funded, held):
    first, results = held.start(lambda: _transfer(client, funded, "payout-item-7"))
    try:
        # The SDK has no class of its own for a 409: an APIError of type idempotency_error.
        with pytest.raises(stripe.APIError) as exc:
            _transfer(client, funded, "payout-item-7")
        assert exc.value.http_status == 409
        assert exc.value.error.type == "idempotency_error"
        assert exc.value.user_message.startswith(IN_PROGRESS)
        assert "payout-item-7" in exc.value.user_message
    finally:
        held.release.set()
        first.join(10)
    transfer = results[0]
    assert isinstance(transfer, stripe.Transfer)
    # The 409 saved nothing: the key now replays the first request's transfer.
    assert _transfer(client, funded, "payout-item-7").id == transfer.id
    assert [t["id"] for t in emu.objects("transfer")] == [transfer.id]


def test_the_sdk_retries_the_409_and_gets_the_first_result(emu, funded, held):
    class RetryOnceTheFirstIsDone(EmulatorHTTPClient):
        def _sleep_time_seconds(self, num_retries: int) -> float:
            # The SDK is about to retry the 409: let the first request finish meanwhile.
            held.release.set()
            assert held.done.wait(10)
            return 0.0

    plain = stripe.StripeClient("sk_test_emulator", http_client=emu.http_client(retry_sleep=0))
    retrying = stripe.StripeClient(
        "sk_test_emulator", http_client=RetryOnceTheFirstIsDone(emu), max_network_retries=2
    )
    first, results = held.start(lambda: _transfer(plain, funded, "payout-item-8"))
    second = _transfer(retrying, funded, "payout-item-8")
    first.join(10)
    assert second.id == results[0].id
    assert len(emu.objects("transfer")) == 1


def test_another_process_sees_the_key_in_use(emu, held, tmp_path):
    """Two processes on one emulator state (server workers): the claim is shared."""
    db_path = str(tmp_path / "stripe.sqlite3")
    workers = [Emulator(db_path=db_path), Emulator(db_path=db_path)]
    try:
        clients = [
            stripe.StripeClient("sk_test_emulator", http_client=w.http_client(retry_sleep=0))
            for w in workers
        ]
        params = {"amount": 2_000, "currency": "usd"}
        options: Any = {"idempotency_key": "checkout-3"}
        first, results = held.start(
            lambda: clients[0].v1.payment_intents.create(params=params, options=options)
        )
        try:
            with pytest.raises(stripe.APIError) as exc:
                clients[1].v1.payment_intents.create(params=params, options=options)
            assert exc.value.http_status == 409
        finally:
            held.release.set()
            first.join(10)
        again = clients[1].v1.payment_intents.create(params=params, options=options)
        assert again.id == results[0].id
        assert len(workers[1].objects("payment_intent")) == 1
    finally:
        for worker in workers:
            worker.close()


def test_a_claim_left_by_a_dead_process_expires(tmp_path, monkeypatch):
    db_path = str(tmp_path / "stripe.sqlite3")
    dead = Emulator(db_path=db_path)

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise SystemExit("killed between the claim and the work")

    monkeypatch.setattr(emulator_api, "_execute", killed)
    client = stripe.StripeClient("sk_test_emulator", http_client=dead.http_client())
    params = {"amount": 2_000, "currency": "usd"}
    with pytest.raises(SystemExit):
        client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-dead"})
    monkeypatch.undo()
    dead.store.conn.close()  # the process is gone; its claim is in the file

    survivor = Emulator(db_path=db_path)
    try:
        client = stripe.StripeClient("sk_test_emulator", http_client=survivor.http_client())
        with pytest.raises(stripe.APIError) as exc:
            client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-dead"})
        assert exc.value.http_status == 409
        clock = [emulator_api.time.time()]
        monkeypatch.setattr(emulator_api.time, "time", lambda: clock[0])
        clock[0] += emulator_api.IN_PROGRESS_LEASE_SECONDS + 1
        pi = client.v1.payment_intents.create(params=params, options={"idempotency_key": "k-dead"})
        assert pi.amount == 2_000
    finally:
        survivor.close()


def test_keys_expire_after_24_hours_of_the_emulator_clock(client, emu, funded):
    first = _transfer(client, funded, "payout-item-9")
    emu.advance(24 * 3600 - 1)
    assert _transfer(client, funded, "payout-item-9").id == first.id
    emu.advance(1)
    # Forgotten: the same key makes a second transfer, which is what Stripe does.
    second = _transfer(client, funded, "payout-item-9")
    assert second.id != first.id
    assert len(emu.objects("transfer")) == 2
    # And the new request is remembered from now on.
    assert _transfer(client, funded, "payout-item-9").id == second.id


def test_an_error_raised_during_execution_is_saved_and_replayed(client, emu, h):
    poor = h.onboarded_account()  # the platform holds nothing available yet
    with pytest.raises(stripe.InvalidRequestError) as first:
        _transfer(client, poor, "payout-item-10")
    assert first.value.code == "balance_insufficient"
    h.pay(50_000, pm="pm_card_bypassPending")
    # Money arrived, but the key is spent on the refusal: the retry replays it.
    with pytest.raises(stripe.InvalidRequestError) as again:
        _transfer(client, poor, "payout-item-10")
    assert again.value.json_body == first.value.json_body
    assert again.value.headers["Idempotent-Replayed"] == "true"
    assert emu.objects("transfer") == []


def test_a_500_during_execution_is_saved_and_nothing_it_wrote_is_kept(
    client, emu, funded, monkeypatch
):
    real = emulator_api.expand
    calls = []

    def broken(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        raise RuntimeError("the emulator broke half-way")

    monkeypatch.setattr(emulator_api, "expand", broken)
    with pytest.raises(stripe.APIError) as first:
        _transfer(client, funded, "payout-item-11")
    assert first.value.http_status == 500
    assert emu.objects("transfer") == []  # the work was rolled back
    monkeypatch.setattr(emulator_api, "expand", real)
    with pytest.raises(stripe.APIError) as again:
        _transfer(client, funded, "payout-item-11")
    assert again.value.json_body == first.value.json_body
    assert calls == [1] and emu.objects("transfer") == []


def test_a_lost_answer_to_an_error_is_replayed_not_executed_again(emu, h):
    """`when="after"`: the request ran and was refused, the answer was lost; by the SDK's
    retry the balance would allow the transfer, but Stripe answers the saved refusal."""
    poor = h.onboarded_account()

    class FundedBeforeTheRetry(EmulatorHTTPClient):
        def _sleep_time_seconds(self, num_retries: int) -> float:
            h.pay(50_000, pm="pm_card_bypassPending")
            return 0.0

    client = stripe.StripeClient(
        "sk_test_emulator", http_client=FundedBeforeTheRetry(emu), max_network_retries=1
    )
    emu.fail_next("/v1/transfers", kind="timeout", when="after")
    with pytest.raises(stripe.InvalidRequestError) as exc:
        client.v1.transfers.create(params={**TRANSFER, "destination": poor})
    assert exc.value.code == "balance_insufficient"
    assert exc.value.headers["Idempotent-Replayed"] == "true"
    assert emu.objects("transfer") == []


def test_a_state_file_from_an_older_emulator_is_upgraded(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE idempotency (scope TEXT NOT NULL, key TEXT NOT NULL, method TEXT NOT NULL,"
        " path TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,"
        " body BLOB NOT NULL, request_id TEXT NOT NULL, created INTEGER NOT NULL,"
        " PRIMARY KEY (scope, key))"
    )
    conn.commit()
    conn.close()
    emu = Emulator(db_path=str(path))
    try:
        client = stripe.StripeClient("sk_test_emulator", http_client=emu.http_client())
        opts: Any = {"idempotency_key": "k"}
        pi = client.v1.payment_intents.create(
            params={"amount": 900, "currency": "usd"}, options=opts
        )
        again = client.v1.payment_intents.create(
            params={"amount": 900, "currency": "usd"}, options=opts
        )
        assert again.id == pi.id
    finally:
        emu.close()
