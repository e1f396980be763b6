from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.accounts.models import BIO_MAX, DISPLAY_NAME_MAX, HANDLE_MAX
from app.accounts.passwords import PASSWORD_MAX


class SignupForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    handle = StringField(
        _l("Handle"),
        validators=[DataRequired(), Length(max=HANDLE_MAX)],
        description=_l("Your address on Kindred: letters, digits and underscores."),
    )
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=DISPLAY_NAME_MAX)])
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired()],
        description=_l("At least 8 characters."),
    )


class LoginForm(FlaskForm):
    login = StringField(_l("Email or handle"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])
    remember = BooleanField(_l("Keep me logged in"))


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("New password"), validators=[DataRequired()], description=_l("At least 8 characters.")
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired()], description=_l("At least 8 characters.")
    )
    revoke_tokens = BooleanField(_l("Also revoke my API tokens"), default=True)


class ProfileForm(FlaskForm):
    display_name = StringField(_l("Name"), validators=[Optional(), Length(max=DISPLAY_NAME_MAX)])
    bio = TextAreaField(
        _l("Bio"),
        validators=[Optional(), Length(max=BIO_MAX)],
        description=_l(
            "A few words about you and your taste (%(max)d characters at most).", max=BIO_MAX
        ),
    )
    avatar = FileField(_l("Avatar"), description=_l("A JPEG, PNG or WebP image, up to 10 MB."))
    remove_avatar = BooleanField(_l("Remove my avatar"))
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("Same as my browser")),
            SelectChoice("en", "English"),
            SelectChoice("fr", "Français"),
        ],
        validators=[Optional()],
    )


class CheckboxesField(SelectMultipleField):
    """Several choices as checkboxes (each with its own label), not a multiple select."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=80)],
        description=_l("For example: my shop's stock script."),
    )
    scopes = CheckboxesField(
        _l("What it may do"),
        choices=[
            SelectChoice("read", _l("Read: see your shop, orders, earnings and profile")),
            SelectChoice("write", _l("Change: edit, sell, ship, refund and post for you")),
            SelectChoice(
                "payouts", _l("Payouts: change where your money is paid (needs two-step sign-in)")
            ),
        ],
        default=["read", "write"],
        # None ticked (or a client that predates scopes): what tokens always could, read and
        # change.
        validators=[Optional()],
    )


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change state."""


class TwoStepCodeForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("The 6 digits your authenticator app shows, or one of your recovery codes."),
    )


class TwoStepSetupForm(FlaskForm):
    code = StringField(
        _l("Code from your app"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("After adding Kindred to the app, enter the 6 digits it shows."),
    )


class TwoStepDisableForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[DataRequired()])
    code = StringField(
        _l("Code"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("From your authenticator app, or a recovery code."),
    )


class RecoveryCodesForm(FlaskForm):
    code = StringField(
        _l("Code from your app"),
        validators=[DataRequired(), Length(max=40)],
        description=_l("The 6 digits your authenticator app shows now."),
    )
