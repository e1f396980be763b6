"""How the API shows returns and what it takes to move them."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.api import Integer, object_id
from app.media import media_url
from marketplace.commerce_schemas import RefundSchema
from marketplace.returns.models import ANSWER_MAX, REASON_TEXT_MAX, ReturnReason, ReturnStatus


class ReturnLineSchema(Schema):
    order_line_id = fields.Integer(metadata={"example": 101})
    title = fields.String(attribute="order_line.title", metadata={"example": "Speckled bowl"})
    quantity = fields.Integer(metadata={"example": 1})


class ReturnPhotoSchema(Schema):
    url = fields.Function(lambda photo: media_url(photo.key), metadata={"example": "/media/ab/…"})
    thumbnail_url = fields.Function(
        lambda photo: media_url(photo.thumbnail_key), metadata={"example": "/media/cd/…"}
    )
    width = fields.Integer(metadata={"example": 1200})
    height = fields.Integer(metadata={"example": 900})


class ReturnEventSchema(Schema):
    kind = fields.String(metadata={"example": "accepted"})
    actor = fields.Function(
        lambda event: event.actor.handle if event.actor else None,
        allow_none=True,
        metadata={"example": "ana"},
    )
    details = fields.Dict(metadata={"example": {"instructions": "Post it to the studio."}})
    created_at = fields.DateTime(metadata={"example": "2026-03-24T09:00:00+00:00"})


class ReturnSchema(Schema):
    id = fields.Integer(metadata={"example": 7})
    order_id = fields.Integer(metadata={"example": 42})
    status = fields.String(
        metadata={"example": ReturnStatus.ACCEPTED, "enum": list(ReturnStatus.ALL)}
    )
    reason = fields.String(metadata={"example": ReturnReason.DAMAGED})
    reason_text = fields.String(metadata={"example": "The rim arrived chipped."})
    instructions = fields.String(metadata={"example": "Post it to Ana's studio, 3 rue Haute."})
    refusal_reason = fields.String(metadata={"example": ""})
    escalation_note = fields.String(metadata={"example": ""})
    decision_note = fields.String(metadata={"example": ""})
    due_at = fields.DateTime(allow_none=True, metadata={"example": "2026-04-07T09:00:00+00:00"})
    restock = fields.Boolean(metadata={"example": True})
    lines = fields.List(fields.Nested(ReturnLineSchema))
    photos = fields.List(fields.Nested(ReturnPhotoSchema))
    events = fields.List(fields.Nested(ReturnEventSchema))
    refund = fields.Nested(RefundSchema, allow_none=True)
    created_at = fields.DateTime(metadata={"example": "2026-03-22T18:00:00+00:00"})


class ReturnWindowSchema(Schema):
    days = fields.Integer(metadata={"example": 30, "description": "0: the shop takes no returns"})
    counted_from = fields.String(metadata={"example": "delivery", "enum": ["delivery", "shipping"]})
    starts_at = fields.DateTime(allow_none=True, metadata={"example": "2026-03-21T10:00:00+00:00"})
    ends_at = fields.DateTime(allow_none=True, metadata={"example": "2026-04-20T10:00:00+00:00"})
    is_open = fields.Function(lambda window: window.is_open(), metadata={"example": True})


class ReturnableLineSchema(Schema):
    order_line_id = fields.Integer(metadata={"example": 101})
    quantity = fields.Integer(metadata={"example": 2})


class OrderReturnsSchema(Schema):
    window = fields.Nested(ReturnWindowSchema)
    returnable = fields.List(fields.Nested(ReturnableLineSchema))
    returns = fields.List(fields.Nested(ReturnSchema))


class ReturnLineInputSchema(Schema):
    order_line_id = object_id(required=True, strict=True, metadata={"example": 101})
    quantity = Integer(
        required=True, strict=True, validate=validate.Range(min=1), metadata={"example": 1}
    )


class ReturnInputSchema(Schema):
    lines = fields.List(
        fields.Nested(ReturnLineInputSchema),
        required=True,
        validate=validate.Length(min=1, max=100),
    )
    reason = fields.String(
        required=True, validate=validate.OneOf(ReturnReason.ALL), metadata={"example": "damaged"}
    )
    reason_text = fields.String(
        load_default="",
        validate=validate.Length(max=REASON_TEXT_MAX),
        metadata={"example": "The rim arrived chipped."},
    )


class PhotoFormSchema(Schema):
    """Multipart: one or more `photos` files (read from request.files by the view; documented
    here so the form is one request body)."""

    photos = fields.Raw(
        metadata={"type": "array", "items": {"type": "string", "format": "binary"}},
    )


def _text(name: str, example: str, *, required: bool = False) -> Any:
    extra: dict[str, Any] = {"required": True} if required else {"load_default": ""}
    return fields.String(
        validate=validate.Length(max=ANSWER_MAX), metadata={"example": example}, **extra
    )


class AcceptInputSchema(Schema):
    instructions = _text("instructions", "Post it to Ana's studio, 3 rue Haute.", required=True)


class RefuseInputSchema(Schema):
    reason = _text("reason", "Made to order: returns are not possible.", required=True)


class ReceiveInputSchema(Schema):
    restock = fields.Boolean(load_default=True, metadata={"example": True})


class EscalateInputSchema(Schema):
    note = _text("note", "The photos show the chip.")


class DecideInputSchema(Schema):
    decision = fields.String(
        required=True, validate=validate.OneOf(["accept", "uphold"]), metadata={"example": "accept"}
    )
    note = _text("note", "The photos show damage in transit.")


class ReturnListQuerySchema(Schema):
    all = fields.Boolean(load_default=False, metadata={"description": "closed returns too"})
