"""Forms of a shop's deals: the buyer's code in the cart, the seller's bundle and coupons."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app import forms
from marketplace.deals.models import CODE_MAX


class CouponCodeForm(FlaskForm):
    shop_id = forms.IntegerField(validators=[InputRequired()])
    code = StringField(_l("Coupon code"), validators=[DataRequired(), Length(max=CODE_MAX * 2)])


class RemoveCouponForm(FlaskForm):
    shop_id = forms.IntegerField(validators=[InputRequired()])


class BundleForm(FlaskForm):
    min_items = forms.IntegerField(
        _l("From how many items"),
        validators=[Optional(), NumberRange(min=2, max=99)],
        description=_l("Bought from your shop in one checkout, such as 2."),
    )
    percent = forms.PercentField(
        _l("Discount (%)"),
        validators=[Optional()],
        description=_l("Such as 15. Leave empty or 0 for no bundle discount."),
    )


class CouponForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=CODE_MAX)],
        description=_l("Letters, digits, hyphens; buyers may type it in any case."),
    )
    kind = RadioField(
        _l("Kind"),
        choices=[
            SelectChoice("percent", _l("A percentage off")),
            SelectChoice("amount", _l("An amount off")),
        ],
        default="percent",
        validators=[InputRequired()],
    )
    percent = forms.PercentField(_l("Percentage off"), validators=[Optional()])
    amount = forms.AmountField(_l("Amount off"), validators=[Optional()])
    min_order = forms.AmountField(
        _l("Minimum order"),
        validators=[Optional()],
        description=_l("Of your shop's items, before discounts. Leave empty for none."),
    )
    expires_on = DateField(
        _l("Last day"), validators=[Optional()], description=_l("Leave empty for no end.")
    )
    max_uses = forms.IntegerField(
        _l("Total uses"),
        validators=[Optional(), NumberRange(min=1, max=1_000_000)],
        description=_l("Leave empty for no limit."),
    )
    once_per_buyer = BooleanField(_l("One use per buyer"))


class CouponStatusForm(FlaskForm):
    status = HiddenField(validators=[DataRequired()])
