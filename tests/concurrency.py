"""Running work at the same moment from several threads, as concurrent requests would."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask

from app.extensions import db
from app.uow import unit_of_work


def at_once(app: Flask, jobs: list[Callable[[], None]], *, in_unit_of_work: bool = True) -> None:
    """Run each job in its own thread and app context, all released together by a barrier
    (each in a unit of work, unless the job opens its own); any error is raised here. The
    test's own session commits first, so it holds no transaction while they run."""
    db.session.commit()
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], None]) -> None:
        try:
            with app.app_context():
                barrier.wait()
                if in_unit_of_work:
                    with unit_of_work():
                        job()
                else:
                    job()
                db.session.remove()
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
