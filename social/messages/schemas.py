"""The API's representations of conversations and messages (dumped from the model objects)."""

from __future__ import annotations

from flask import url_for
from marshmallow import Schema, fields, validate

from app.api import object_id
from social.messages.conversations import Box
from social.messages.models import BODY_MAX
from social.models import REPORT_DETAILS_MAX, ReportReason

WHEN = {"example": "2026-12-07T14:05:00+00:00"}


class ConversationPersonSchema(Schema):
    id = fields.Integer(metadata={"example": 7})
    handle = fields.String(metadata={"example": "farid"})
    name = fields.String(metadata={"example": "Farid Haddad"})


class ConversationShopSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    slug = fields.String(metadata={"example": "anas-studio"})
    name = fields.String(metadata={"example": "Ana's Studio"})


class PictureSchema(Schema):
    id = fields.Integer(metadata={"example": 12})
    width = fields.Integer(metadata={"example": 1200})
    height = fields.Integer(metadata={"example": 900})
    url = fields.Function(
        lambda p: url_for(
            "messages.picture",
            conversation_id=p.message.conversation_id,
            picture_id=p.id,
            size="full",
            _external=True,
        ),
        metadata={"example": "http://127.0.0.1:5000/messages/5/pictures/12/full"},
    )
    thumbnail_url = fields.Function(
        lambda p: url_for(
            "messages.picture",
            conversation_id=p.message.conversation_id,
            picture_id=p.id,
            size="thumb",
            _external=True,
        ),
        metadata={"example": "http://127.0.0.1:5000/messages/5/pictures/12/thumb"},
    )


class MessageSchema(Schema):
    id = fields.Integer(metadata={"example": 41})
    conversation_id = fields.Integer(metadata={"example": 5})
    sender = fields.Nested(ConversationPersonSchema)
    body = fields.Function(
        lambda m: "" if m.hidden_at else m.body,
        metadata={
            "description": "Plain text (no markup); empty when a moderator removed it.",
            "example": "Is the large bowl oven-safe?",
        },
    )
    removed = fields.Function(lambda m: m.hidden_at is not None, metadata={"example": False})
    pictures = fields.Function(
        lambda m: [] if m.hidden_at else PictureSchema(many=True).dump(m.pictures),
        metadata={"type": "array", "items": {"type": "object"}, "example": []},
    )
    created_at = fields.DateTime(metadata=WHEN)


class ConversationSchema(Schema):
    id = fields.Integer(metadata={"example": 5})
    side = fields.String(
        metadata={
            "description": "Your side: `buyer`, or `seller` for your shop's conversations.",
            "example": "buyer",
        }
    )
    shop = fields.Nested(ConversationShopSchema)
    buyer = fields.Nested(ConversationPersonSchema)
    other_person = fields.Nested(ConversationPersonSchema)
    product_id = fields.Integer(allow_none=True, metadata={"example": 12})
    order_id = fields.Integer(allow_none=True, metadata={"example": None})
    subject = fields.String(metadata={"example": "Speckled stoneware bowl"})
    last_message_at = fields.DateTime(metadata=WHEN)
    last_preview = fields.String(metadata={"example": "Yes, up to 250 °C."})
    unread = fields.Integer(
        metadata={"description": "Messages from the other side you have not read.", "example": 1}
    )
    seen_by_other_through = fields.Integer(
        attribute="other_seen_id",
        allow_none=True,
        metadata={
            "description": "The last message id the other side has seen (read receipts).",
            "example": 41,
        },
    )
    url = fields.Function(
        lambda c: url_for("messages.conversation", conversation_id=c.id, _external=True),
        metadata={"example": "http://127.0.0.1:5000/messages/5"},
    )


class ConversationPageSchema(Schema):
    items = fields.List(fields.Nested(ConversationSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 20})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})
    unread_conversations = fields.Integer(
        metadata={"description": "Conversations with something unread, both sides.", "example": 2}
    )


class ConversationDetailSchema(ConversationSchema):
    messages = fields.List(fields.Nested(MessageSchema), attribute="shown")
    has_earlier = fields.Boolean(metadata={"example": False})
    you_blocked = fields.Boolean(metadata={"example": False})


class ConversationArgsSchema(Schema):
    box = fields.String(
        load_default=Box.BUYING,
        validate=validate.OneOf(Box.ALL),
        metadata={"description": "`buying`, or `selling` for your shop's.", "example": "buying"},
    )
    filter = fields.String(
        load_default="all", validate=validate.OneOf(["all", "unread"]), metadata={"example": "all"}
    )
    q = fields.String(
        load_default="", validate=validate.Length(max=100), metadata={"example": "bowl"}
    )
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ConversationReadArgsSchema(Schema):
    before = object_id(
        load_default=None,
        metadata={"description": "Earlier messages: those before this message id."},
    )


class StartSchema(Schema):
    shop_id = object_id(required=True, strict=True, metadata={"example": 3})
    product_id = object_id(load_default=None, strict=True, metadata={"example": 12})
    order_id = object_id(load_default=None, strict=True, metadata={"example": None})
    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=BODY_MAX),
        metadata={"example": "Is the large bowl oven-safe?"},
    )


class SendFormSchema(Schema):
    """The multipart form of a message: its text, and up to four `pictures` files (read from
    request.files by the view; documented here so the form is one request body)."""

    body = fields.String(
        load_default="",
        validate=validate.Length(max=BODY_MAX),
        metadata={"example": "Here is a photo of the crack."},
    )
    pictures = fields.Raw(
        metadata={"type": "array", "items": {"type": "string", "format": "binary"}},
    )


class ReadSchema(Schema):
    through = object_id(
        load_default=None,
        strict=True,
        metadata={"description": "Read up to this message id (default: all).", "example": 41},
    )


class BlockStateSchema(Schema):
    blocked = fields.Boolean(metadata={"example": True})


class MessageReportInputSchema(Schema):
    reason = fields.String(
        required=True, validate=validate.OneOf(ReportReason.ALL), metadata={"example": "spam"}
    )
    details = fields.String(
        load_default="",
        validate=validate.Length(max=REPORT_DETAILS_MAX),
        metadata={"example": "Asks me to pay by bank transfer."},
    )


class MessageReportSchema(Schema):
    id = fields.Integer(metadata={"example": 44})
    target_type = fields.String(metadata={"example": "message"})
    target_id = fields.Integer(metadata={"example": 41})
    reason = fields.String(metadata={"example": "spam"})
    details = fields.String(metadata={"example": "Asks me to pay by bank transfer."})
    created_at = fields.DateTime(metadata=WHEN)
