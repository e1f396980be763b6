"""The money simulation inside the suite: a bounded set of seeds, each a random history of
checkouts, refunds, disputes, payout runs, webhooks and faults, with the money invariants
checked after every step and reconciliation after every simulated day.

On PostgreSQL (the second pass of `.ci/run`) the steps about things happening at once run
from threads. `SIMULATION_SEEDS` (default 8) and `SIMULATION_FIRST_SEED` choose the seeds;
`make simulate SEEDS=N` runs many more, with progress. A failure prints the seed, the broken
invariant, the last steps and the command that replays it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.simulation.simulator import CONFIG, Simulation

FIRST = int(os.environ.get("SIMULATION_FIRST_SEED", "1"))
SEEDS = range(FIRST, FIRST + int(os.environ.get("SIMULATION_SEEDS", "8")))


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config.update(CONFIG)
    return app_config


@pytest.mark.parametrize("seed", SEEDS)
def test_the_money_holds_through_a_random_history(app: Any, emulator: Any, seed: int) -> None:
    outcome = Simulation(app, emulator, seed, steps=40).run()
    assert outcome.ok, outcome.report()
