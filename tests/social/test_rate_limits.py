"""Likes and follows are rate limited against automation (pages and API share a budget)."""

from __future__ import annotations

import pytest

from tests.factories import ProductFactory, UserFactory
from tests.social.helpers import as_user


@pytest.fixture
def app_config(app_config):
    app_config.update(RATELIMIT_FOLLOWS="3 per minute", RATELIMIT_LIKES="2 per minute")
    return app_config


def test_follows_are_rate_limited(app, client):
    me = UserFactory()
    people = [UserFactory() for _ in range(4)]
    as_user(client, me)
    for person in people[:3]:
        assert client.post_form(f"/people/{person.handle}/follow").status_code == 302
    assert client.post_form(f"/people/{people[3].handle}/follow").status_code == 429
    # The API shares the same budget.
    assert client.api("PUT", f"/api/v1/people/{people[3].handle}/follow").status_code == 429


def test_likes_are_rate_limited(app, client):
    products = [ProductFactory() for _ in range(3)]
    as_user(client, UserFactory())
    assert client.post_form(f"/like/product/{products[0].id}").status_code == 302
    assert client.api("PUT", f"/api/v1/likes/product/{products[1].id}").status_code == 200
    assert client.post_form(f"/like/product/{products[2].id}").status_code == 429
