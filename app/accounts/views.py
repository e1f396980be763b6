"""Pages: sign-up, log-in, log-out, password reset, the account settings, public profiles."""

from __future__ import annotations

import time
from typing import Any, cast

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from app import mail, media
from app.accounts import services, sessions, two_step
from app.accounts.forms import (
    ChangePasswordForm,
    ConfirmForm,
    ForgotPasswordForm,
    LoginForm,
    ProfileForm,
    RecoveryCodesForm,
    ResetPasswordForm,
    SignupForm,
    TokenForm,
    TwoStepCodeForm,
    TwoStepDisableForm,
    TwoStepSetupForm,
)
from app.accounts.models import DEFAULT_SCOPES, User
from app.extensions import db, limiter
from app.forms import apply_violation, render_form
from app.hooks import NavLink, hooks
from app.models import utcnow
from app.page_cache import cached_page
from app.rules import RuleViolation
from app.security import safe_next

auth = Blueprint("auth", __name__)
account = Blueprint("account", __name__, url_prefix="/account")
profiles = Blueprint("profiles", __name__)


def _limit(name: str):
    return limiter.limit(lambda: current_app.config[name], methods=["POST"])


def start_session(user: User, remember: bool = False) -> None:
    """Log in with a fresh session, so an identifier planted before login is worthless."""
    kept = {key: session[key] for key in ("guest_cart",) if key in session}
    session.clear()
    session.update(kept)
    # A record on the server that the cookies name: signing out ends it wherever they went.
    sessions.open_session(user)
    login_user(user, remember=remember)
    session.permanent = True
    from app.accounts import signals

    signals.logged_in.send(current_app._get_current_object(), user=user, kept=kept)  # type: ignore[attr-defined]


@auth.route("/signup", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGNUP")
def signup() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignupForm()
    if form.validate_on_submit():
        try:
            user = services.register(
                form.email.data or "",
                form.handle.data or "",
                form.password.data or "",
                form.display_name.data or "",
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            mail.send(user.email, _("Welcome to Kindred"), "welcome", user=user)
            start_session(user)
            flash(_("Welcome to Kindred, %(name)s!", name=user.name), "success")
            return redirect(
                safe_next(request.args.get("next"), url_for("profiles.show", handle=user.handle))
            )
    return render_form("auth/signup.html", form)


@auth.route("/login", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next"), url_for("core.home")))
    form = LoginForm()
    if form.validate_on_submit():
        check = services.check_password(form.login.data or "", form.password.data or "")
        if check.notify is not None:
            send_lock_notice(check.notify)
        if check.locked:
            form.retry_after = check.retry_after  # render_form sends it as Retry-After
            form.form_errors.append(
                _(
                    "Too many failed attempts to log in to this account. Please wait a few "
                    "minutes and try again, or reset your password."
                )
            )
        elif check.user is None:
            form.form_errors.append(_("That email or handle and password do not match."))
        elif check.user.two_step_enabled:
            # Half-way: the password was right, the code is still to come. Not a log-in.
            session[PENDING_TWO_STEP] = {
                "user": check.user.id,
                "nonce": check.user.session_nonce,
                "until": int(time.time()) + current_app.config["TWO_STEP_PENDING_SECONDS"],
                "remember": bool(form.remember.data),
                "next": safe_next(request.args.get("next"), url_for("core.home")),
            }
            return redirect(url_for("auth.two_step_login"))
        else:
            return finish_login(check.user, bool(form.remember.data), request.args.get("next"))
    return render_form("auth/login.html", form)


PENDING_TWO_STEP = "two_step_pending"


def finish_login(user: User, remember: bool, next_url: str | None) -> Response:
    user.last_login_at = utcnow()
    start_session(user, remember=remember)
    flash(_("Welcome back, %(name)s.", name=user.name), "success")
    return redirect(safe_next(next_url, url_for("core.home")))


def pending_two_step() -> tuple[User, dict[str, Any]] | None:
    """The person who gave the right password and owes a code, while that is recent."""
    data = session.get(PENDING_TWO_STEP)
    if not isinstance(data, dict) or int(data.get("until", 0)) < time.time():
        return None
    user = db.session.get(User, int(data.get("user", 0)))
    if user is None or user.session_nonce != data.get("nonce") or not user.two_step_enabled:
        return None
    return user, data


@auth.route("/login/code", methods=["GET", "POST"])
@_limit("RATELIMIT_LOGIN")
def two_step_login() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    pending = pending_two_step()
    if pending is None:
        session.pop(PENDING_TWO_STEP, None)
        flash(_("Please log in again: the time to enter your code ran out."), "info")
        return redirect(url_for("auth.login"))
    user, data = pending
    form = TwoStepCodeForm()
    if form.validate_on_submit():
        try:
            two_step.verify_code(user, form.code.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            return finish_login(user, bool(data.get("remember")), data.get("next"))
    return render_form("auth/two_step.html", form)


def reset_link(user: User) -> str:
    token = services.make_reset_token(user)
    return str(current_app.config["BASE_URL"] + url_for("auth.reset_password", token=token))


def send_lock_notice(user: User) -> None:
    """Tell the owner someone is trying their password. Sent now, not after the commit: a
    failed log-in answers with an error, so its unit of work never commits."""
    minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
    message = mail.build_message(
        user.email,
        _("Someone is trying to log in to your Kindred account"),
        "account_locked",
        user=user,
        link=reset_link(user),
        minutes=minutes,
        lock_minutes=max(1, current_app.config["ACCOUNT_LOCK_SECONDS"] // 60),
    )
    try:
        mail.deliver(message)
    except OSError:
        current_app.logger.exception("could not send the lock notice to %s", user.email)


@auth.post("/logout")
def logout() -> Response:
    if current_user.is_authenticated:
        record = sessions.current_session(services.current_person())
        if record is not None:
            sessions.revoke(record)
    logout_user()
    session.clear()
    flash(_("You are logged out. See you soon."), "info")
    return redirect(url_for("core.home"))


@auth.route("/password/forgot", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def forgot_password() -> Any:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data or "")
        if user is not None:
            link = reset_link(user)
            minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
            mail.send(
                user.email,
                _("Reset your Kindred password"),
                "password_reset",
                user=user,
                link=link,
                minutes=minutes,
            )
        # The same answer whether or not the address has an account: no one can probe for them.
        flash(
            _("If an account uses that address, we have sent it a link to choose a new password."),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_form("auth/forgot.html", form)


@auth.route("/password/reset/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def reset_password(token: str) -> Any:
    try:
        services.user_for_reset_token(token)
    except RuleViolation as violation:
        return render_template("auth/reset_invalid.html", message=violation.message), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            user = services.reset_password(token, form.password.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            mail.send(
                user.email, _("Your Kindred password was changed"), "password_changed", user=user
            )
            flash(_("Your password is changed. Please log in with it."), "success")
            logout_user()
            session.clear()
            return redirect(url_for("auth.login"))
    return render_form("auth/reset.html", form)


@account.route("/", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    user = services.current_person()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    if request.method == "GET":
        form.locale.data = user.locale or ""
    if form.validate_on_submit():
        try:
            services.update_profile(
                user,
                services.ProfileChanges(
                    form.display_name.data or "", form.bio.data or "", form.locale.data or None
                ),
            )
            upload = form.avatar.data
            if form.remove_avatar.data:
                user.avatar_key = None
            elif upload and getattr(upload, "filename", ""):
                data = media.read_upload(upload.stream, field_name="avatar")
                stored = media.store_image(
                    data, thumbnail_sizes=(256, 64), square=True, field_name="avatar"
                )
                user.avatar_key = stored.thumbnails[256]
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("account.profile"))
    return render_form("account/profile.html", form, user=user)


@account.route("/password", methods=["GET", "POST"])
@login_required
def password() -> Any:
    user = services.current_person()
    form = ChangePasswordForm()
    tokens = services.active_tokens(user)
    if form.validate_on_submit():
        try:
            services.change_password(
                user,
                form.current_password.data or "",
                form.new_password.data or "",
                keep=sessions.current_session(user),
                revoke_tokens=bool(form.revoke_tokens.data),
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            mail.send(
                user.email, _("Your Kindred password was changed"), "password_changed", user=user
            )
            flash(_("Your password is changed. Other devices have been logged out."), "success")
            if form.revoke_tokens.data and tokens:
                flash(_("Your API tokens are revoked."), "info")
            return redirect(url_for("account.profile"))
    return render_form("account/password.html", form, tokens=tokens)


@account.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens() -> Any:
    user = services.current_person()
    form = TokenForm()
    new_secret = None
    if form.validate_on_submit():
        try:
            _token, new_secret = services.create_token(
                user, form.name.data or "", list(form.scopes.data or DEFAULT_SCOPES)
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            form = TokenForm(formdata=None)
    return render_form(
        "account/tokens.html",
        form,
        tokens=user.tokens,
        new_secret=new_secret,
        revoke_form=ConfirmForm(),
        scope_labels=services.scope_labels(),
        two_step_on=user.two_step_enabled,
    )


@account.post("/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int) -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        token = services.revoke_token(services.current_person(), token_id)
        flash(
            _(
                "The token “%(name)s” is revoked; programs using it can no longer sign in.",
                name=token.name,
            ),
            "success",
        )
    return redirect(safe_next(request.form.get("next"), url_for("account.tokens")))


# --- security: sessions, tokens, two-step verification --------------------------------------

account.record_once(
    lambda state: hooks(cast(Flask, state.app)).account_nav.append(
        NavLink(85, "account.security", _l("Security"))
    )
)


@account.get("/security")
@login_required
def security() -> Any:
    user = services.current_person()
    return render_template(
        "account/security.html",
        user=user,
        this_session=sessions.current_session(user),
        sessions=sessions.active_sessions(user),
        tokens=services.active_tokens(user),
        scope_labels=services.scope_labels(),
        codes_left=two_step.recovery_codes_left(user) if user.two_step_enabled else 0,
        confirm_form=ConfirmForm(),
    )


@account.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(session_id: int) -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        user = services.current_person()
        record = sessions.revoke_session(user, session_id)
        if record is sessions.current_session(user):
            logout_user()
            session.clear()
            flash(_("You are logged out. See you soon."), "info")
            return redirect(url_for("core.home"))
        flash(_("That session is signed out."), "success")
    return redirect(url_for("account.security"))


@account.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions() -> Response:
    form = ConfirmForm()
    if form.validate_on_submit():
        user = services.current_person()
        ended = sessions.revoke_all(user, keep=sessions.current_session(user))
        flash(
            ngettext(
                "%(num)d other session is signed out.",
                "%(num)d other sessions are signed out.",
                ended,
            ),
            "success",
        )
    return redirect(url_for("account.security"))


SETUP_SECRET = "two_step_setup"  # noqa: S105 - the session key, not a secret


def _back_to(default: str) -> str:
    return safe_next(request.args.get("next"), default)


@account.route("/two-step", methods=["GET", "POST"], endpoint="two_step")
@login_required
def two_step_page() -> Any:
    user = services.current_person()
    if user.two_step_enabled:
        return render_template(
            "account/two_step.html",
            user=user,
            codes_left=two_step.recovery_codes_left(user),
            disable_form=TwoStepDisableForm(prefix="disable"),
            codes_form=RecoveryCodesForm(prefix="codes"),
        )
    # The secret waits in the (signed) session until a code proves the app holds it.
    secret = session.get(SETUP_SECRET) or two_step.new_secret()
    session[SETUP_SECRET] = secret
    form = TwoStepSetupForm()
    if form.validate_on_submit():
        try:
            codes = two_step.enable(user, secret, form.code.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            session.pop(SETUP_SECRET, None)
            flash(_("Two-step verification is on."), "success")
            return render_template(
                "account/recovery_codes.html",
                codes=codes,
                next_url=_back_to(url_for("account.security")),
            )
    uri = two_step.provisioning_uri(user, secret)
    return render_form(
        "account/two_step_setup.html",
        form,
        secret=two_step.grouped(secret),
        qr_code=two_step.qr_code_svg(uri, _("QR code to add Kindred to your authenticator app")),
        required=bool(request.args.get("required")),
    )


@account.post("/two-step/disable")
@login_required
def two_step_disable() -> Any:
    user = services.current_person()
    form = TwoStepDisableForm(prefix="disable")
    if form.validate_on_submit():
        try:
            two_step.disable(user, form.password.data or "", form.code.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Two-step verification is off."), "info")
            return redirect(url_for("account.security"))
    return render_form(
        "account/two_step.html",
        form,
        user=user,
        codes_left=two_step.recovery_codes_left(user),
        disable_form=form,
        codes_form=RecoveryCodesForm(prefix="codes", formdata=None),
    )


@account.post("/two-step/recovery-codes")
@login_required
def two_step_recovery_codes() -> Any:
    user = services.current_person()
    form = RecoveryCodesForm(prefix="codes")
    if form.validate_on_submit():
        try:
            codes = two_step.regenerate_recovery_codes(user, form.code.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("You have new recovery codes; the old ones no longer work."), "success")
            return render_template(
                "account/recovery_codes.html", codes=codes, next_url=url_for("account.security")
            )
    return render_form(
        "account/two_step.html",
        form,
        user=user,
        codes_left=two_step.recovery_codes_left(user),
        disable_form=TwoStepDisableForm(prefix="disable", formdata=None),
        codes_form=form,
    )


@profiles.get("/@<handle>")
@cached_page
def show(handle: str) -> Any:
    user = services.user_by_handle(handle)
    # Each section is HTML its feature rendered from its own (escaping) template.
    sections = [section(user) for section in hooks().profile_sections]
    return render_template("profiles/show.html", person=user, sections=[s for s in sections if s])
