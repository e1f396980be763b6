"""Amounts and percentages a person types: read and shown back in their own notation."""

from __future__ import annotations

import pytest
from flask_babel import force_locale
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from app.extensions import db
from app.forms import AmountField, PercentField
from app.i18n import format_amount, format_percent, parse_amount, parse_percent
from marketplace.models import Shop
from tests.conftest import login
from tests.factories import ShopFactory, UserFactory

AMOUNTS = [
    # locale, typed, minor units (None: not an amount)
    ("en", "12.50", 1250),
    ("en", "12,50", 1250),  # one separator and no grouping: a decimal point, as typed
    ("en", "1,250", 125000),  # English grouping
    ("en", "1,250.50", 125050),
    ("en", " 4.9 ", 490),
    ("en", "0", 0),
    ("en", "12.345", None),  # finer than a cent
    ("en", "1e5", None),  # no exponents
    ("en", "twelve", None),
    ("en", "1.250,50", None),  # French grouping in English
    ("en", "١٢", None),  # only the digits people type here
    ("en", "", None),
    ("fr", "12,50", 1250),
    ("fr", "12.50", 1250),
    ("fr", "1 250,50", 125050),
    ("fr", "1\u202f250,50", 125050),  # the narrow space French grouping prints
    ("fr", "1,250.50", None),
]


@pytest.mark.parametrize(("locale", "typed", "minor"), AMOUNTS)
def test_an_amount_is_read_in_the_visitors_notation(app, locale, typed, minor):
    with app.test_request_context(), force_locale(locale):
        assert parse_amount(typed, "EUR") == minor


@pytest.mark.parametrize(
    ("locale", "typed", "bps"),
    [
        ("en", "10", 1000),
        ("en", "10.5", 1050),
        ("en", "10,5 %", 1050),
        ("en", "8.25%", 825),
        ("en", "10.125", None),  # finer than a basis point
        ("en", "-5", None),
        ("fr", "10,5", 1050),
        ("fr", "12,5 %", 1250),
        ("fr", "abc", None),
    ],
)
def test_a_percentage_is_read_in_basis_points(app, locale, typed, bps):
    with app.test_request_context(), force_locale(locale):
        assert parse_percent(typed) == bps


def test_numbers_are_shown_back_in_the_visitors_notation(app):
    with app.test_request_context():
        with force_locale("en"):
            assert (format_amount(125050, "EUR"), format_percent(1050)) == ("1250.50", "10.5")
            assert format_amount(1250, "JPY") == "1250"  # no minor unit
            assert format_percent(1000) == "10"
        with force_locale("fr"):
            assert (format_amount(125050, "EUR"), format_percent(1050)) == ("1250,50", "10,5")
            # What is shown reads back as the same number.
            assert parse_amount(format_amount(125050, "EUR"), "EUR") == 125050


class _Prices(FlaskForm):
    class Meta:
        csrf = False

    price = AmountField("Price")
    rate = PercentField("Rate")


def test_the_fields_say_what_to_type_in_the_visitors_language(app):
    with app.test_request_context(), force_locale("fr"):
        form = _Prices(MultiDict({"price": "douze", "rate": "dix"}))
        assert not form.validate()
        assert form.price.errors == ["Saisissez un montant, par exemple 12,50."]
        assert form.rate.errors == [
            "Saisissez un pourcentage, par exemple 10 ou 10,5, avec au plus deux décimales."
        ]
        shown = _Prices(data={"price": 490, "rate": 1250})
        assert 'value="4,90"' in str(shown.price()) and 'value="12,5"' in str(shown.rate())


def test_a_french_seller_reads_and_types_her_shops_amounts_in_french(client):
    seller = UserFactory(locale="fr")
    ShopFactory(owner=seller, shipping_flat_minor=490, curator_commission_bps=1250)
    login(client, seller)
    page = client.get("/account/shop/").get_data(as_text=True)
    assert 'value="4,90"' in page and 'value="12,5"' in page
    form = {
        "name": "Atelier Duarte",
        "slug": "atelier-duarte",
        "description": "",
        "return_policy": "",
        "shipping_flat": "5,50",
        "free_shipping_over": "1 250,00",
        "processing_days": "3",
        "curator_commission": "7,5",
    }
    response = client.post_form("/account/shop/", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    shop = db.session.scalar(select(Shop))
    assert (shop.shipping_flat_minor, shop.free_shipping_over_minor) == (550, 125000)
    assert shop.curator_commission_bps == 750


def test_the_admins_note_on_a_held_refund_is_labelled_in_her_language(app):
    from payouts.views import AbsorbForm

    with app.test_request_context(), force_locale("fr"):
        assert str(AbsorbForm().note.label.text) == "Pourquoi la plateforme le prend à sa charge"
