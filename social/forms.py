from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import HiddenInput

from app import forms
from social.models import COLLECTION_TITLE_MAX, ITEM_NOTE_MAX, NOTE_MAX


class PickForm(FlaskForm):
    product_id = HiddenField()
    note = TextAreaField(
        _l("Why you love it"),
        description=_l("Plain text, %(max)d characters at most.", max=NOTE_MAX),
    )
    photo = FileField(_l("Your photo (optional)"), description=_l("JPEG, PNG or WebP."))
    remove_photo = BooleanField(_l("Remove the photo"))


class CollectionForm(FlaskForm):
    title = StringField(
        _l("Title"),
        validators=[DataRequired()],
        description=_l("%(max)d characters at most.", max=COLLECTION_TITLE_MAX),
    )
    description = TextAreaField(_l("Description"))
    is_public = BooleanField(_l("Public: anyone can see it"), default=True)
    cover = FileField(_l("Cover picture (optional)"), description=_l("JPEG, PNG or WebP."))
    remove_cover = BooleanField(_l("Remove the cover"))


class AddToCollectionForm(FlaskForm):
    product_id = HiddenField()
    collection_id = SelectField(
        _l("Collection"),
        coerce=int,
        validate_choice=False,
        validators=[forms.fits_integer_column],
    )
    new_title = StringField(_l("…or a new collection named"))
    note = StringField(
        _l("Note (optional)"), description=_l("%(max)d characters at most.", max=ITEM_NOTE_MAX)
    )


class ItemNoteForm(FlaskForm):
    note = StringField(_l("Note"))


class CommentForm(FlaskForm):
    target_type = HiddenField()
    # Filled by the page: a number no column holds is a forged request, refused as such.
    target_id = forms.IntegerField(widget=HiddenInput())
    parent_id = forms.IntegerField(widget=HiddenInput(), validators=[Optional()])
    body = TextAreaField(_l("Your comment"), validators=[DataRequired()])


class ShareForm(FlaskForm):
    target_type = HiddenField(validators=[DataRequired()])
    target_id = forms.IntegerField(validators=[DataRequired()])


def reason_choices() -> list[tuple[str, str]]:
    return [
        ("spam", str(_l("Spam or advertising"))),
        ("abuse", str(_l("Harassment or abuse"))),
        ("inappropriate", str(_l("Inappropriate content"))),
        ("other", str(_l("Something else"))),
    ]


class ReportForm(FlaskForm):
    target_type = HiddenField(validators=[DataRequired()])
    target_id = forms.IntegerField(widget=HiddenInput(), validators=[DataRequired()])
    reason = SelectField(_l("Reason"), choices=reason_choices, validators=[DataRequired()])
    details = TextAreaField(_l("Details (optional)"), validators=[Optional()])


class SettingsForm(FlaskForm):
    share_purchases = BooleanField(
        _l("Share my purchases with my followers"),
        description=_l(
            "Your followers see what you bought in their feeds, with a link that credits you."
        ),
    )
    email_follows = BooleanField(_l("Email me when someone follows me"))
    email_reactions = BooleanField(_l("Email me about likes, comments and replies"))
    email_sales = BooleanField(_l("Email me when someone buys through my picks"))
    email_saved = BooleanField(
        _l("Email me when something I saved gets cheaper or is back in stock")
    )
    email_messages = BooleanField(
        _l("Email me about new messages (gathered, never one email per message)")
    )


class ModerationForm(FlaskForm):
    target_type = HiddenField()
    target_id = HiddenField()
    reason = StringField(_l("Reason"))
