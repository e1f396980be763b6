"""A deterministic simulation of the money, after TigerBeetle's VOPR.

One integer seed drives, through `random.Random(seed)` and nothing else, a random interleaving
of checkouts, payments, refunds (pages and API), cancellations, disputes, releases, payout
runs, pool distributions, webhook deliveries (held back, reordered, duplicated, delivered in
the middle of the call that caused them) and faults (lost answers, 500s, 429s, timeouts, a
process killed between its commit and its Stripe call). The money invariants are checked
after every step, and reconciliation with the emulator once the system is quiet, after every
simulated day. A failing seed prints itself and replays with `python -m tests.simulation
--seed S`.
"""
