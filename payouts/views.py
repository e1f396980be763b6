"""Pages: setting up payouts (Stripe Express), the earnings dashboard, the admin's view."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response
from wtforms import StringField
from wtforms.validators import InputRequired, Length, NumberRange

from app import batches, forms, uow
from app.accounts.forms import ConfirmForm
from app.accounts.services import current_person
from app.accounts.two_step import two_step_required
from app.forms import AmountField, PercentField, apply_violation, int_arg, render_form
from app.i18n import money
from app.rules import RuleViolation
from app.uow import writes
from marketplace.pagination import clamp_page, paginate_select
from payouts import cocreation, dashboard, held_refunds, payees, reconcile, settings
from payouts.gateway import GatewayError
from payouts.runtime import is_emulated
from social import ideas

blueprint = Blueprint(
    "payouts", __name__, url_prefix="/account", template_folder="templates", static_folder="static"
)
admin = Blueprint(
    "payouts_admin", __name__, url_prefix="/admin/payouts", template_folder="templates"
)


@blueprint.get("/payouts")
@login_required
def setup() -> Any:
    person = current_person()
    payee = payees.find_user_payee(person.id)
    return render_template(
        "payouts/setup.html", payee=payee, confirm_form=ConfirmForm(), emulated=is_emulated()
    )


@blueprint.post("/payouts/start")
@login_required
@two_step_required(back="payouts.setup")
def start() -> Response:
    try:
        url = payees.start_onboarding(
            current_person(),
            return_url=url_for("payouts.returned", _external=True),
            refresh_url=url_for("payouts.setup", _external=True),
        )
    except GatewayError as error:
        flash(
            _(
                "Stripe could not be reached (%(why)s). Please try again in a moment.",
                why=error.message,
            ),
            "error",
        )
        return redirect(url_for("payouts.setup"))
    return redirect(url, code=303)


@blueprint.get("/payouts/return")
@writes  # refreshes the payee from Stripe: SQLite must take the write lock up front
@login_required
def returned() -> Response:
    payee = payees.find_user_payee(current_person().id)
    if payee is not None:
        payees.refresh_status(payee)
        flash(
            _("Payouts are set up: your available earnings will be paid to you.")
            if payee.can_receive
            else _("Thanks! Stripe still needs a few details before it can pay you."),
            "success" if payee.can_receive else "info",
        )
    return redirect(url_for("payouts.setup"))


@blueprint.post("/payouts/dashboard")
@login_required
@two_step_required(back="payouts.setup")
def express_dashboard() -> Response:
    payee = payees.find_user_payee(current_person().id)
    if payee is None or not payee.can_receive:
        abort(404)
    try:
        return redirect(payees.dashboard_link(payee), code=303)
    except GatewayError as error:
        flash(error.message, "error")
        return redirect(url_for("payouts.setup"))


@blueprint.get("/earnings")
@login_required
def earnings() -> Any:
    person = current_person()
    payee = payees.find_user_payee(person.id)
    if payee is None:
        return render_template("payouts/earnings.html", payee=None)
    page = paginate_select(
        dashboard.earnings_query(payee), clamp_page(request.args.get("page")), 25, scalars=False
    )
    return render_template(
        "payouts/earnings.html",
        payee=payee,
        totals=dashboard.totals(payee),
        page=page,
        items=dashboard.payout_items(payee),
        chart=dashboard.monthly_chart(payee),
        state_of=dashboard.state_of,
    )


@blueprint.get("/earnings.csv")
@login_required
def earnings_csv() -> Response:
    return dashboard.earnings_csv_response(payees.find_user_payee(current_person().id))


class SettingsForm(FlaskForm):
    """The money settings as an admin thinks of them, rates in percent and the minimum payout
    in the currency; the fields hand the service basis points and minor units, as stored."""

    fee_bps = PercentField(
        _l("Platform fee (%)"),
        validators=[InputRequired(), NumberRange(0, 5000, _l("Choose a fee between 0 and 50."))],
        description=_l("A percentage such as 8 or 8.5."),
    )
    commission_min_bps = PercentField(
        _l("Lowest curator commission (%)"),
        validators=[
            InputRequired(),
            NumberRange(0, 5000, _l("Choose a commission between 0 and 50.")),
        ],
    )
    commission_max_bps = PercentField(
        _l("Highest curator commission (%)"),
        validators=[
            InputRequired(),
            NumberRange(0, 5000, _l("Choose a commission between 0 and 50.")),
        ],
    )
    seller_min_bps = PercentField(
        _l("What the seller keeps at least (%)"),
        validators=[
            InputRequired(),
            NumberRange(0, 10000, _l("Choose a share between 0 and 100.")),
        ],
    )
    hold_days = forms.IntegerField(
        _l("Hold after delivery (days)"), validators=[InputRequired(), NumberRange(0, 90)]
    )
    min_payout_minor = AmountField(
        _l("Minimum payout"),
        validators=[
            InputRequired(),
            NumberRange(0, 1_000_000, _l("Choose an amount between 0 and 10,000.00.")),
        ],
        description=_l("An amount such as 10.00; smaller earnings wait for the next payout."),
    )


def _admin() -> Any:
    person = current_person()
    if not person.is_admin:
        abort(403)
    return person


@login_required
def home() -> Response:
    """/admin/, the admin area's front door: an administrator lands on the money overview
    (which links on); everyone else is refused as on the admin pages."""
    _admin()
    return redirect(url_for("payouts_admin.overview"))


# /admin/ sits above the blueprint's prefix, so the app holds the rule; its endpoint is the
# blueprint's (payouts_admin.home), with the admin pages it leads to.
admin.record_once(
    lambda state: state.app.add_url_rule(
        "/admin/", "payouts_admin.home", home, methods=["GET"], strict_slashes=True
    )
)


@admin.route("/", methods=["GET", "POST"])
@login_required
def overview() -> Any:
    person = _admin()
    current = settings.current()
    form = SettingsForm(obj=current) if request.method == "GET" else SettingsForm()
    if form.validate_on_submit():
        try:
            settings.update(
                person,
                settings.SettingsChange(
                    **{
                        name: int(getattr(form, name).data)
                        for name in settings.SettingsChange.__dataclass_fields__
                    }
                ),
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("The settings are saved. They apply to checkouts from now on."), "success")
            return redirect(url_for("payouts_admin.overview"))
    report = reconcile.run() if request.args.get("reconcile") else None
    held = held_refunds.waiting()
    return render_form(
        "payouts/admin.html",
        form,
        totals=dashboard.platform_totals(),
        report=report,
        failed_reversals=dashboard.failed_reversals(),
        held=[(refund, held_refunds.orders_of(refund)) for refund in held],
        action_form=ConfirmForm(),
        batch_failures=batches.recent_failures(),
        failing_events=dashboard.failing_events(),
    )


class AbsorbForm(FlaskForm):
    note = StringField(_l("Why the platform bears it"), validators=[Length(max=500)])


def _held_refunds_page() -> Response:
    return redirect(url_for("payouts_admin.overview") + "#held-refunds")


def _decide(decision: Callable[[], str]) -> Response:
    """Carry out an admin's decision on a held refund and say what it did; a refusal (the
    refund decided in another tab, nothing left on the order) is said on the page."""
    try:
        done = decision()
    except RuleViolation as violation:
        if violation.status in (403, 404):
            raise
        uow.rollback()
        flash(violation.message, "error")
    else:
        flash(done, "success")
    return _held_refunds_page()


@admin.post("/held-refunds/<int:held_id>/book")
@login_required
def book_held_refund(held_id: int) -> Response:
    person = _admin()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    order_id = int_arg("order_id", min=1, values=request.form)
    if order_id is None:
        flash(_("Choose the order to book the refund on."), "error")
        return _held_refunds_page()
    return _decide(
        lambda: _(
            "Booked %(amount)s on the order.",
            amount=money(held_refunds.book(person, held_id, order_id)),
        )
    )


@admin.post("/held-refunds/<int:held_id>/absorb")
@login_required
def absorb_held_refund(held_id: int) -> Response:
    person = _admin()
    form = AbsorbForm()
    if not form.validate_on_submit():
        flash(_("Say in at most 500 characters why the platform bears it."), "error")
        return _held_refunds_page()

    def absorb() -> str:
        held_refunds.absorb(person, held_id, form.note.data or "")
        return _("The platform bears the refund; the payees' earnings are released.")

    return _decide(absorb)


# --- ideas' rewards ---------------------------------------------------------------------------


@blueprint.post("/rewards/<int:reward_id>/pay")
@login_required
def pay_reward(reward_id: int) -> Response:
    from payouts import cocreation
    from social import ideas

    if not ConfirmForm().validate_on_submit():
        abort(400)
    reward = ideas.get_reward(reward_id)
    success, cancel = cocreation.reward_return_urls(reward)
    try:
        card_page = cocreation.pay(
            current_person(), reward_id, success_url=success, cancel_url=cancel
        )
    except RuleViolation as violation:
        if violation.status in (403, 404):
            raise
        flash(violation.message, "error")
        return redirect(url_for("ideas.manage") + "#rewards")
    if card_page:
        return redirect(card_page, 303)
    flash(_("Paid from your earnings. The author receives it with their next payout."), "success")
    return redirect(url_for("ideas.manage") + "#rewards")


@blueprint.get("/rewards/<int:reward_id>/paid")
@login_required
def reward_paid(reward_id: int) -> Response:
    flash(
        _("Thank you. The payment is being confirmed; the reward shows as paid in a moment."),
        "success",
    )
    return redirect(url_for("ideas.manage") + "#rewards")


def idea_money_section(shop: Any) -> Any:
    """The rewards the shop owes and its pool, on its co-creation page."""
    owner = payees.find_user_payee(shop.owner_id)
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template(
            "payouts/_idea_money.html",
            rewards=ideas.rewards(shop_id=shop.id),
            available=dashboard.totals(owner).available if owner is not None else 0,
            pool=cocreation.pool_summary(shop),
            pool_bps=ideas.pool_bps_of(shop.id),
        )
    )
