"""The money simulation inside the suite: a bounded set of seeds, each a random history of
checkouts, refunds, disputes, payout runs, webhooks and faults, with the money invariants
checked after every step and reconciliation after every simulated day.

On PostgreSQL (the second pass of `.ci/run`) the steps about things happening at once run
from threads. `SIMULATION_SEEDS` (by default as many as fit in about a minute on each
engine) and `SIMULATION_FIRST_SEED` choose the seeds; `make simulate SEEDS=N` runs many
more, with progress. The seeds share one app, so the world is built once (see `world.py`).
A failure prints, for every failing seed, the broken invariant, the last steps and the
command that replays it.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest

from tests.conftest import is_postgres
from tests.simulation.simulator import CONFIG, Simulation

FIRST = int(os.environ.get("SIMULATION_FIRST_SEED", "1"))


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(CONFIG)
    return app_config


def test_the_money_holds_through_random_histories(app: Any, emulator: Any) -> None:
    count = int(os.environ.get("SIMULATION_SEEDS", "12" if is_postgres(app) else "40"))
    outcomes = [
        Simulation(app, emulator, seed, steps=40).run() for seed in range(FIRST, FIRST + count)
    ]
    failed = [outcome for outcome in outcomes if not outcome.ok]
    assert not failed, "\n\n".join(outcome.report() for outcome in failed)
    # The seeds reached what they are for: refunds and payouts with calls in flight.
    reached: Counter[str] = sum((outcome.coverage for outcome in outcomes), start=Counter())
    assert reached["step refund"] and reached["step payouts_at_once"], reached
    # And returns refunded through the same path, with a click or the sweep in flight.
    assert reached["step return_received"] and reached["step returns_at_once"], reached
