"""Jobs on Celery: the dispatcher, the generic task, the beat schedule. No broker is needed:
tasks run eagerly (Celery's task_always_eager), or the broker is one that refuses."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from app import create_app, jobs, worker
from app.extensions import db
from app.logging import current_request_id
from app.uow import unit_of_work

# Nothing listens on port 1: no test here ever reaches a real broker.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "REDIS_URL": UNREACHABLE_REDIS, "JOBS_INLINE": False}


@pytest.fixture
def runs(app: Flask) -> list[dict[str, Any]]:
    """A job that records how it ran."""
    calls: list[dict[str, Any]] = []

    def record(**kwargs: Any) -> None:
        from flask import current_app

        calls.append({**kwargs, "request_id": current_request_id(), "app": current_app.name})

    jobs.register(app, "test.record", record)
    return calls


@pytest.fixture
def eager(app: Flask) -> Any:
    celery = app.extensions["kindred_celery"]
    celery.conf.task_always_eager = True
    celery.conf.task_eager_propagates = True
    return celery


def test_celery_is_the_dispatcher_when_a_broker_is_configured(app):
    assert "kindred_celery" in app.extensions
    assert "kindred_job_dispatcher" in app.extensions
    assert worker.TASK_NAME in app.extensions["kindred_celery"].tasks


@pytest.mark.parametrize(
    "config", [{"REDIS_URL": ""}, {"REDIS_URL": UNREACHABLE_REDIS, "JOBS_INLINE": True}]
)
def test_inline_without_a_broker_or_when_forced(app_config, config):
    inline = create_app({**app_config, **config})
    assert "kindred_job_dispatcher" not in inline.extensions
    assert "kindred_celery" not in inline.extensions


def test_enqueue_hands_the_job_to_celery_after_commit(app, eager, runs):
    with app.test_request_context(headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()
        with unit_of_work():
            jobs.enqueue("test.record", value=3)
            assert runs == []  # not before the commit
    assert runs == [{"value": 3, "request_id": "req-42", "app": app.name}]


def test_no_job_when_the_unit_of_work_rolls_back(app, eager, runs):
    with pytest.raises(RuntimeError), unit_of_work():
        jobs.enqueue("test.record", value=1)
        raise RuntimeError("rolled back")
    assert runs == []


def test_job_without_a_request_gets_the_task_id(app, eager, runs):
    with unit_of_work():
        jobs.enqueue("test.record", value=5)
    assert runs[0]["request_id"].startswith("job-")


def test_the_task_runs_the_job_in_its_own_unit_of_work(app, eager):
    from app.accounts.models import User
    from tests.factories import UserFactory

    user_id = UserFactory(display_name="Before").id
    db.session.commit()  # and no transaction left open: SQLite would keep its snapshot

    def rename(user_id: int, name: str) -> None:
        db.session.get(User, user_id).display_name = name

    jobs.register(app, "test.rename", rename)
    task = eager.tasks[worker.TASK_NAME]
    task.apply(args=("test.rename", {"user_id": user_id, "name": "After"})).get()
    db.session.expire_all()
    assert db.session.get(User, user_id).display_name == "After"


def test_a_failing_job_fails_its_task(app, eager):
    def broken() -> None:
        raise ValueError("nope")

    jobs.register(app, "test.broken", broken)
    with pytest.raises(ValueError, match="nope"):
        eager.tasks[worker.TASK_NAME].apply(args=("test.broken", {}))


def test_unreachable_broker_falls_back_to_running_inline(app, runs):
    # Not eager: publishing to the refusing broker fails after its retries.
    with unit_of_work():
        jobs.enqueue("test.record", value=7)
    assert [run["value"] for run in runs] == [7]


def test_job_arguments_must_be_json(app, runs):
    from datetime import date

    with pytest.raises(TypeError), unit_of_work():
        jobs.enqueue("test.record", day=date(2026, 1, 1))


def test_unknown_job_is_refused(app):
    with pytest.raises(KeyError):
        jobs.enqueue("no.such.job")


# --- beat ---------------------------------------------------------------------------------------


def test_beat_schedules_registered_jobs_by_name(app):
    entries, skipped = worker.beat_schedule(app)
    registered = app.extensions["kindred_jobs"]
    assert set(entries) <= set(registered)
    assert set(entries) | set(skipped) == set(worker.SCHEDULE)
    for name in ("marketplace.sweep_checkouts", "marketplace.complete_orders", "app.heartbeat"):
        assert name in entries
    assert entries["marketplace.sweep_checkouts"]["schedule"] == 300.0
    for name, entry in entries.items():
        assert entry["task"] == worker.TASK_NAME
        assert entry["args"] == (name, {})
        assert entry["options"]["expires"] > 0
    # What the worker's Celery was configured with.
    assert app.extensions["kindred_celery"].conf.beat_schedule.keys() == entries.keys()


def test_beat_skips_names_no_feature_registered(app):
    registry = app.extensions["kindred_jobs"]
    for name in ("payouts.release", "payouts.run", "payouts.pool_distribute"):
        registry.pop(name, None)
    entries, skipped = worker.beat_schedule(app)
    assert {"payouts.release", "payouts.run", "payouts.pool_distribute"} <= set(skipped)
    assert not {"payouts.release", "payouts.run", "payouts.pool_distribute"} & set(entries)

    jobs.register(app, "payouts.release", lambda: None)
    jobs.register(app, "payouts.run", lambda: None)
    jobs.register(app, "payouts.pool_distribute", lambda: None)
    jobs.register(app, "payouts.webhooks_retry", lambda: None)
    entries, skipped = worker.beat_schedule(app)
    assert {"payouts.release", "payouts.run", "payouts.pool_distribute"} <= set(entries)
    assert entries["payouts.webhooks_retry"]["schedule"] == 60.0
    assert skipped == []


def test_schedule_overrides(app):
    app.config["JOB_SCHEDULE"] = "marketplace.sweep_checkouts=30, marketplace.complete_orders=off"
    entries, _skipped = worker.beat_schedule(app)
    assert entries["marketplace.sweep_checkouts"]["schedule"] == 30.0
    assert "marketplace.complete_orders" not in entries


def test_jobs_cli(app):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert "marketplace.sweep_checkouts" in listed.output.split()
    schedule = runner.invoke(args=["jobs", "schedule"])
    assert "marketplace.sweep_checkouts\t300.0" in schedule.output
