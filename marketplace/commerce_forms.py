from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import HiddenInput

from app import forms


class AddToCartForm(FlaskForm):
    """What a product page's "Add to cart" sends; the page's own markup draws the fields."""

    class Meta:
        csrf = False  # checked for every POST before any view runs, from the form or a header

    variant_id = forms.IntegerField(validators=[InputRequired(), NumberRange(min=1)])
    quantity = forms.IntegerField(validators=[Optional()])


class QuantityForm(FlaskForm):
    quantity = forms.IntegerField(
        _l("Quantity"), validators=[InputRequired(), NumberRange(min=0, max=99)]
    )


class AddressForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    line1 = StringField(_l("Address"), validators=[DataRequired(), Length(max=200)])
    line2 = StringField(
        _l("Apartment, suite, etc. (optional)"), validators=[Optional(), Length(max=200)]
    )
    city = StringField(_l("City"), validators=[DataRequired(), Length(max=120)])
    postal_code = StringField(_l("Postal code"), validators=[DataRequired(), Length(max=20)])
    region = StringField(_l("Region (optional)"), validators=[Optional(), Length(max=120)])
    country = SelectField(_l("Country"), validators=[DataRequired()])
    phone = StringField(
        _l("Phone (optional)"),
        validators=[Optional(), Length(max=40)],
        description=_l("Only for the carrier, if they need to reach you."),
    )


class ShipForm(FlaskForm):
    carrier = StringField(
        _l("Carrier"),
        validators=[DataRequired(), Length(max=60)],
        description=_l("For example La Poste, DHL, UPS."),
    )
    tracking_number = StringField(
        _l("Tracking number (optional)"), validators=[Optional(), Length(max=100)]
    )


class CancelOrderForm(FlaskForm):
    # Shown on the same page as the refund form: its own id keeps the two labels apart.
    reason = TextAreaField(
        _l("Reason (shown to the buyer)"),
        validators=[Optional(), Length(max=500)],
        id="cancel-reason",
    )


class RefundForm(FlaskForm):
    reason = TextAreaField(
        _l("Reason (shown to the buyer)"), validators=[Optional(), Length(max=500)]
    )
    shipping = StringField(_l("Shipping to refund"), validators=[Optional()])
    restock = BooleanField(_l("Put the refunded items back in stock"))
    # Per-line amounts arrive as line-<id> fields, read by the view.


class ReviewForm(FlaskForm):
    # A number, as the page sends it: anything else (or one no column holds) is the form's
    # error, not a crash when the view reads it.
    order_line_id = forms.IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    rating = SelectField(
        _l("Rating"),
        coerce=int,
        choices=[SelectChoice(str(n), "★" * n + "☆" * (5 - n)) for n in range(5, 0, -1)],
        validators=[InputRequired()],
    )
    body = TextAreaField(_l("Your review (optional)"), validators=[Optional(), Length(max=2000)])
