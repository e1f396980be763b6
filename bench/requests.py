"""What one request of each load-test target costs the server: CPU time and queries.

    .venv/bin/python -m bench.requests              # 300 requests per target
    .venv/bin/python -m bench.requests --requests 1000 --only home feed
    .venv/bin/python -m bench.requests --only search --profile 25   # where the time goes
    .venv/bin/python -m bench.requests --only feed --sql             # the statements of one
    .venv/bin/python -m bench.requests --cached     # pages as served: from the page cache
    .venv/bin/python -m bench.requests --cached --redis   # ... on Redis, with feed timelines

It builds the load test's PostgreSQL database (bench.load: the small catalogue and shoppers
with API tokens and sessions) and sends each target's requests through the Flask test client
in this process, so what it measures is the app's own work, not the HTTP server's or the
load client's. Per target it prints the CPU time of a request (the median, and the lowest
mean over batches of 20, which a busy machine disturbs least), the database's CPU time for
it (its server processes, read from /proc), the queries it sent and their time, and the
Python function calls it made (counted apart, with cProfile: a figure that does not depend
on what else the machine is doing).

On a machine shared with other work, compare the lowest batch means and the call counts.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event

from bench.load import PG_SERVER, REDIS_URL, flush_redis, make_app, pg_admin, prepare

BATCH = 20


def _backend_cpu_ms(pids: set[int]) -> float:
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def targets(client: Any, data: dict[str, Any], rng: random.Random) -> dict[str, Callable[[], Any]]:
    def signed_in(path: Callable[[], str]) -> Callable[[], Any]:
        def send() -> Any:
            name, value = rng.choice(data["cookies"]).split("=", 1)
            client.set_cookie(name, value)
            try:
                return client.get(path())
            finally:
                client.delete_cookie(name)

        return send

    def add_to_cart() -> Any:
        token, variant_id = rng.choice(data["cart_pairs"])
        return client.post(
            "/api/v1/cart/lines",
            json={"variant_id": variant_id, "quantity": 1},
            headers={"Authorization": f"Bearer {token}"},
        )

    found = {
        "healthz (app hooks)": lambda: client.get("/healthz"),
        "home (storefront)": lambda: client.get("/"),
        "category": lambda: client.get(rng.choice(data["category_paths"])),
        "product page": lambda: client.get(rng.choice(data["product_paths"])),
        "search": lambda: client.get("/search?q=" + rng.choice(["linen+mug", "wool", "stone"])),
        "product (logged in)": signed_in(lambda: rng.choice(data["product_paths"])),
        "add to cart (API)": add_to_cart,
    }
    if data["feed"]:
        found["feed (logged in)"] = signed_in(lambda: "/feed")
    return found


def _warm(client: Any, data: dict[str, Any]) -> None:
    """Every page once, anonymous and signed in, and each shopper's feed once, as a site's
    visitors keep its cache warm."""
    name, value = data["cookies"][0].split("=", 1)
    paths = [*data["product_paths"], *data["category_paths"], "/"]
    for cookie in (None, value):
        if cookie:
            client.set_cookie(name, cookie)
        for path in paths:
            client.get(path)
    for each in data["cookies"]:
        name, value = each.split("=", 1)
        client.set_cookie(name, value)
        client.get("/feed")
        client.delete_cookie(name)


def measure(
    app: Any,
    data: dict[str, Any],
    requests: int,
    only: list[str] | None,
    profile_lines: int = 0,
    show_sql: bool = False,
) -> None:
    from app.extensions import db

    sent: list[float] = []
    statements: list[str] = []
    backends: set[int] = set()
    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        backends.add(dbapi_connection.info.backend_pid)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, *_args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(time.perf_counter() - conn.info["bench_started"])
        if show_sql:
            statements.append(" ".join(statement.split()))

    engine.dispose()  # connect again, through the listener
    client = app.test_client()
    header = (
        f"{'target':<22}{'cpu ms':>8}{'low ms':>8}{'db cpu':>8}{'queries':>9}"
        f"{'sql ms':>8}{'calls':>8}"
    )
    print(f"\nPer request, in-process ({requests} requests per target)\n{header}")
    print("-" * len(header))
    if app.config["PAGE_CACHE_TYPE"] != "NullCache":
        _warm(client, data)
    for name, send in targets(client, data, random.Random(3)).items():
        if only and not any(word in name for word in only):
            continue
        for _ in range(10):  # warm: templates, statement caches, prepared statements
            response = send()
            # Not a redirect either: the feed's would mean its shopper is not signed in.
            assert 200 <= response.status_code < 300, (name, response.status_code)
        sent.clear()
        db_before = _backend_cpu_ms(backends)
        cpu: list[float] = []
        for _ in range(requests):
            started = time.thread_time()
            send()
            cpu.append((time.thread_time() - started) * 1000)
        db_cpu = (_backend_cpu_ms(backends) - db_before) / requests
        queries, sql_ms = len(sent) / requests, sum(sent) * 1000 / requests
        batches = [
            statistics.mean(cpu[i : i + BATCH]) for i in range(0, len(cpu) - BATCH + 1, BATCH)
        ]
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(BATCH):
            send()
        profile.disable()
        calls = pstats.Stats(profile).total_calls / BATCH  # type: ignore[attr-defined]
        print(
            f"{name:<22}{statistics.median(cpu):>8.2f}{min(batches):>8.2f}{db_cpu:>8.2f}"
            f"{queries:>9.1f}{sql_ms:>8.2f}{calls:>8.0f}"
        )
        if show_sql:
            statements.clear()
            send()
            for number, statement in enumerate(statements, 1):
                print(f"  {number:>2}. {statement[:400]}")
        if profile_lines:
            pstats.Stats(profile).sort_stats(os.environ.get("BENCH_SORT", "tottime")).print_stats(
                profile_lines
            )


def main() -> None:
    parser = argparse.ArgumentParser(description="Per-request cost of the load test's targets.")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--scale", type=float, default=0.05)
    parser.add_argument("--only", nargs="*", help="only the targets with these words")
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="print each target's N costliest functions",
    )
    parser.add_argument(
        "--cached",
        action="store_true",
        help="serve pages from the page cache (in the process), as a worker does",
    )
    parser.add_argument(
        "--redis",
        action="store_true",
        help="with Redis as in production (BENCH_REDIS_URL, emptied first): the page cache "
        "there with --cached, and the feed's timelines",
    )
    parser.add_argument(
        "--sql", action="store_true", help="print the statements of one request of each target"
    )
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="kindred-requests-"))
    name = f"kindred_requests_{os.getpid()}"
    pg_admin(f"CREATE DATABASE {name}")
    try:
        url = f"{PG_SERVER}/{name}"
        data = prepare(url, root, args.scale, seed_data=True)
        redis_url = REDIS_URL if args.redis and flush_redis(REDIS_URL) else ""
        if args.redis and not redis_url:
            print("   Redis is not answering: measuring without it")
        kind = ("redis" if redis_url else "memory") if args.cached else "off"
        app = make_app(url, root, kind, redis_url)
        measure(app, data, max(args.requests, BATCH), args.only, args.profile, args.sql)
        with app.app_context():
            from app.extensions import db

            db.engine.dispose()
    finally:
        pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
