from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import SelectField, TextAreaField
from wtforms.validators import DataRequired, Optional

from social.forms import reason_choices
from social.messages.models import BODY_MAX, PICTURES_MAX


class MessageForm(FlaskForm):
    body = TextAreaField(
        _l("Your message"),
        description=_l("%(max)d characters at most. Links are shown as text.", max=BODY_MAX),
    )
    pictures = MultipleFileField(
        _l("Pictures (optional)"),
        description=_l("Up to %(n)d JPEG, PNG or WebP pictures.", n=PICTURES_MAX),
    )


class ReportMessageForm(FlaskForm):
    reason = SelectField(_l("Reason"), choices=reason_choices, validators=[DataRequired()])
    details = TextAreaField(_l("Details (optional)"), validators=[Optional()])
