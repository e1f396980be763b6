"""Background jobs on Celery, with Redis as the broker.

`app.jobs` stays the one API: features register named jobs and `jobs.enqueue(name, **kwargs)`
after their unit of work commits. When REDIS_URL is set (and JOBS_INLINE is not forced), this
module installs the job dispatcher that hands each job to Celery as one generic task,
`kindred.run_job(name, kwargs)`, which runs `jobs.run(name, **kwargs)` in the app context of
a worker. Without REDIS_URL nothing here is used and jobs run inline, as in the embedded mode.

Beat runs the periodic jobs by their registered names (SCHEDULE below). A name no feature has
registered is skipped and logged, so a deployment without a feature simply has fewer entries.

    celery -A app.worker:celery worker --loglevel INFO
    celery -A app.worker:celery beat --schedule instance/celerybeat-schedule

Jobs must be idempotent (app.jobs says so): tasks are acknowledged late, so a worker that
dies mid-job leaves the job to run again on another worker.
"""

from __future__ import annotations

import json
import logging
import os
import time
from datetime import timedelta
from typing import Any

import click
from celery import Celery, signals
from celery.schedules import crontab
from flask import Flask
from sqlalchemy.exc import OperationalError

from app import jobs
from app.logging import bound_request_id, current_request_id

log = logging.getLogger(__name__)

TASK_NAME = "kindred.run_job"
QUEUE = "kindred"

# Periodic jobs, by registered name. Seconds for the frequent ones, crontab (UTC) for the
# daily ones, so a payout run happens at a predictable hour rather than drifting with restarts.
SCHEDULE: dict[str, float | crontab] = {
    "app.heartbeat": 60.0,
    # Earnings whose hold has passed move from pending to available.
    "payouts.release": crontab(minute=7),
    # The collective pools are distributed before the payout run, so their shares are paid
    # the same day.
    "payouts.pool_distribute": crontab(hour=5, minute=30),
    # Ideas' rewards that came due while the shop's balance was short, as money comes in.
    "payouts.pay_rewards": crontab(minute=20),
    "payouts.run": crontab(hour=6, minute=0),
    # Stripe events whose handling failed, on their backoff (the shortest step is a minute).
    "payouts.webhooks_retry": 60.0,
    # A checkout is closed five minutes after its payment window; finer would be wasted work.
    "marketplace.sweep_checkouts": 300.0,
    # Shipped orders are completed after a number of days: hourly is plenty.
    "marketplace.complete_orders": 3600.0,
    # Returns whose seller did not answer, or did not mark received, in the days they had.
    "marketplace.settle_returns": 3600.0,
    # Polls that opened or closed are told in the followers' feeds within five minutes.
    "polls.announce": 300.0,
    # The batched e-mails of new messages, once their window (15 minutes) has passed.
    "messages.send_digests": 60.0,
}

# Long enough for a payout run over many payees; below the broker's visibility timeout, or
# Redis would hand a still-running job to a second worker.
TASK_SOFT_TIME_LIMIT = 25 * 60
TASK_TIME_LIMIT = 30 * 60
VISIBILITY_TIMEOUT = 60 * 60

# Publishing retries when the broker blinks; past them the job runs inline (see _dispatch).
PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}


def parse_overrides(spec: str) -> dict[str, float | None]:
    """JOB_SCHEDULE="marketplace.sweep_checkouts=60,payouts.run=off" → seconds (None = off)."""
    overrides: dict[str, float | None] = {}
    for part in filter(None, (piece.strip() for piece in spec.split(","))):
        name, _sep, value = part.partition("=")
        value = value.strip().lower()
        overrides[name.strip()] = None if value in ("off", "0", "") else float(value)
    return overrides


def beat_schedule(app: Flask) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """The beat entries for the jobs registered in `app`, and the names skipped."""
    registered = app.extensions.get("kindred_jobs", {})
    wanted: dict[str, float | crontab | None] = dict(SCHEDULE)
    wanted.update(parse_overrides(app.config.get("JOB_SCHEDULE") or ""))
    entries: dict[str, dict[str, Any]] = {}
    skipped: list[str] = []
    for name, schedule in wanted.items():
        if schedule is None:
            continue
        if name not in registered:
            skipped.append(name)
            continue
        # A periodic run that waited past its next turn is stale: drop it rather than let a
        # backlog pile up while the workers are down.
        expires = schedule if isinstance(schedule, float) else timedelta(hours=1).total_seconds()
        entries[name] = {
            "task": TASK_NAME,
            "schedule": schedule,
            "args": (name, {}),
            "options": {"expires": expires, "queue": QUEUE},
        }
    return entries, skipped


def create_celery(flask_app: Flask) -> Celery:
    celery = Celery("kindred", set_as_current=False)
    entries, skipped = beat_schedule(flask_app)
    celery.conf.update(
        broker_url=flask_app.config["REDIS_URL"],
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        # Jobs record their own outcome in the database; nobody reads Celery's results.
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_default_queue=QUEUE,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT,
        task_time_limit=TASK_TIME_LIMIT,
        # Our handler on the root logger (app.logging) formats Celery's lines too.
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        timezone="UTC",
        enable_utc=True,
        beat_schedule=entries,
        kindred_skipped_jobs=skipped,
    )

    @celery.task(
        name=TASK_NAME,
        # Each Flask app gets its own Celery app and task: a shared task (Celery's default)
        # would bind the name to the first app built in the process.
        shared=False,
        bind=True,
        # A dropped database connection is worth another try; the job's own unit of work
        # rolled back, and jobs are idempotent.
        autoretry_for=(OperationalError,),
        retry_backoff=True,
        max_retries=5,
    )
    def run_job(
        task: Any, name: str, kwargs: dict[str, Any], request_id: str | None = None
    ) -> None:
        target = _process_app or flask_app
        with target.app_context(), bound_request_id(request_id or f"job-{task.request.id}"):
            started = time.perf_counter()
            try:
                jobs.run(name, **kwargs)
            except Exception:
                log.exception("job %s failed", name, extra={"job": name})
                raise
            log.info(
                "job %s done in %.0f ms",
                name,
                (time.perf_counter() - started) * 1000,
                extra={"job": name},
            )

    return celery


def _dispatch(celery: Celery, name: str, kwargs: dict[str, Any]) -> None:
    try:
        celery.tasks[TASK_NAME].apply_async(
            args=(name, kwargs),
            kwargs={"request_id": current_request_id()},
            retry=True,
            retry_policy=PUBLISH_RETRY_POLICY,
        )
    except Exception:
        # The unit of work has committed; losing the job would leave it undone until a sweep
        # (if any) catches up. Doing it here is slower for this one request, but done.
        log.exception("could not hand job %s to the broker; running it inline", name)
        jobs.run_inline(name, kwargs)


HEARTBEAT_JOB = "app.heartbeat"
HEARTBEAT_KEY = "kindred:jobs:heartbeat"


def heartbeat() -> None:
    """Leave a mark that beat and a worker are alive: `kindred:jobs:heartbeat` in Redis holds
    when the last one ran (and for which request id), so monitoring can alert on its age."""
    from flask import current_app

    stamp = {"at": time.time(), "request_id": current_request_id(), "pid": os.getpid()}
    url = current_app.config.get("REDIS_URL")
    if url:
        import redis

        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.set(HEARTBEAT_KEY, json.dumps(stamp), ex=24 * 3600)
        finally:
            client.close()
    log.info("heartbeat", extra={"job": HEARTBEAT_JOB})


def init_app(app: Flask) -> None:
    """Hand jobs to Celery when a broker is configured. Call after the features registered
    their jobs: the beat schedule is built from what is registered."""
    jobs.register(app, HEARTBEAT_JOB, heartbeat)
    register_commands(app)
    if app.config.get("JOBS_INLINE", True) or not app.config.get("REDIS_URL"):
        return
    celery = create_celery(app)
    app.extensions["kindred_celery"] = celery
    app.extensions["kindred_job_dispatcher"] = lambda name, kwargs: _dispatch(celery, name, kwargs)


def register_commands(app: Flask) -> None:
    @app.cli.group("jobs")
    def jobs_cli() -> None:
        """Background jobs: list, schedule, enqueue, run."""

    @jobs_cli.command("list")
    def list_jobs() -> None:
        """The registered job names."""
        for name in sorted(app.extensions.get("kindred_jobs", {})):
            click.echo(name)

    @jobs_cli.command("schedule")
    def show_schedule() -> None:
        """What beat runs, and the scheduled names no feature registered."""
        entries, skipped = beat_schedule(app)
        for name, entry in entries.items():
            click.echo(f"{name}\t{entry['schedule']}")
        for name in skipped:
            click.echo(f"{name}\tnot registered: skipped")

    @jobs_cli.command("enqueue")
    @click.argument("name")
    @click.option("--kwargs", "kwargs_json", default="{}", help="The job's arguments, as JSON.")
    def enqueue_job(name: str, kwargs_json: str) -> None:
        """Queue a job as the app would (to the worker when REDIS_URL is set)."""
        from app.uow import unit_of_work

        with unit_of_work():
            jobs.enqueue(name, **json.loads(kwargs_json))
        click.echo(f"Queued {name}.")

    @jobs_cli.command("run")
    @click.argument("name")
    @click.option("--kwargs", "kwargs_json", default="{}", help="The job's arguments, as JSON.")
    def run_job_now(name: str, kwargs_json: str) -> None:
        """Run a job now, in this process."""
        jobs.run(name, **json.loads(kwargs_json))
        click.echo(f"Ran {name}.")


# The worker's own Flask app, built in each pool process after the fork: resources opened
# before it (database pools, the emulator's SQLite connection, Redis sockets) must not be
# shared between processes.
_process_app: Flask | None = None


@signals.worker_process_init.connect
def _build_app_in_child(**_kwargs: Any) -> None:
    global _process_app
    from app import create_app

    _process_app = create_app()


@signals.setup_logging.connect
def _keep_our_logging(**_kwargs: Any) -> None:
    # Connected, this stops Celery from installing its own handlers; create_app configured
    # ours (app.logging) before Celery starts.
    return None


@signals.beat_init.connect
def _announce_schedule(sender: Any = None, **_kwargs: Any) -> None:
    conf = sender.app.conf if sender is not None else None
    if conf is None:
        return
    for name in conf.get("kindred_skipped_jobs", []):
        log.warning("not scheduling %s: no job registered under that name", name)
    for name, entry in conf.beat_schedule.items():
        log.info("scheduling %s every %s", name, entry["schedule"])


def __getattr__(name: str) -> Any:
    # `celery -A app.worker:celery` asks for this attribute; building the app lazily keeps a
    # plain `import app.worker` (tests, the web process) free of side effects.
    if name != "celery":
        raise AttributeError(name)
    from app import create_app

    flask_app = create_app()
    celery = flask_app.extensions.get("kindred_celery")
    if celery is None:
        raise RuntimeError(
            "The worker needs a broker: set REDIS_URL (and leave JOBS_INLINE unset)."
        )
    globals()["celery"] = celery
    return celery
