"""`python -m tests.simulation`: run seeds of the money simulation, with progress.

    python -m tests.simulation --seeds 500           # seeds 1..500
    python -m tests.simulation --seed 1234           # replay one seed, with its whole log
    python -m tests.simulation --seeds 200 --first 10000 --steps 60
    python -m tests.simulation --seeds 2000 --jobs 2    # in two processes

On SQLite by default (a fresh database in a temporary folder per process); on PostgreSQL
with TEST_DATABASE_URL, as the test suite (with --jobs, each process its own database made
next to it and dropped after). At the end, a table of how often each step, fault and race
was reached. Exits non-zero when a seed fails, after printing the
seed, the invariant that broke, the last steps and the command that replays it.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import time
from collections import Counter

from tests.simulation.processes import _run, _worker
from tests.simulation.simulator import Outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulation", description=__doc__)
    parser.add_argument("--seeds", type=int, default=20, help="how many seeds (default 20)")
    parser.add_argument("--first", type=int, default=1, help="the first seed (default 1)")
    parser.add_argument("--seed", type=int, help="run this one seed and print its whole log")
    parser.add_argument("--steps", type=int, default=40, help="steps per seed (default 40)")
    parser.add_argument(
        "--jobs", type=int, default=1, help="run the seeds in this many processes (default 1)"
    )
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

    engine = "PostgreSQL" if os.environ.get("TEST_DATABASE_URL") else "SQLite"
    jobs = max(1, min(args.jobs, len(seeds)))
    print(
        f"money simulation: {len(seeds)} seed(s) of {args.steps} steps on {engine}"
        + (f", {jobs} processes" if jobs > 1 else ""),
        flush=True,
    )
    failed: list[Outcome] = []
    coverage: Counter[str] = Counter()
    started = time.perf_counter()
    done = 0

    def progress(outcome: Outcome) -> None:
        nonlocal done
        done += 1
        coverage.update(outcome.coverage)
        rate = done / (time.perf_counter() - started)
        if not outcome.ok:
            failed.append(outcome)
            print(f"\n{outcome.report(tail=10_000 if args.seed is not None else 30)}\n", flush=True)
        elif args.seed is not None:
            print("\n".join(outcome.log))
        for name, detail in outcome.noted.items():
            print(f"  seed {outcome.seed} noted: {name}: {detail[:300]}")
        print(
            f"[{done}/{len(seeds)}] seed {outcome.seed} {'ok' if outcome.ok else 'FAILED'} "
            f"({outcome.seconds:.1f}s) · {rate:.2f} seeds/s · {len(failed)} failed",
            flush=True,
        )

    options = (args.steps, tuple(args.ignore), args.keep_going)
    if jobs == 1:
        for outcome in _run(seeds, 0, options):
            progress(outcome)
            if not outcome.ok and not args.keep_going:
                break
    else:
        # Seeds dealt round-robin; each process has its own database and emulator.
        context = multiprocessing.get_context("spawn")
        queue = context.Queue()
        workers = [
            context.Process(target=_worker, args=(seeds[index::jobs], index + 1, options, queue))
            for index in range(jobs)
        ]
        for worker in workers:
            worker.start()
        running = jobs
        while running:
            outcome = queue.get()
            if outcome is None:
                running -= 1
                continue
            progress(outcome)
            if not outcome.ok and not args.keep_going:
                for worker in workers:
                    worker.terminate()
                break
        for worker in workers:
            worker.join()
    elapsed = time.perf_counter() - started
    if len(seeds) > 1:
        print(coverage_table(coverage, done))
    print(f"\n{elapsed:.0f}s on {engine} ({done / elapsed:.2f} seeds/s).", end=" ")
    if failed:
        print(f"{len(failed)} seed(s) failed:")
        for outcome in failed:
            print(f"  seed {outcome.seed}: {outcome.broken.name if outcome.broken else ''}")
            print(f"    {outcome.replay_command()}")
        return 1
    print("Every seed held.")
    return 0


def coverage_table(coverage: Counter[str], seeds: int) -> str:
    """How many times each step kind, fault kind and race ran over the seeds."""
    lines = [f"\nwhat {seeds} seed(s) exercised (times):"]
    for group in ("step", "fault", "reached"):
        rows = sorted((k, v) for k, v in coverage.items() if k.startswith(group + " "))
        if group == "reached":
            rows = sorted((k, v) for k, v in coverage.items() if k.startswith("reached:"))
        for name, count in rows:
            lines.append(f"  {count:>7}  {name}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
