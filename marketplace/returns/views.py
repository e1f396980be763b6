"""Pages of returns: the buyer asks, withdraws, escalates; the seller answers and receives;
the moderators decide. Each order page shows its returns (`return_section`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from app import uow
from app.accounts.forms import ConfirmForm
from app.accounts.services import current_person
from app.forms import apply_violation, render_form
from app.rules import Forbidden, RuleViolation
from app.web import uploads
from marketplace import orders
from marketplace import shops as shop_services
from marketplace.order_models import Order
from marketplace.returns import policy, steps
from marketplace.returns.forms import (
    AcceptForm,
    DecideForm,
    EscalateForm,
    ReceiveForm,
    RefuseForm,
    ReturnForm,
)
from marketplace.returns.models import ReturnRequest

returns = Blueprint("returns", __name__, template_folder="templates")
shop_returns = Blueprint(
    "shop_returns", __name__, url_prefix="/account/shop/returns", template_folder="templates"
)
returns_admin = Blueprint(
    "returns_admin", __name__, url_prefix="/admin/returns", template_folder="templates"
)


def _flash_refund(refund: Any) -> None:
    """Send the return's refund as a seller's refund is sent: committed first, then Stripe."""
    if refund is None:
        flash(_("Nothing was left to refund on these items."), "info")
        return
    if not orders.deliver_refund(refund):
        flash(
            _("The payment service did not answer; the refund will be retried automatically."),
            "warning",
        )
    elif refund.status == "failed":
        flash(_("The refund failed: %(why)s", why=refund.failure_message or ""), "error")
    else:
        flash(_("The buyer is refunded."), "success")


def _refused(violation: RuleViolation) -> None:
    if violation.status in (403, 404):
        raise violation
    uow.rollback()
    flash(violation.message, "error")


# --- on both order pages ---------------------------------------------------------------------


def return_section(order: Order, side: str) -> Markup:
    """The returns part of an order page: the policy, each return with its history, and the
    actions of the side looking (`buyer` or `seller`)."""
    found = steps.of_order(order)
    window = policy.window(order)
    can_ask = side == "buyer" and window.is_open() and any(policy.returnable(order).values())
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template(
            "returns/_order_section.html",
            order=order,
            side=side,
            returns=found,
            window=window,
            can_ask=can_ask,
            accept_form=AcceptForm(formdata=None),
            refuse_form=RefuseForm(formdata=None),
            receive_form=ReceiveForm(formdata=None),
            escalate_form=EscalateForm(formdata=None),
            confirm_form=ConfirmForm(),
        )
    )


# --- the buyer -------------------------------------------------------------------------------


def _ask_page(order: Order, form: ReturnForm) -> Any:
    return render_form(
        "returns/ask.html",
        form,
        order=order,
        window=policy.window(order),
        returnable=policy.returnable(order),
        line_errors=form.quantity_errors,
    )


@returns.route("/orders/<int:order_id>/return", methods=["GET", "POST"])
@login_required
def ask(order_id: int) -> Any:
    buyer = current_person()
    order = orders.order_for_buyer(buyer, order_id)
    form = ReturnForm()
    if request.method == "GET":
        return _ask_page(order, form)
    quantities = form.quantities([line.id for line in order.lines], request.form)
    if not form.validate_on_submit() or form.quantity_errors:
        if form.quantity_errors and not form.errors:
            form.form_errors.append(_("Check the quantities."))
        return _ask_page(order, form)
    try:
        steps.ask(
            buyer,
            order_id,
            steps.ReturnAsk(
                quantities=quantities,
                reason=form.reason.data or "",
                reason_text=form.reason_text.data or "",
                photos=uploads(form.photos, "photos"),
            ),
        )
    except RuleViolation as violation:
        if violation.status in (403, 404):
            raise
        uow.rollback()
        apply_violation(form, violation)
        form.quantity_errors.update(
            {k: v for k, v in violation.errors.items() if k.startswith("line-")}
        )
        return _ask_page(orders.order_for_buyer(buyer, order_id), form)
    flash(
        _(
            "Your return request is sent. The seller has %(days)d days to answer.",
            days=policy.answer_days(),
        ),
        "success",
    )
    return redirect(url_for("shopping.my_order", order_id=order_id))


def _buyer_back(found: ReturnRequest) -> Response:
    return redirect(url_for("shopping.my_order", order_id=found.order_id))


@returns.post("/returns/<int:return_id>/withdraw")
@login_required
def withdraw(return_id: int) -> Response:
    found = steps.for_buyer(current_person(), return_id)
    if ConfirmForm().validate_on_submit():
        try:
            steps.withdraw(current_person(), return_id)
        except RuleViolation as violation:
            _refused(violation)
        else:
            flash(_("Your return request is withdrawn."), "info")
    return _buyer_back(found)


@returns.post("/returns/<int:return_id>/escalate")
@login_required
def escalate(return_id: int) -> Response:
    found = steps.for_buyer(current_person(), return_id)
    form = EscalateForm()
    if not form.validate_on_submit():
        flash(_("Use at most %(max)d characters.", max=1000), "error")
        return _buyer_back(found)
    try:
        steps.escalate(current_person(), return_id, form.note.data or "")
    except RuleViolation as violation:
        _refused(violation)
    else:
        flash(_("Kindred's team will look at your return and decide."), "success")
    return _buyer_back(found)


# --- the seller ------------------------------------------------------------------------------


@shop_returns.get("/")
@login_required
def list_returns() -> Any:
    shop = shop_services.shop_of(current_person())
    if shop is None:
        flash(_("Open a shop first."), "info")
        return redirect(url_for("seller.open_shop"))
    show_all = request.args.get("all") == "1"
    return render_template(
        "returns/seller_list.html",
        shop=shop,
        returns=steps.of_shop(shop.id, open_only=not show_all),
        show_all=show_all,
    )


def _seller_back(found: ReturnRequest) -> Response:
    return redirect(url_for("seller_orders.show", order_id=found.order_id) + "#returns")


@shop_returns.post("/<int:return_id>/accept")
@login_required
def accept(return_id: int) -> Response:
    found = steps.for_seller(current_person(), return_id)
    form = AcceptForm()
    if not form.validate_on_submit():
        flash(_("Tell the buyer where and how to send it back."), "error")
        return _seller_back(found)
    try:
        steps.accept(current_person(), return_id, form.instructions.data or "")
    except RuleViolation as violation:
        _refused(violation)
    else:
        flash(_("Return accepted. The buyer has your instructions."), "success")
    return _seller_back(found)


@shop_returns.post("/<int:return_id>/refuse")
@login_required
def refuse(return_id: int) -> Response:
    found = steps.for_seller(current_person(), return_id)
    form = RefuseForm()
    if not form.validate_on_submit():
        flash(_("Tell the buyer why you refuse."), "error")
        return _seller_back(found)
    try:
        steps.refuse(current_person(), return_id, form.reason.data or "")
    except RuleViolation as violation:
        _refused(violation)
    else:
        flash(_("Return refused. The buyer may ask Kindred to decide."), "info")
    return _seller_back(found)


@shop_returns.post("/<int:return_id>/receive")
@login_required
def receive(return_id: int) -> Response:
    found = steps.for_seller(current_person(), return_id)
    form = ReceiveForm()
    if not form.validate_on_submit():
        return _seller_back(found)
    try:
        refund = steps.receive(current_person(), return_id, restock=bool(form.restock.data))
    except RuleViolation as violation:
        _refused(violation)
        return _seller_back(found)
    _flash_refund(refund)
    return _seller_back(found)


# --- the moderators --------------------------------------------------------------------------


@returns_admin.get("/")
@login_required
def queue() -> Any:
    return render_template(
        "returns/admin_queue.html",
        returns=steps.escalated(current_person()),
        form=DecideForm(formdata=None),
    )


@returns_admin.post("/<int:return_id>/decide")
@login_required
def decide(return_id: int) -> Response:
    moderator = current_person()
    if not steps.is_moderator(moderator):
        raise Forbidden(_("Only moderators can do that."))
    steps.for_either(moderator, return_id)
    form = DecideForm()
    if not form.validate_on_submit():
        flash(_("Choose a decision."), "error")
        return redirect(url_for("returns_admin.queue"))
    try:
        steps.decide(
            moderator,
            return_id,
            for_buyer=form.decision.data == "accept",
            note=form.note.data or "",
        )
    except RuleViolation as violation:
        _refused(violation)
    else:
        flash(_("Decided. The buyer and the seller are told."), "success")
    return redirect(url_for("returns_admin.queue"))
