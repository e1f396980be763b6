"""Stripe's rate limit: a transfer refused with 429 waits (exponentially, with jitter) and
goes again with the same idempotency key, a bounded number of times; a token bucket paces the
writes; the run says its pace and when it waits. Time is the test's: nothing really sleeps."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.uow import unit_of_work
from payouts import payout_run, runtime
from payouts.gateway import GatewayRateLimited, GatewayUnavailable, RateLimit
from payouts.models import PayoutItem, PayoutItemStatus
from payouts.runtime import gateway
from stripe_emulator.transport import EmulatorHTTPClient
from tests.payouts.money import check_invariants, pay_out
from tests.payouts.test_payout_claims import sale_ready_to_pay


class FakeTime:
    """A clock that only moves when something sleeps."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time(app: Any) -> FakeTime:
    fake = FakeTime()
    limit = gateway(app).rate_limit
    limit.sleep, limit.clock = fake.sleep, fake.clock
    limit.jitter = lambda: 0.0  # each pause is half its ceiling: predictable
    return fake


@pytest.fixture
def transfer_keys(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The Idempotency-Key of every POST /v1/transfers the SDK sends, in order."""
    keys: list[str] = []
    original = EmulatorHTTPClient._send

    def record(client: Any, method: str, url: str, headers: Any, post_data: Any) -> Any:
        if method.upper() == "POST" and url.endswith("/v1/transfers"):
            keys.append(dict(headers or {}).get("Idempotency-Key", ""))
        return original(client, method, url, headers, post_data)

    monkeypatch.setattr(EmulatorHTTPClient, "_send", record)
    return keys


def run_saying() -> tuple[payout_run.RunResult, list[str]]:
    said: list[str] = []
    with unit_of_work():
        result = payout_run.run(progress=said.append)
    db.session.commit()
    return result, said


def test_a_rate_limited_transfer_waits_and_goes_again_with_the_same_key(
    app, client, emulator, fake_time, transfer_keys
):
    sale_ready_to_pay(client, emulator)
    emulator.fail_next("/v1/transfers", count=3, kind="rate_limit")
    result, said = run_saying()
    assert (result.paid, result.pending) == (1, 0)
    item = db.session.scalar(select(PayoutItem))
    assert transfer_keys == [item.idempotency_key] * 4
    # 0.5 s, then 1 s, then 2 s, each at the low end of its jitter.
    assert fake_time.slept == [0.25, 0.5, 1.0]
    waits = [line for line in said if line.startswith("waiting")]
    assert len(waits) == 3
    assert "Stripe's rate limit" in waits[0] and f"payout item {item.id}" in waits[0]
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def test_past_its_retries_a_rate_limited_item_waits_for_the_next_run(
    app, client, emulator, fake_time, transfer_keys
):
    sale_ready_to_pay(client, emulator)
    retries = gateway(app).rate_limit.retries
    emulator.fail_next("/v1/transfers", count=retries + 1, kind="rate_limit")
    result, _said = run_saying()
    assert (result.paid, result.pending) == (0, 1)
    assert len(fake_time.slept) == retries
    # Exponential, capped: never more than max_pause.
    assert fake_time.slept == sorted(fake_time.slept)
    assert max(fake_time.slept) <= gateway(app).rate_limit.max_pause
    item = db.session.scalar(select(PayoutItem))
    assert item.status == PayoutItemStatus.PENDING and item.claimed_until is None
    assert emulator.objects("transfer") == []
    # The next run sends it again with the same key, and Stripe makes it once.
    assert pay_out().paid == 1
    assert set(transfer_keys) == {item.idempotency_key}
    assert len(transfer_keys) == retries + 2
    assert len(emulator.objects("transfer")) == 1
    check_invariants(emulator)


def test_a_refusal_for_the_rate_limit_is_one_callers_may_retry_later():
    assert issubclass(GatewayRateLimited, GatewayUnavailable)


def test_the_bucket_spaces_writes_at_the_rate_and_does_not_hold_a_slow_sender():
    fake = FakeTime()
    limit = RateLimit(100, sleep=fake.sleep, clock=fake.clock)
    sent: list[float] = []
    for _ in range(5):
        limit.send(lambda: sent.append(fake.now))
    assert sent == pytest.approx([1_000.0, 1_000.01, 1_000.02, 1_000.03, 1_000.04])
    assert limit.paced_seconds == pytest.approx(0.04)
    # A sender slower than the rate never waits.
    fake.now += 1
    for _ in range(3):
        limit.take()
        fake.now += 0.05
    assert limit.paced_seconds == pytest.approx(0.04)


def test_without_a_rate_the_bucket_never_waits():
    fake = FakeTime()
    limit = RateLimit(None, sleep=fake.sleep, clock=fake.clock)
    for _ in range(1_000):
        limit.take()
    assert fake.slept == []


def test_pauses_grow_exponentially_with_jitter_up_to_a_ceiling():
    fake = FakeTime()
    draws = iter([0.0, 1.0, 0.5, 1.0, 1.0, 0.0, 1.0])
    limit = RateLimit(
        None,
        retries=6,
        first_pause=0.5,
        max_pause=4.0,
        sleep=fake.sleep,
        clock=fake.clock,
        jitter=lambda: next(draws),
    )
    tries = 0

    def refused() -> None:
        nonlocal tries
        tries += 1
        raise GatewayRateLimited("Too many requests", code="rate_limit")

    heard: list[tuple[float, int]] = []
    with pytest.raises(GatewayRateLimited):
        limit.send(refused, on_pause=lambda pause, n: heard.append((pause, n)))
    assert tries == 7  # the first try and six more
    assert fake.slept == [0.25, 1.0, 1.5, 4.0, 4.0, 2.0]
    assert heard == [(pause, n) for n, pause in enumerate(fake.slept, start=1)]
    assert (limit.refusals, limit.paused_seconds) == (6, sum(fake.slept))


def test_the_pace_is_configured_per_mode(app_config):
    assert runtime.writes_per_second({}, 100.0) == 100.0
    assert runtime.writes_per_second({"STRIPE_WRITES_PER_SECOND": "25"}, 100.0) == 25.0
    assert runtime.writes_per_second({"STRIPE_WRITES_PER_SECOND": "0"}, 100.0) is None
    assert runtime.writes_per_second({}, None) is None


def test_the_emulated_gateway_has_no_pace_unless_told(app):
    assert gateway(app).rate_limit.per_second is None


def test_the_emulated_gateway_keeps_a_pace_it_is_told(app_config):
    told = create_app({**app_config, "STRIPE_WRITES_PER_SECOND": "50"})
    assert gateway(told).rate_limit.per_second == 50.0


def test_the_progress_says_the_pace(app, client, emulator, fake_time):
    sale_ready_to_pay(client, emulator)
    result, said = run_saying()
    assert result.paid == 1
    assert said[0].startswith("1 transfer(s) to make, planned in ")
    assert any("1/1 transfers handled" in line and "transfers/s" in line for line in said)


def test_a_run_held_to_its_pace_says_so(app, client, emulator, fake_time):
    sale_ready_to_pay(client, emulator)
    limit = gateway(app).rate_limit
    limit.per_second = 0.5  # one write every two seconds
    limit.take()  # the bucket's one token is spent: the run's transfer waits for the next
    result, said = run_saying()
    assert result.paid == 1 and fake_time.slept == [2.0]
    assert any("waited on the rate limit" in line for line in said), said
