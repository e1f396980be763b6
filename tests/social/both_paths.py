"""Fixtures for the feed's tests that run twice: the feed ranked by the database, and the
feed from Redis timelines. A test module takes both by importing them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.social.test_timeline import timeline_store, with_timelines


@pytest.fixture(params=["database", "timelines"])
def app_config(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> dict[str, Any]:
    return app_config if request.param == "database" else with_timelines(app_config)


@pytest.fixture(autouse=True)
def timelines(app: Any) -> Iterator[None]:
    if not app.config.get("REDIS_URL"):
        yield
        return
    with timeline_store(app.config["FEED_TIMELINE_PREFIX"]):
        yield
