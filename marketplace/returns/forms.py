"""The forms of a return: the buyer's request, the seller's answers, the moderators'."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.returns.models import ANSWER_MAX, PHOTOS_MAX, REASON_TEXT_MAX, ReturnReason

QUANTITY_MAX = 999


def reason_choices() -> list[SelectChoice]:
    labels = {
        ReturnReason.NOT_AS_DESCRIBED: _l("Not as described"),
        ReturnReason.DAMAGED: _l("Arrived damaged"),
        ReturnReason.WRONG_ITEM: _l("Wrong item"),
        ReturnReason.DOES_NOT_FIT: _l("Does not fit"),
        ReturnReason.CHANGED_MIND: _l("Changed my mind"),
        ReturnReason.OTHER: _l("Something else"),
    }
    return [SelectChoice(key, str(labels[key])) for key in ReturnReason.ALL]


class ReturnForm(FlaskForm):
    reason = SelectField(_l("Why are you returning it?"), validators=[DataRequired()])
    reason_text = TextAreaField(
        _l("Tell the seller more"),
        validators=[Optional(), Length(max=REASON_TEXT_MAX)],
        description=_l("What is wrong, in a few words. Required for “Something else”."),
    )
    photos = MultipleFileField(
        _l("Photos (optional)"),
        description=_l("Up to %(max)d JPEG, PNG or WebP images, 10 MB each.", max=PHOTOS_MAX),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reason.choices = [SelectChoice("", str(_l("Choose a reason"))), *reason_choices()]
        self.quantity_errors: dict[str, list[str]] = {}

    def quantities(self, line_ids: list[int], formdata: Any) -> dict[int, int]:
        """The quantity asked per order line (fields `qty-<line id>`); a bad number is an error
        of that line's field, an empty one is zero."""
        found: dict[int, int] = {}
        for line_id in line_ids:
            raw = (formdata.get(f"qty-{line_id}") or "").strip()
            if not raw:
                continue
            if not raw.isdigit() or int(raw) > QUANTITY_MAX:
                self.quantity_errors[f"line-{line_id}"] = [str(_l("Enter a whole number."))]
                continue
            found[line_id] = int(raw)
        return found


class AcceptForm(FlaskForm):
    instructions = TextAreaField(
        _l("Return instructions"),
        validators=[DataRequired(), Length(max=ANSWER_MAX)],
        description=_l("Where to send it, how to pack it, who pays the postage."),
    )


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        _l("Why you refuse (shown to the buyer)"),
        validators=[DataRequired(), Length(max=ANSWER_MAX)],
    )


class ReceiveForm(FlaskForm):
    restock = BooleanField(_l("Put the returned items back in stock"), default=True)


class EscalateForm(FlaskForm):
    note = TextAreaField(
        _l("What should Kindred know?"),
        validators=[Optional(), Length(max=ANSWER_MAX)],
    )


class DecideForm(FlaskForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            SelectChoice("accept", _l("Accept the return for the buyer")),
            SelectChoice("uphold", _l("Uphold the seller's refusal")),
        ],
        validators=[InputRequired()],
    )
    note = TextAreaField(_l("Note to both sides"), validators=[Optional(), Length(max=ANSWER_MAX)])
