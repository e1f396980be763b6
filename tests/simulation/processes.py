"""Running seeds in this process or in a process of its own (`--jobs`): each with its own
app, database and emulator."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.conftest import KindredClient, _base_config, _database_url  # also: fast hashing
from tests.simulation.simulator import CONFIG, Outcome, run_seeds


def _worker(seeds: list[int], job: int, options: tuple[Any, ...], queue: Any) -> None:
    try:
        for outcome in _run(seeds, job, options):
            queue.put(outcome)
            if not outcome.ok and not options[2]:
                break
    finally:
        queue.put(None)


def _run(seeds: list[int], job: int, options: tuple[Any, ...]) -> Iterator[Outcome]:
    """Run seeds in this process: its own app, database (a copy per job) and emulator."""
    from flask_migrate import upgrade

    from app import create_app
    from app.database import write_intent
    from app.extensions import db
    from payouts.runtime import emulator as get_emulator

    steps, ignore, _keep_going = options
    root = Path(tempfile.mkdtemp(prefix="kindred-simulation-"))
    url = _database_url(root)
    own_database = None
    if job and url.startswith("postgresql"):
        own_database = _make_database(url, job)
        url = own_database
    app = create_app({**_base_config(url, root), **CONFIG})
    app.test_client_class = KindredClient
    write_intent.set(False)
    try:
        with app.app_context():
            logging.getLogger("alembic").setLevel(logging.WARNING)
            upgrade()
            emulator = get_emulator(app)
            for seed in seeds:
                yield run_seeds(app, emulator, [seed], steps, None, ignore)[0]
            db.session.remove()
            db.engine.dispose()
    finally:
        if own_database:
            _drop_database(own_database)


def _admin_url(url: str) -> tuple[str, str]:
    base, _slash, name = url.rpartition("/")
    return base + "/postgres", name.split("?")[0]


def _make_database(url: str, job: int) -> str:
    from sqlalchemy import create_engine

    admin, name = _admin_url(url)
    mine = f"{name}_sim{job}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{mine}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{mine}"')
    engine.dispose()
    return url.rsplit("/", 1)[0] + "/" + mine


def _drop_database(url: str) -> None:
    from sqlalchemy import create_engine

    admin, name = _admin_url(url)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    engine.dispose()
