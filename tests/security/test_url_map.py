"""Checks generated from the app's URL map, so a new route cannot be forgotten."""

from __future__ import annotations

from tests.conftest import login
from tests.factories import UserFactory
from tests.security.urlmap import UNSAFE, build, rules

# Authenticated another way: Stripe signs its webhooks.
CSRF_EXEMPT = {"stripe_webhooks.receive"}


def test_every_state_changing_endpoint_needs_the_csrf_token(app, client):
    """A logged-in browser session cannot be driven from another site: no token, no change."""
    login(client, UserFactory())
    checked = 0
    for rule in rules(app, UNSAFE):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        for method in sorted(rule.methods & UNSAFE):
            response = client.open(build(rule), method=method)
            assert response.status_code == 400, (method, rule.rule, response.status_code)
            checked += 1
    assert checked > 80  # the sweep really covered the app


def test_every_api_change_needs_a_person_and_tells_a_stranger_to_authenticate(app, client):
    """Every API operation that changes something is behind `login_required`, so a request
    with neither a token nor a session is told 401 (with `WWW-Authenticate`), not 400 for a
    CSRF token it could not have used anyway."""
    from app.api import API_PREFIX, needs_login

    checked = 0
    for rule in rules(app, UNSAFE):
        if not rule.rule.startswith(f"{API_PREFIX}/"):
            continue
        for method in sorted(rule.methods & UNSAFE):
            assert needs_login(app.view_functions[rule.endpoint], method), (method, rule.rule)
            response = client.open(build(rule), method=method, json={})
            assert response.status_code == 401, (method, rule.rule, response.status_code)
            assert "WWW-Authenticate" in response.headers
            checked += 1
    assert checked > 50


def test_no_page_answers_an_anonymous_visitor_with_a_server_error(app, client):
    for rule in rules(app, {"GET"}):
        if rule.endpoint.startswith("api-docs") or rule.rule.startswith("/api/docs/assets"):
            continue
        response = client.get(build(rule))
        assert response.status_code < 500, (rule.rule, response.status_code)


def test_no_get_route_changes_state_for_a_logged_in_person(app, client):
    """GET is safe: visiting every page (with made-up ids) leaves the journal untouched."""
    from sqlalchemy import func, select

    from app.extensions import db
    from payouts.models import JournalEntry
    from social.models import Follow, Like

    login(client, UserFactory())
    before = [
        db.session.scalar(select(func.count()).select_from(m)) for m in (JournalEntry, Follow, Like)
    ]
    for rule in rules(app, {"GET"}):
        if rule.rule.startswith("/s/") or rule.endpoint.startswith("api-docs"):
            continue  # a share link records its click by design (and only a click)
        response = client.get(build(rule))
        assert response.status_code < 500, (rule.rule, response.status_code)
    db.session.commit()
    after = [
        db.session.scalar(select(func.count()).select_from(m)) for m in (JournalEntry, Follow, Like)
    ]
    assert after == before
