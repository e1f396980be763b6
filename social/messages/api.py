"""/api/v1/conversations: the inboxes, starting a conversation, reading one (which marks it
read), sending a message (with pictures), marking read, blocking, reporting a message."""

from __future__ import annotations

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from app import api, media
from app.accounts.services import current_person
from marketplace import shops
from social.messages import blocks, conversations, reporting
from social.messages.conversations import Draft
from social.messages.models import PICTURES_MAX, Conversation, Message
from social.messages.schemas import (
    BlockStateSchema,
    ConversationArgsSchema,
    ConversationDetailSchema,
    ConversationPageSchema,
    ConversationReadArgsSchema,
    ConversationSchema,
    MessageReportInputSchema,
    MessageReportSchema,
    MessageSchema,
    ReadSchema,
    SendFormSchema,
    StartSchema,
)
from social.messages.views import messages_limit, new_conversations_limit
from social.models import Report

blueprint = Blueprint(
    "messages_api", __name__, description="Conversations between buyers and shops"
)


def _detail(conversation: Conversation, before: int | None = None) -> Conversation:
    """The conversation with its latest messages (or those before a message id), for the
    detail schema."""
    user = current_person()
    shown, earlier = conversations.messages_of(conversation, before)
    conversation.shown = shown  # type: ignore[attr-defined]
    conversation.has_earlier = earlier  # type: ignore[attr-defined]
    conversation.you_blocked = blocks.has_blocked(  # type: ignore[attr-defined]
        user.id, conversation.other_person.id
    )
    return conversation


@blueprint.route("/conversations")
class Conversations(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ConversationArgsSchema, location="query")
    @blueprint.response(200, ConversationPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your conversations, the latest first: as a buyer (`box=buying`), or your shop's
        (`box=selling`); `filter=unread`; `q` searches the messages, subjects and names."""
        user = current_person()
        page = conversations.inbox(
            user,
            args["box"],
            unread_only=args["filter"] == "unread",
            query=args["q"],
            page=args["page"],
            per_page=args["per_page"],
        )
        return {
            **page.to_dict(list(page.items)),
            "unread_conversations": conversations.unread_count(user.id),
        }

    @new_conversations_limit()
    @blueprint.arguments(StartSchema)
    @blueprint.response(201, ConversationDetailSchema)
    def post(self, data: dict[str, Any]) -> Conversation:
        """Write to a shop, about one of its products or one of your orders from it, or
        nothing in particular. A second message about the same thing continues the same
        conversation. Attach pictures by sending a message to it afterwards."""
        shop = shops.shop_by_id(data["shop_id"])
        if not shop.is_open:
            shops.shop_by_slug(shop.slug, current_person())  # a paused shop is not there
        started, _message = conversations.start(
            current_person(),
            shop,
            Draft(body=data["body"]),
            product_id=data["product_id"],
            order_id=data["order_id"],
        )
        return _detail(started)


@blueprint.route("/conversations/<int:conversation_id>")
class ConversationItem(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ConversationReadArgsSchema, location="query")
    @blueprint.response(200, ConversationDetailSchema)
    def get(self, args: dict[str, Any], conversation_id: int) -> Conversation:
        """A conversation with its latest messages (`before` for earlier ones). Reading the
        latest marks them read: the other side sees them as seen."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        if args["before"] is None:
            conversations.mark_read(user, found)
        return _detail(found, args["before"])


@blueprint.route("/conversations/<int:conversation_id>/messages")
class ConversationMessages(MethodView):
    decorators = [api.login_required]

    @messages_limit()
    @blueprint.arguments(SendFormSchema, location="form", content_type="multipart/form-data")
    @blueprint.response(201, MessageSchema)
    def post(self, form: dict[str, Any], conversation_id: int) -> Message:
        """Send a message: `body` (plain text; markup is removed, links stay text) and up to
        four `pictures` (JPEG, PNG or WebP, 10 MB each; checked and re-encoded)."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        files = [f for f in request.files.getlist("pictures") if f.filename][: PICTURES_MAX + 1]
        pictures = [media.read_upload(f.stream, field_name="pictures") for f in files]
        return conversations.send(user, found, Draft(body=form.get("body", ""), pictures=pictures))


@blueprint.route("/conversations/<int:conversation_id>/read")
class ConversationRead(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ReadSchema)
    @blueprint.response(200, ConversationSchema)
    def post(self, data: dict[str, Any], conversation_id: int) -> Conversation:
        """Mark the conversation read, up to a message (`through`) or all of it."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        conversations.mark_read(user, found, data["through"])
        return found


@blueprint.route("/conversations/<int:conversation_id>/block")
class ConversationBlock(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, BlockStateSchema)
    def put(self, conversation_id: int) -> dict[str, bool]:
        """Block the other side: neither of you can send to the other until you unblock."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        blocks.block(user, found.other_person)
        return {"blocked": True}

    @blueprint.response(200, BlockStateSchema)
    def delete(self, conversation_id: int) -> dict[str, bool]:
        """Unblock the other side."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        blocks.unblock(user, found.other_person)
        return {"blocked": False}


@blueprint.route("/conversations/<int:conversation_id>/messages/<int:message_id>/report")
class MessageReport(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(MessageReportInputSchema)
    @blueprint.response(201, MessageReportSchema)
    def post(self, data: dict[str, Any], conversation_id: int, message_id: int) -> Report:
        """Report a message the other side sent to the moderators, who see it and the few
        messages around it, nothing more."""
        user = current_person()
        found = conversations.conversation_for(user, conversation_id)
        return reporting.report(user, found, message_id, data["reason"], data["details"])


def register() -> None:
    api.register(blueprint, "")
