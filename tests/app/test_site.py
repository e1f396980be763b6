from __future__ import annotations

import pytest

from tests.conftest import login
from tests.factories import UserFactory


def test_home_page_renders_with_layout(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<main id="main"' in html and "Skip to content" in html
    assert 'lang="en"' in html


def test_security_headers(client):
    headers = client.get("/").headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]


def test_no_inline_script_in_pages(client):
    login(client, UserFactory())
    for path in ("/", "/account/", "/account/tokens", "/login", "/api/docs"):
        html = client.get(path).get_data(as_text=True)
        for chunk in html.split("<script")[1:]:
            assert chunk.split(">", 1)[0].strip().startswith("src="), (path, chunk[:80])
        assert " onclick=" not in html and " onload=" not in html


@pytest.mark.parametrize("status", [400, 403, 404, 429, 500])
def test_friendly_error_pages_in_layout(app, client, status):
    from flask import abort

    @app.get(f"/_boom/{status}")
    def boom():  # pragma: no cover - exercised by the request
        if status == 500:
            raise RuntimeError("kaput")
        abort(status)

    page = client.get(f"/_boom/{status}")
    assert page.status_code == status
    html = page.get_data(as_text=True)
    assert '<header class="site-header">' in html
    assert "Traceback" not in html and "kaput" not in html


def test_french_interface_from_browser_and_setting(client):
    html = client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}).get_data(
        as_text=True
    )
    assert 'lang="fr"' in html and "Se connecter" in html
    user = UserFactory(locale="fr")
    login(client, user)
    html = client.get("/account/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Enregistrer le profil" in html


def test_money_and_dates_follow_the_locale(app):
    from datetime import UTC, datetime

    from flask_babel import force_locale

    from app.i18n import date, money

    with app.test_request_context():
        with force_locale("en"):
            assert money(123456, "eur") == "€1,234.56"
            assert date(datetime(2026, 3, 1, tzinfo=UTC)) == "Mar 1, 2026"
        with force_locale("fr"):
            assert money(123456, "eur").replace("\u202f", " ").replace("\xa0", " ") == "1 234,56 €"
            assert "500" in money(500, "jpy") and "," not in money(500, "jpy")
            assert "mars" in date(datetime(2026, 3, 1, tzinfo=UTC))


def test_outbox_page_in_embedded_mode(client, outbox):
    client.post_form(
        "/signup", {"email": "a@example.com", "handle": "abc", "password": "long enough pw"}
    )
    page = client.get("/dev/outbox")
    assert page.status_code == 200 and "Welcome to Kindred" in page.get_data(as_text=True)


def test_no_form_prints_a_missing_attribute_as_none(client):
    login(client, UserFactory())
    for path in ("/account/", "/account/password", "/account/tokens"):
        html = client.get(path).get_data(as_text=True)
        assert '="None"' not in html, path
    client.post_form("/logout")
    for path in ("/signup", "/login", "/password/forgot"):
        assert '="None"' not in client.get(path).get_data(as_text=True), path
