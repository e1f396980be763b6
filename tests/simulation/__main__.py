"""`python -m tests.simulation`: run seeds of the money simulation, with progress.

    python -m tests.simulation --seeds 500           # seeds 1..500
    python -m tests.simulation --seed 1234           # replay one seed, with its whole log
    python -m tests.simulation --seeds 200 --first 10000 --steps 60

On SQLite by default (a fresh database in a temporary folder); on PostgreSQL with
TEST_DATABASE_URL, as the test suite. Exits non-zero when a seed fails, after printing the
seed, the invariant that broke, the last steps and the command that replays it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import KindredClient, _base_config, _database_url  # also: fast hashing
from tests.simulation.simulator import CONFIG, Outcome, run_seeds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--seed", type=int, help="run this one seed and print its whole log")
    parser.add_argument("--steps", type=int, default=40, help="steps per seed (default 40)")
    parser.add_argument(
        "--keep-going", action="store_true", help="run every seed even after a failure"
    )
    parser.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="PART",
        help="note (in the log) instead of failing on invariants whose name contains PART, "
        "to look past a known finding",
    )
    args = parser.parse_args(argv)
    seeds = (
        [args.seed] if args.seed is not None else list(range(args.first, args.first + args.seeds))
    )

    from flask_migrate import upgrade

    from app import create_app
    from app.database import write_intent
    from app.extensions import db
    from payouts.runtime import emulator as get_emulator

    root = Path(tempfile.mkdtemp(prefix="kindred-simulation-"))
    url = _database_url(root)
    app = create_app({**_base_config(url, root), **CONFIG})
    app.test_client_class = KindredClient
    write_intent.set(False)
    engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    print(f"money simulation: {len(seeds)} seed(s) of {args.steps} steps on {engine}", flush=True)
    failed: list[Outcome] = []
    started = time.perf_counter()

    def progress(outcome: Outcome, index: int, total: int) -> None:
        rate = index / (time.perf_counter() - started)
        if not outcome.ok:
            failed.append(outcome)
            print(f"\n{outcome.report(tail=10_000 if args.seed is not None else 30)}\n", flush=True)
        elif args.seed is not None:
            print("\n".join(outcome.log))
        for name, detail in outcome.noted.items():
            print(f"  seed {outcome.seed} noted: {name}: {detail[:300]}")
        print(
            f"[{index}/{total}] seed {outcome.seed} {'ok' if outcome.ok else 'FAILED'} "
            f"({outcome.seconds:.1f}s) · {rate:.2f} seeds/s · {len(failed)} failed",
            flush=True,
        )

    with app.app_context():
        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
        emulator = get_emulator(app)
        for seed in seeds:
            outcome = run_seeds(app, emulator, [seed], args.steps, None, tuple(args.ignore))[0]
            progress(outcome, seeds.index(seed) + 1, len(seeds))
            if not outcome.ok and not args.keep_going:
                break
        db.session.remove()
    elapsed = time.perf_counter() - started
    print(f"\n{elapsed:.0f}s on {engine}.", end=" ")
    if failed:
        print(f"{len(failed)} seed(s) failed:")
        for outcome in failed:
            print(f"  seed {outcome.seed}: {outcome.broken.name if outcome.broken else ''}")
            print(f"    {outcome.replay_command()}")
        return 1
    print("Every seed held.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
