"""Load test: Kindred under gunicorn on PostgreSQL, beside a bare Flask ceiling.

    .venv/bin/python -m bench.load --short     # CI: a small catalogue, ~2 s per target
    .venv/bin/python -m bench.load             # full: 20,000 products, 15 s per target

It creates a PostgreSQL database of its own (dropped at the end unless --keep), migrates and
seeds it (bench.seed, plus shoppers with API tokens who follow 10 to 50 curators with picks),
starts two gunicorns with the same settings (deploy/gunicorn.conf.py), on Redis as in
production when it answers (BENCH_REDIS_URL, database 13 by default, emptied first): Kindred,
and bench/ceiling.py, a Flask app returning a small JSON document. Then, from other processes
on loopback, it loads one target at a time with a fixed number of keep-alive connections for
a fixed time (pages after one visit to each, as visitors keep the page cache warm, and each
shopper's feed after one visit),
the ceiling again between every two targets, and prints requests per second and
p50/p99 latency per target, and each target's ratio to the ceilings just before and after it.

The client is Python (threads in a few processes, http.client), so it needs no install; on a
small machine it shares the cores with the server, which lowers the ceiling and the pages
alike. Read the ratios, not the absolute figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432")
SEARCH_QUERIES = ["linen+mug", "wool", "vintage+denim+jacket", "glazed+bowl", "stone", "tiny+vase"]
SHOPPERS = 100
VARIANTS_PER_SHOPPER = 10
# A real feed: curators who picked products, and shoppers who follow 10 to 50 of them.
CURATORS = 60
PICKS_PER_CURATOR = 12
FOLLOWS = (10, 50)
# Redis as in production (page cache, rate limits, broker), in a database of its own.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


@dataclass
class Target:
    name: str
    method: str = "GET"
    paths: list[str] = field(default_factory=list)
    # For the add-to-cart API: (bearer token, variant id) pairs, one picked per request.
    cart_pairs: list[tuple[str, int]] = field(default_factory=list)
    # For pages that need a login: Cookie headers of logged-in shoppers, one picked per request.
    cookies: list[str] = field(default_factory=list)
    ceiling: bool = False


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]
    statuses: dict[int, int]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, fraction: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]

    @property
    def errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if not 200 <= status < 400)


# --- the client ----------------------------------------------------------------------------------


def _request(target: Target, rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
    if target.cookies:
        return target.method, rng.choice(target.paths), None, {"Cookie": rng.choice(target.cookies)}
    if target.cart_pairs:
        token, variant_id = rng.choice(target.cart_pairs)
        body = json.dumps({"variant_id": variant_id, "quantity": 1}).encode()
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        return "POST", "/api/v1/cart/lines", body, headers
    return target.method, rng.choice(target.paths), None, {}


def _thread_loop(
    port: int, target: Target, deadline: float, seed: int, out: list[Any], lock: threading.Lock
) -> None:
    rng = random.Random(seed)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    while time.perf_counter() < deadline:
        method, path, body, headers = _request(target, rng)
        started = time.perf_counter()
        status = 0
        # A kept-alive connection may have been closed by the server meanwhile (a worker
        # recycled after max_requests): like a browser or a proxy, try once more on a fresh
        # connection before counting an error.
        for _attempt in range(2):
            try:
                connection.request(method, path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    connection.close()
                break
            except (OSError, http.client.HTTPException):
                connection.close()
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
    connection.close()
    with lock:
        out.append((latencies, statuses))


def _process_run(args: tuple[int, Target, float, int, int]) -> tuple[list[float], dict[int, int]]:
    port, target, seconds, threads, seed = args
    deadline = time.perf_counter() + seconds
    out: list[Any] = []
    lock = threading.Lock()
    workers = [
        threading.Thread(
            target=_thread_loop, args=(port, target, deadline, seed * 1000 + n, out, lock)
        )
        for n in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=seconds + 120)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    for thread_latencies, thread_statuses in out:
        latencies.extend(thread_latencies)
        statuses.update(thread_statuses)
    return latencies, dict(statuses)


def load(
    pool: Any, port: int, target: Target, seconds: float, connections: int, processes: int
) -> Result:
    threads = max(1, connections // processes)
    started = time.perf_counter()
    parts = pool.map(
        _process_run, [(port, target, seconds, threads, n + 1) for n in range(processes)]
    )
    elapsed = time.perf_counter() - started
    latencies = [ms for part, _s in parts for ms in part]
    statuses: Counter[int] = Counter()
    for _l, part_statuses in parts:
        statuses.update(part_statuses)
    return Result(
        target.name, len(latencies), min(elapsed, seconds + 0.5), latencies, dict(statuses)
    )


# --- the servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_gunicorn(app_path: str, port: int, env: dict[str, str], log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "-c",
        str(ROOT / "deploy" / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        app_path,
    ]
    with log.open("w") as output:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)


def wait_until_up(port: int, path: str, seconds: float, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + seconds
    for _attempt in range(int(seconds * 4)):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn on port {port} exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", path)
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            break
        time.sleep(0.25)
    raise RuntimeError(f"gunicorn on port {port} not ready after {seconds:.0f}s")


def warm_every_path(port: int, paths: list[str], cookie: str | None = None) -> None:
    """Ask for every page of a target once (signed in as one of its shoppers when it has
    them), as a site's visitors keep its cache warm: the run then measures pages served as
    they are in production (a miss now and then, when something changed). What a page costs
    to build is bench.requests' measure."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    try:
        for path in dict.fromkeys(paths):
            connection.request("GET", path, headers=headers)
            connection.getresponse().read()
    finally:
        connection.close()


def check_signed_in(port: int, path: str, cookie: str) -> None:
    """A shopper's cookie must sign them in: a page answering with a redirect to the log-in
    page would count as a success and measure the wrong thing."""
    # Workers still starting may drop a connection: like the load loop, try again.
    for attempt in range(3):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            connection.request("GET", path, headers={"Cookie": cookie})
            response = connection.getresponse()
            response.read()
            break
        except (OSError, http.client.HTTPException):
            if attempt == 2:
                raise
            time.sleep(1)
        finally:
            connection.close()
    if response.status != 200:
        location = response.getheader("Location") or ""
        raise RuntimeError(
            f"{path} with a shopper's session cookie answered {response.status} {location}: "
            "the cookie does not sign them in"
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# --- the data ------------------------------------------------------------------------------------


def pg_admin(sql: str) -> None:
    import psycopg

    url = PG_SERVER.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
        connection.execute(sql)  # type: ignore[arg-type]


def make_app(database_url: str, root: Path, page_cache: str = "off", redis_url: str = "") -> Any:
    from app import create_app

    return create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(root / "instance"),
            "UPLOAD_DIR": str(root / "uploads"),
            "OUTBOX_DIR": str(root / "outbox"),
            "SECRET_KEY": "load",
            "REDIS_URL": redis_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "JOBS_INLINE": True,
            # bench.requests measures what a page costs to build: never from the page cache,
            # unless asked for what a page costs as served ("memory": the process's cache).
            "PAGE_CACHE": page_cache,
        }
    )


def flush_redis(url: str) -> bool:
    """Empty the bench's own Redis database; False when Redis is not there."""
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).flushdb()
    except Exception:  # no Redis: the app falls back, and the note says so
        return False
    return True


def prepare(database_url: str, root: Path, scale: float, seed_data: bool) -> dict[str, Any]:
    """Migrate and seed (unless reusing a seeded database); return what the targets need."""
    from flask_migrate import upgrade
    from sqlalchemy import insert, select, update

    from app.accounts import services as accounts
    from app.accounts.models import User
    from app.accounts.sessions import open_session
    from app.extensions import db
    from app.uow import unit_of_work
    from marketplace import categories
    from marketplace.models import Product, ProductVariant

    app = make_app(database_url, root)
    with app.app_context():
        if seed_data:
            upgrade()
            from bench.seed import seed

            started = time.perf_counter()
            counts = seed(scale, progress=False)
            print(
                f"   seeded {counts['products']:,} products in {time.perf_counter() - started:.1f}s"
            )
        with unit_of_work():
            product_paths = [
                f"/products/{pid}"
                for pid in db.session.scalars(
                    select(Product.id)
                    .where(Product.listed.is_(True))
                    .order_by(Product.id)
                    .limit(500)
                )
            ]
            variant_ids = list(
                db.session.scalars(
                    select(ProductVariant.id)
                    .join(Product, Product.id == ProductVariant.product_id)
                    .where(Product.listed.is_(True))
                    .order_by(ProductVariant.id)
                    .limit(SHOPPERS * VARIANTS_PER_SHOPPER)
                )
            )
            # Enough stock that adding one more never hits the limit during a run.
            db.session.execute(
                update(ProductVariant).where(ProductVariant.id.in_(variant_ids)).values(stock=1000)
            )
            first_id = (db.session.scalar(select(db.func.max(User.id))) or 0) + 1
            db.session.execute(
                insert(User),
                [
                    {
                        "email": f"shopper{first_id + n}@example.com",
                        "handle": f"shopper{first_id + n}",
                        "password_hash": "!",  # never logs in: the API token is enough
                        "display_name": f"Shopper {n}",
                        "bio": "",
                        "is_admin": False,
                        "session_nonce": f"load{first_id + n}",
                    }
                    for n in range(SHOPPERS)
                ],
            )
            shoppers = db.session.scalars(
                select(User).where(User.id >= first_id).order_by(User.id)
            ).all()
            pairs: list[tuple[str, int]] = []
            # Logged-in sessions without a login form: the session cookie Flask-Login would
            # set, signed with the app's key (the servers get the same SECRET_KEY).
            # Each names a live sign-in session on the server (a cookie that names none is
            # refused), so each shopper gets a real one first.
            serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
            cookie_name = app.config["SESSION_COOKIE_NAME"]
            for shopper in shoppers:
                open_session(shopper)
            cookies = [
                f"{cookie_name}=" + serializer.dumps({"_user_id": shopper.get_id(), "_fresh": True})
                for shopper in shoppers
            ]
            for index, shopper in enumerate(shoppers):
                _token, secret = accounts.create_token(shopper, "load test")
                mine = variant_ids[index::SHOPPERS][:VARIANTS_PER_SHOPPER] or variant_ids[:1]
                pairs.extend((secret, variant_id) for variant_id in mine)
            feed = "/feed" in {rule.rule for rule in app.url_map.iter_rules()}
            if feed:
                follow_curators(shoppers, product_paths)
            category_paths = [f"/categories/{key}" for key in categories.LEAF_KEYS[:12]]
        db.session.remove()
        db.engine.dispose()
    return {
        "product_paths": product_paths,
        "category_paths": category_paths,
        "cart_pairs": pairs,
        "feed": feed,
        "cookies": cookies,
    }


def follow_curators(shoppers: Sequence[Any], product_paths: list[str]) -> None:
    """Curators (the first shop owners) pick products through the app's own service, so each
    pick has its share link and feed event; every shopper follows 10 to 50 of them."""
    from sqlalchemy import insert, select

    from app.accounts.models import User
    from app.extensions import db
    from social import posts
    from social.models import Follow

    rng = random.Random(17)
    first_shopper = min(shopper.id for shopper in shoppers)
    curators = db.session.scalars(
        select(User).where(User.id < first_shopper).order_by(User.id).limit(CURATORS)
    ).all()
    product_ids = [int(path.rsplit("/", 1)[1]) for path in product_paths]
    for curator in curators:
        for product_id in rng.sample(product_ids, min(PICKS_PER_CURATOR, len(product_ids))):
            posts.create_pick(curator, product_id, "A favourite: well made and a joy to use.")
    rows = [
        {"follower_id": shopper.id, "followee_id": curator.id}
        for shopper in shoppers
        for curator in rng.sample(list(curators), min(rng.randint(*FOLLOWS), len(curators)))
    ]
    db.session.execute(insert(Follow), rows)
    print(
        f"   {len(curators) * PICKS_PER_CURATOR:,} picks by {len(curators)} curators, "
        f"{len(rows):,} follows"
    )


# --- the run -------------------------------------------------------------------------------------


def merged_ceiling(*runs: Result) -> Result:
    """Several ceiling runs as one (their requests over their time)."""
    statuses: Counter[int] = Counter()
    for run in runs:
        statuses.update(run.statuses)
    return Result(
        "ceiling (bare Flask)",
        sum(run.requests for run in runs),
        sum(run.seconds for run in runs),
        [ms for run in runs for ms in run.latencies_ms],
        dict(statuses),
    )


def print_table(results: list[Result], bases: list[Result], ceiling: Result, note: str) -> None:
    print()
    print(note)
    header = f"{'target':<22}{'requests':>9}{'rps':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
    print(header + f"{'rps/ceil':>10}{'p50/ceil':>10}")
    print("-" * (len(header) + 20))
    for result, base in [(ceiling, ceiling), *zip(results, bases, strict=True)]:
        rps_ratio = result.rps / base.rps if base.rps else float("nan")
        p50_ratio = result.percentile(0.5) / base.percentile(0.5)
        print(
            f"{result.name:<22}{result.requests:>9}{result.rps:>9.0f}"
            f"{result.percentile(0.5):>9.1f}{result.percentile(0.99):>9.1f}{result.errors:>8}"
            f"{rps_ratio:>10.2f}{p50_ratio:>10.1f}"
        )


def print_errors(log: Path, limit: int = 5) -> None:
    """The first few errors the app logged (JSON lines), with the last line of each traceback."""
    shown = 0
    for line in log.read_text(errors="replace").splitlines():
        if '"level": "ERROR"' not in line:
            continue
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        tail = (entry.get("exc_info") or "").strip().splitlines()[-4:]
        last = [" | ".join(t.strip() for t in tail if "sqlalche.me" not in t)[:400]]
        print(f"   {entry.get('request_id')}: {entry.get('message')} {last[0]}")
        shown += 1
        if shown >= limit:
            break


def main() -> int:
    parser = argparse.ArgumentParser(description="Load Kindred under gunicorn beside a ceiling.")
    parser.add_argument("--short", action="store_true", help="a few seconds per target (CI)")
    parser.add_argument("--scale", type=float, help="catalogue size (1 = 20,000 products)")
    parser.add_argument("--seconds", type=float, help="load time per target")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--processes", type=int, default=2, help="client processes")
    parser.add_argument("--database", help="reuse this seeded database (name), kept afterwards")
    parser.add_argument("--keep", action="store_true", help="keep the database it creates")
    parser.add_argument("--only", nargs="*", help="run only these targets (and the ceiling)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    scale = args.scale if args.scale is not None else (0.05 if args.short else 1.0)
    seconds = args.seconds if args.seconds is not None else (2.0 if args.short else 15.0)
    warmup = 0.5 if args.short else 2.0

    root = Path(tempfile.mkdtemp(prefix="kindred-load-"))
    reuse = bool(args.database)
    db_name = args.database or f"kindred_load_{os.getpid()}"
    database_url = f"{PG_SERVER}/{db_name}"
    servers: list[subprocess.Popen] = []
    status = 0
    try:
        if not reuse:
            pg_admin(f"CREATE DATABASE {db_name}")
        print(f"== database {db_name} (scale {scale:g})", flush=True)
        data = prepare(database_url, root, scale, seed_data=not reuse)

        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KINDRED_INSTANCE_PATH": str(root / "instance"),
            "UPLOAD_DIR": str(root / "uploads"),
            "SECRET_KEY": "load",
            "LOG_FORMAT": "json",
            "GUNICORN_ACCESS_LOG": str(root / "access.log"),
        }
        redis_up = flush_redis(REDIS_URL)
        if redis_up:
            # As in production: Redis holds the page cache, the rate limits and the job queue
            # (jobs still run inline: no worker is started).
            env["REDIS_URL"] = REDIS_URL
            env["JOBS_INLINE"] = "1"
        else:
            env.pop("REDIS_URL", None)
        app_port, ceiling_port = free_port(), free_port()
        servers.append(start_gunicorn("wsgi:app", app_port, env, root / "app.log"))
        servers.append(start_gunicorn("bench.ceiling:app", ceiling_port, env, root / "ceiling.log"))
        wait_until_up(app_port, "/readyz", 120, servers[0])
        wait_until_up(ceiling_port, "/healthz", 60, servers[1])

        targets = [
            # The app's per-request hooks alone (sessions, CSRF, limiter, unit of work, headers,
            # request id): the floor under every page.
            Target("healthz (app hooks)", paths=["/healthz"]),
            Target("home (storefront)", paths=["/"]),
            Target("category", paths=data["category_paths"]),
            Target("product page", paths=data["product_paths"]),
            Target("search", paths=[f"/search?q={q}" for q in SEARCH_QUERIES]),
            Target("product (logged in)", paths=data["product_paths"], cookies=data["cookies"]),
            Target("add to cart (API)", cart_pairs=data["cart_pairs"]),
        ]
        if data["feed"]:
            check_signed_in(app_port, "/feed", data["cookies"][0])
            targets.insert(1, Target("feed (logged in)", paths=["/feed"], cookies=data["cookies"]))
        if args.only:
            targets = [t for t in targets if any(word in t.name for word in args.only)]
        ceiling_target = Target("ceiling (bare Flask)", paths=["/ceiling"], ceiling=True)

        context = multiprocessing.get_context("fork")
        with context.Pool(args.processes) as pool:

            def measure(target: Target) -> Result:
                port = ceiling_port if target.ceiling else app_port
                if not target.ceiling and not target.cart_pairs:
                    # Each shopper's own page (the feed) once; pages shared by everyone
                    # (products) once, as one of them.
                    own = len(target.paths) == 1
                    for cookie in (target.cookies if own else target.cookies[:1]) or [None]:
                        warm_every_path(port, target.paths, cookie)
                load(pool, port, target, warmup, args.connections, args.processes)
                result = load(pool, port, target, seconds, args.connections, args.processes)
                print(
                    f"   {target.name}: {result.rps:.0f} rps, p50 {result.percentile(0.5):.1f} ms, "
                    f"p99 {result.percentile(0.99):.1f} ms, statuses {result.statuses}",
                    flush=True,
                )
                return result

            # The ceiling is measured between targets, so each target is read against the
            # ceilings just before and just after it: a shared machine's slow minute hits both.
            ceilings = [measure(ceiling_target)]
            results: list[Result] = []
            bases: list[Result] = []
            for target in targets:
                result = measure(target)
                ceilings.append(measure(ceiling_target))
                results.append(result)
                bases.append(merged_ceiling(ceilings[-2], ceilings[-1]))
        ceiling = merged_ceiling(*ceilings)
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        note = (
            f"gunicorn {os.environ.get('WEB_CONCURRENCY', 'default')} workers x "
            f"{os.environ.get('GUNICORN_THREADS', '4')} threads, {args.connections} connections "
            f"from {args.processes} client processes, {seconds:g}s per target, {cpus} CPUs shared "
            f"by client and server; feed: {'included' if data['feed'] else 'no /feed route'}; "
            f"Redis: {'yes' if redis_up else 'not reachable, in-process fallbacks'}; each ratio "
            "is to the ceilings measured just before and after it"
        )
        print_table(results, bases, ceiling, note)
        if args.json:
            args.json.write_text(
                json.dumps(
                    {
                        result.name: {
                            "rps": round(result.rps, 1),
                            "p50_ms": round(result.percentile(0.5), 2),
                            "p99_ms": round(result.percentile(0.99), 2),
                            "errors": result.errors,
                            "rps_ratio_to_ceiling": round(result.rps / base.rps, 3),
                        }
                        for result, base in [(ceiling, ceiling), *zip(results, bases, strict=True)]
                    },
                    indent=2,
                )
            )
        if any(result.errors for result in [ceiling, *results]):
            print("some requests failed (see the statuses above); the app's errors:")
            print_errors(root / "app.log")
            status = 1
        if any(result.requests == 0 for result in [ceiling, *results]):
            status = 1
    finally:
        for server in servers:
            stop(server)
        if not reuse and not args.keep:
            pg_admin(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        elif args.keep:
            print(f"kept database {db_name} (reuse it with --database {db_name})")
        shutil.rmtree(root, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
