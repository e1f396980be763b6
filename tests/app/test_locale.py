"""The visitor's language and formats: chosen from their pick, their account or their browser,
dates and numbers written as their region writes them, and the cache never mixing them up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import render_template_string

from app.extensions import db
from app.i18n import LANGUAGE_COOKIE, choose_locale, money, number
from tests.conftest import KindredClient, login
from tests.factories import UserFactory

LANGUAGES = ["en", "fr"]
SEVENTH_OF_DECEMBER = datetime(2026, 12, 7, 21, 5, tzinfo=UTC)


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("picked", "accepted", "expected"),
    [
        (None, [], "en"),
        (None, ["en-GB", "en"], "en_GB"),
        (None, ["en-US"], "en_US"),
        (None, ["en"], "en"),
        (None, ["fr-CA", "en-GB"], "fr_CA"),
        (None, ["de-DE", "fr-BE", "en"], "fr_BE"),  # the first language we have
        (None, ["de-DE"], "en"),
        # A picked language wins; the region is still the browser's one for that language.
        ("fr", ["en-GB", "fr-CH"], "fr_CH"),
        ("fr", ["en-GB"], "fr"),
        ("en", ["fr-FR", "en-GB"], "en_GB"),
        # What is not a language we have, or not a real locale, never comes out.
        ("de", ["de-DE"], "en"),
        (None, ["en-ZZ"], "en"),
        (None, ["*", "en-Latn-GB", "x-private", "en_gb"], "en_GB"),
        (None, ["../../etc", "fr-FR"], "fr_FR"),
    ],
)
def test_the_locale_is_the_picked_or_browsers_language_in_the_browsers_region(
    picked, accepted, expected
):
    assert choose_locale(picked, accepted, LANGUAGES) == expected


@pytest.mark.parametrize(
    ("header", "medium", "short"),
    [
        ("en-GB,en;q=0.9", "7 Dec 2026", "07/12/2026"),
        ("en-US,en;q=0.9", "Dec 7, 2026", "12/7/26"),
        ("fr-FR,fr;q=0.9", "7 déc. 2026", "07/12/2026"),
        ("fr-CA", "7 déc. 2026", "2026-12-07"),
    ],
)
def test_dates_are_written_as_the_visitors_region_writes_them(app, header, medium, short):
    template = "{{ when|date }}|{{ when|date('short') }}"
    with app.test_request_context("/", headers={"Accept-Language": header}):
        assert render_template_string(template, when=SEVENTH_OF_DECEMBER) == f"{medium}|{short}"


@pytest.mark.parametrize(
    ("header", "count", "price"),
    [
        ("en-GB", "12,345", "€1,234.50"),
        ("en-US", "12,345", "€1,234.50"),
        ("fr-FR", "12\u202f345", "1\u202f234,50\xa0€"),
        ("fr-CH", "12'345", "1'234,50\xa0€"),
    ],
)
def test_numbers_and_money_are_written_as_the_visitors_region_writes_them(
    app, header, count, price
):
    with app.test_request_context("/", headers={"Accept-Language": header}):
        assert number(12345) == count
        assert money(123450) == price


def test_each_region_gets_its_own_copy_of_a_cached_page(client):
    person = UserFactory(handle="maud", created_at=SEVENTH_OF_DECEMBER)
    db.session.commit()
    path = f"/@{person.handle}"
    american = text_of(client.get(path, headers={"Accept-Language": "en-US"}))
    british = text_of(client.get(path, headers={"Accept-Language": "en-GB"}))
    french = text_of(client.get(path, headers={"Accept-Language": "fr-FR"}))
    # Asked again: from the cache now, each still in its own format.
    again = text_of(client.get(path, headers={"Accept-Language": "en-US"}))
    assert "Member since Dec 7, 2026" in american and american == again
    assert "Member since 7 Dec 2026" in british
    assert "7 déc. 2026" in french and "Member since" not in french
    assert 'lang="en-GB"' in british and 'lang="en-US"' in american and 'lang="fr-FR"' in french


def test_a_visitor_picks_french_and_keeps_it_on_every_page(client):
    UserFactory(handle="lou", created_at=SEVENTH_OF_DECEMBER)
    db.session.commit()
    english = text_of(client.get("/@lou", headers={"Accept-Language": "en-GB"}))
    assert "Member since 7 Dec 2026" in english
    assert 'value="fr" lang="fr"' in english  # the switcher, in the footer
    picked = client.post(
        "/language",
        data={"locale": "fr", "next": "/@lou"},
        headers={"Accept-Language": "en-GB"},
    )
    assert picked.status_code == 303 and picked.headers["Location"] == "/@lou"
    cookie = client.get_cookie(LANGUAGE_COOKIE, domain="kindred.test")
    assert cookie is not None and cookie.value == "fr" and cookie.http_only
    # The same address, the same browser header: French now, not the cached English copy.
    french = text_of(client.get("/@lou", headers={"Accept-Language": "en-GB"}))
    assert "7 déc. 2026" in french and 'lang="fr"' in french
    assert 'value="fr" lang="fr" class="link-button" aria-current="true"' in french
    # And a stranger with the same browser still gets English.
    stranger = KindredClient(client.application, client.response_wrapper)
    assert "Member since 7 Dec 2026" in text_of(
        stranger.get("/@lou", headers={"Accept-Language": "en-GB"})
    )
    # The anonymous switcher carries no token: the page is still shared, with its ETag.
    assert stranger.get("/@lou").headers.get("ETag")


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x"]
)
def test_the_switcher_only_goes_back_to_this_site(client, target):
    response = client.post("/language", data={"locale": "fr", "next": target})
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_a_language_we_do_not_offer_is_refused_with_a_message(client):
    response = client.post("/language", data={"locale": "xx", "next": "/"}, follow_redirects=True)
    assert "Choose one of the offered languages." in text_of(response)
    assert client.get_cookie(LANGUAGE_COOKIE, domain="kindred.test") is None


def test_a_signed_in_persons_pick_is_saved_in_their_account(app, client):
    person = UserFactory()
    db.session.commit()
    login(client, person)
    # Their account is changed, so their switcher needs the token.
    assert client.post("/language", data={"locale": "fr"}).status_code == 400
    db.session.refresh(person)
    assert person.locale is None
    assert client.post_form("/language", {"locale": "fr", "next": "/"}).status_code == 303
    db.session.refresh(person)
    assert person.locale == "fr"
    # Anywhere they sign in, whatever the browser says.
    elsewhere = KindredClient(app, client.response_wrapper)
    login(elsewhere, person)
    assert 'lang="fr' in text_of(elsewhere.get("/", headers={"Accept-Language": "en-GB"}))


def test_a_signed_in_persons_page_from_the_shared_shell_is_in_their_language(app, client):
    UserFactory(handle="first", locale="fr")
    UserFactory(handle="second", locale=None)
    db.session.commit()
    first = KindredClient(app, client.response_wrapper)
    login(first, db.session.scalar(db.select(UserFactory._meta.model).filter_by(handle="first")))
    first.get("/new")
    french = text_of(first.get("/new", headers={"Accept-Language": "en-GB"}))
    assert 'lang="fr' in french and "@first" in french
    login(client, db.session.scalar(db.select(UserFactory._meta.model).filter_by(handle="second")))
    client.get("/new")
    english = text_of(client.get("/new", headers={"Accept-Language": "en-GB"}))
    assert 'lang="en-GB"' in english and "@second" in english and "@first" not in english
