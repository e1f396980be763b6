from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    DateField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, NumberRange, Optional

from app import forms
from social.idea_models import (
    CALL_TITLE_MAX,
    DECLINE_REASON_MAX,
    IDEA_DESCRIPTION_MAX,
    IDEA_IMAGES_MAX,
    IDEA_TITLE_MAX,
)


class IdeaForm(FlaskForm):
    title = StringField(
        _l("Your idea in a few words"),
        validators=[DataRequired()],
        description=_l("%(max)d characters at most.", max=IDEA_TITLE_MAX),
    )
    description = TextAreaField(
        _l("Describe it"),
        validators=[DataRequired()],
        description=_l(
            "What it is, who it is for, what makes it special. Plain text, %(max)d characters "
            "at most.",
            max=IDEA_DESCRIPTION_MAX,
        ),
    )
    images = MultipleFileField(
        _l("Sketches or photos (optional)"),
        description=_l("Up to %(max)d JPEG, PNG or WebP images.", max=IDEA_IMAGES_MAX),
    )


class PromiseFields(FlaskForm):
    shortlist_reward = forms.AmountField(
        _l("Reward when you shortlist an idea"),
        validators=[Optional()],
        description=_l("Paid to the author once; leave empty for none."),
    )
    threshold_votes = forms.IntegerField(
        _l("Votes that earn the vote reward"),
        validators=[Optional(), NumberRange(1, 1_000_000)],
    )
    threshold_reward = forms.AmountField(
        _l("Reward when an idea reaches that many votes"), validators=[Optional()]
    )
    royalty_percent = forms.PercentField(
        _l("Royalty on sales of the product it becomes (%)"),
        validators=[Optional()],
        description=_l("The author's share of every sale, e.g. 10."),
    )


class TermsForm(PromiseFields):
    accepts_ideas = BooleanField(_l("Take ideas at any time under these terms"))
    pool_percent = forms.PercentField(
        _l("Collective pool (% of every sale)"),
        validators=[Optional()],
        description=_l(
            "Shared each month among the people who voted for or commented on your adopted "
            "ideas, and the people you name."
        ),
    )


class CallForm(PromiseFields):
    title = StringField(
        _l("Title"),
        validators=[DataRequired()],
        description=_l("%(max)d characters at most.", max=CALL_TITLE_MAX),
    )
    brief = TextAreaField(_l("The brief"), validators=[Optional()])
    deadline = DateField(_l("Deadline (optional)"), validators=[Optional()])


class DeclineForm(FlaskForm):
    reason = TextAreaField(
        _l("Why not (the author sees this)"),
        validators=[DataRequired()],
        description=_l("%(max)d characters at most.", max=DECLINE_REASON_MAX),
    )


def _int_or_zero(value: object) -> int:
    try:
        return int(str(value or 0))
    except ValueError:
        return 0


class AdoptForm(FlaskForm):
    mode = RadioField(
        _l("The product"),
        choices=[
            SelectChoice("new", _l("Make a new product from the idea (a draft to finish)")),
            SelectChoice("link", _l("Link a product the shop already has")),
        ],
        default="new",
    )
    price = forms.AmountField(_l("Price of the new product"), validators=[Optional()])
    category = SelectField(_l("Category"), validate_choice=False)
    stock = forms.IntegerField(
        _l("Stock"), validators=[Optional(), NumberRange(0, 1_000_000)], default=0
    )
    product_id = SelectField(
        _l("Existing product"),
        coerce=_int_or_zero,
        validate_choice=False,
        validators=[forms.fits_integer_column],
    )


class MemberForm(FlaskForm):
    handle = StringField(_l("Name a member by handle"), validators=[DataRequired()])
    weight = forms.IntegerField(
        _l("Weight"), validators=[Optional(), NumberRange(1, 100)], default=1
    )
