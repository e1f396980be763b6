"""The poll forms: the shop's new poll (a question, dates, and up to twelve pictured
options: the first four shown, the rest behind "More options", all without JavaScript), and a
person's vote."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    DateField,
    FieldList,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from app import forms
from social.polls.models import (
    DETAILS_MAX,
    OPTION_LABEL_MAX,
    OPTIONS_MAX,
    QUESTION_MAX,
    ResultsShown,
)

SHOWN_AT_FIRST = 4


class OptionForm(FlaskForm):
    class Meta:
        csrf = False  # a row of the poll's form, which has the token

    # Not "label" nor "name": a FormField has attributes of those names.
    title = StringField(_l("Name"), validators=[Optional()])
    picture = FileField(_l("Its picture"))


def _nothing(value: object) -> int | None:
    try:
        return int(str(value)) if value not in (None, "", "0") else None
    except ValueError:
        return None


class PollForm(FlaskForm):
    question = StringField(
        _l("Your question"),
        validators=[DataRequired()],
        description=_l(
            "For example: Which glaze should the next bowl have? %(max)d characters at most.",
            max=QUESTION_MAX,
        ),
    )
    details = TextAreaField(
        _l("More about it (optional)"),
        validators=[Optional()],
        description=_l("Plain text, %(max)d characters at most.", max=DETAILS_MAX),
    )
    opens_on = DateField(_l("Opens on"), validators=[DataRequired()])
    closes_on = DateField(
        _l("Closes on"),
        validators=[DataRequired()],
        description=_l("Voting ends at the end of that day."),
    )
    results_shown = RadioField(
        _l("Results"),
        choices=[
            SelectChoice(ResultsShown.LIVE, _l("Show them as the votes come in")),
            SelectChoice(ResultsShown.AT_CLOSE, _l("Keep them for the close (you see them)")),
        ],
        default=ResultsShown.LIVE,
    )
    idea_id = SelectField(
        _l("About an idea (optional)"),
        coerce=_nothing,
        validate_choice=False,
        validators=[forms.fits_integer_column],
    )
    call_id = SelectField(
        _l("About a call for ideas (optional)"),
        coerce=_nothing,
        validate_choice=False,
        validators=[forms.fits_integer_column],
    )
    options = FieldList(
        FormField(OptionForm),
        min_entries=OPTIONS_MAX,
        max_entries=OPTIONS_MAX,
        description=_l(
            "Two to %(max)d options, each with a name (%(len)d characters at most) and a "
            "picture. Leave the rows you do not need empty.",
            max=OPTIONS_MAX,
            len=OPTION_LABEL_MAX,
        ),
    )


class VoteForm(FlaskForm):
    option_id = RadioField(_l("Your choice"), coerce=_nothing, validate_choice=False)
