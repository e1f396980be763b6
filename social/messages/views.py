"""Pages: the inboxes (buying, and the shop's), a conversation, writing to a shop, blocking,
reporting a message, a message's pictures, and what a moderator sees of a reported one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app.accounts.forms import ConfirmForm
from app.accounts.services import current_person
from app.extensions import limiter
from app.forms import apply_violation, int_arg, render_form
from app.rules import Forbidden, RuleViolation
from app.uow import writes
from app.web import uploads
from marketplace import shops
from social.messages import blocks, conversations, reporting
from social.messages.conversations import Box, Draft
from social.messages.forms import MessageForm, ReportMessageForm
from social.messages.models import Side
from social.views import rate_key

blueprint = Blueprint("messages", __name__)


def new_conversations_limit() -> Any:
    return limiter.shared_limit(
        lambda: current_app.config["RATELIMIT_NEW_CONVERSATIONS"],
        scope="messages-new",
        key_func=rate_key,
        methods=["POST"],
    )


def messages_limit() -> Any:
    return limiter.shared_limit(
        lambda: current_app.config["RATELIMIT_MESSAGES"],
        scope="messages-send",
        key_func=rate_key,
        methods=["POST"],
    )


def _draft(form: MessageForm) -> Draft:
    return Draft(body=form.body.data or "", pictures=uploads(form.pictures, "pictures"))


# --- the inboxes -----------------------------------------------------------------------------


def _inbox(box: str) -> str:
    user = current_person()
    unread_only = request.args.get("filter") == "unread"
    query = request.args.get("q", "")[:100]
    has_shop = shops.shop_of(user) is not None
    page = conversations.inbox(
        user, box, unread_only=unread_only, query=query, page=int_arg("page", 1, min=1)
    )
    return render_template(
        "social/messages/inbox.html",
        page=page,
        box=box,
        unread_only=unread_only,
        query=query,
        has_shop=has_shop,
        endpoint=request.endpoint,
    )


@blueprint.get("/messages")
@login_required
def inbox() -> str:
    return _inbox(Box.BUYING)


@blueprint.get("/messages/selling")
@login_required
def shop_inbox() -> str:
    return _inbox(Box.SELLING)


# --- a conversation --------------------------------------------------------------------------


def _conversation_page(conversation: Any, form: MessageForm, status: int = 200) -> Any:
    user = current_person()
    shown, earlier = conversations.messages_of(conversation, int_arg("before", None, min=1))
    i_blocked = blocks.has_blocked(user.id, conversation.other_person.id)
    page = render_template(
        "social/messages/conversation.html",
        conversation=conversation,
        shown=shown,
        earlier=earlier,
        form=form,
        confirm=ConfirmForm(),
        i_blocked=i_blocked,
        me=user,
    )
    return page, status


@blueprint.route("/messages/<int:conversation_id>", methods=["GET", "POST"])
@login_required
@writes
@messages_limit()
def conversation(conversation_id: int) -> Any:
    user = current_person()
    found = conversations.conversation_for(user, conversation_id)
    form = MessageForm()
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                conversations.send(user, found, _draft(form))
            except RuleViolation as violation:
                apply_violation(form, violation)
            else:
                return redirect(
                    url_for("messages.conversation", conversation_id=found.id) + "#latest"
                )
        return _conversation_page(found, form, 422)
    # Reading it is seeing it: what is shown is read, and the other side sees "Seen".
    if not request.args.get("before"):
        conversations.mark_read(user, found)
    return _conversation_page(found, form)


@blueprint.get("/messages/<int:conversation_id>/pictures/<int:picture_id>/<any(thumb, full):size>")
@login_required
def picture(conversation_id: int, picture_id: int, size: str) -> Response:
    found = conversations.conversation_for(current_person(), conversation_id)
    shown = conversations.picture_in(found, picture_id)
    key = shown.thumb_key if size == "thumb" else shown.image_key
    response = send_from_directory(Path(current_app.config["UPLOAD_DIR"]), key, max_age=3600)
    response.headers["Content-Type"] = "image/webp"
    # Only the two sides may see it: no shared cache keeps it.
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# --- writing to a shop -----------------------------------------------------------------------


@blueprint.route("/shops/<slug>/message", methods=["GET", "POST"])
@login_required
@new_conversations_limit()
def contact(slug: str) -> Any:
    user = current_person()
    shop = shops.shop_by_slug(slug, user)
    values = request.values
    product_id = int_arg("product_id", None, min=1, values=values)
    order_id = int_arg("order_id", None, min=1, values=values)
    try:
        conversations.check_can_start(user, shop)
    except Forbidden as refused:
        return render_template(
            "social/messages/cannot.html", shop=shop, reason=refused.message
        ), 403
    if request.method == "GET":
        # Already talking about this: carry on there.
        found = conversations.existing(user, shop, product_id, order_id)
        if found is not None:
            return redirect(url_for("messages.conversation", conversation_id=found.id) + "#reply")
    try:
        product, order = conversations.about_what(user, shop, product_id, order_id)
    except RuleViolation:
        product = order = None
        product_id = order_id = None
    form = MessageForm()
    if form.validate_on_submit():
        try:
            started, _message = conversations.start(
                user, shop, _draft(form), product_id=product_id, order_id=order_id
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your message is sent to %(shop)s.", shop=shop.name), "success")
            return redirect(url_for("messages.conversation", conversation_id=started.id))
    return render_form(
        "social/messages/contact.html",
        form,
        shop=shop,
        product=product,
        order=order,
        product_id=product_id,
        order_id=order_id,
    )


# --- safety ----------------------------------------------------------------------------------


@blueprint.post("/messages/<int:conversation_id>/<any(block, unblock):action>")
@login_required
def block(conversation_id: int, action: str) -> Response:
    user = current_person()
    found = conversations.conversation_for(user, conversation_id)
    person = found.other_person
    if ConfirmForm().validate_on_submit():
        if action == "block":
            blocks.block(user, person)
            flash(
                _(
                    "You blocked %(name)s: neither of you can send messages to the other.",
                    name=person.name,
                ),
                "success",
            )
        else:
            blocks.unblock(user, person)
            flash(_("%(name)s is no longer blocked.", name=person.name), "success")
    return redirect(url_for("messages.conversation", conversation_id=found.id))


@blueprint.route("/messages/<int:conversation_id>/report/<int:message_id>", methods=["GET", "POST"])
@login_required
def report(conversation_id: int, message_id: int) -> Any:
    user = current_person()
    found = conversations.conversation_for(user, conversation_id)
    message = conversations.message_in(found, message_id)
    if message.sender_id == user.id:
        return render_template(
            "social/report.html",
            form=ReportMessageForm(),
            refused=_("This is your message: you cannot report it."),
        ), 403
    form = ReportMessageForm()
    if form.validate_on_submit():
        try:
            reporting.report(
                user, found, message.id, form.reason.data or "", form.details.data or ""
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Thank you. A moderator will look at this message."), "success")
            return redirect(url_for("messages.conversation", conversation_id=found.id))
    return render_form("social/messages/report.html", form, conversation=found, message=message)


@blueprint.get("/admin/reports/<int:report_id>/message")
@login_required
def reported(report_id: int) -> str:
    context = reporting.reported_context(current_person(), report_id)
    return render_template(
        "social/messages/reported.html", context=context, confirm=ConfirmForm(), Side=Side
    )
