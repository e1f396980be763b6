"""The API's representation of a shop's deals."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from marketplace.deals import coupons
from marketplace.deals.models import CODE_MAX, MAX_PERCENT_BPS, CouponKind, CouponStatus


class CouponCodeInputSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=CODE_MAX * 2),
        metadata={"example": "welcome10"},
    )


class BundleSchema(Schema):
    min_items = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=2, max=99), metadata={"example": 2}
    )
    percent_bps = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=0, max=MAX_PERCENT_BPS),
        metadata={"example": 1500, "description": "0 turns the bundle discount off"},
    )


class ShopBundleSchema(Schema):
    """The shop's bundle discount: null fields when there is none."""

    min_items = fields.Integer(allow_none=True, metadata={"example": 2})
    percent_bps = fields.Integer(allow_none=True, metadata={"example": 1500})


class CouponSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 4})
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=CODE_MAX),
        metadata={"example": "WELCOME10"},
    )
    kind = fields.String(
        required=True, validate=validate.OneOf(CouponKind.ALL), metadata={"example": "percent"}
    )
    percent_bps = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_PERCENT_BPS),
        metadata={"example": 1000},
    )
    amount_minor = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={"example": None},
    )
    min_order_minor = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=0, max=2**31 - 1),
        metadata={"example": 3000},
    )
    expires_at = fields.AwareDateTime(
        load_default=None, allow_none=True, metadata={"example": "2027-01-31T23:59:00+00:00"}
    )
    max_uses = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=1_000_000),
        metadata={"example": 100},
    )
    once_per_buyer = fields.Boolean(load_default=False, metadata={"example": True})
    status = fields.String(dump_only=True, metadata={"example": "active"})
    uses = fields.Function(
        lambda coupon: coupons.use_counts([coupon.id])[coupon.id]["used"],
        dump_only=True,
        metadata={"type": "integer", "example": 12},
    )
    reserved = fields.Function(
        lambda coupon: coupons.use_counts([coupon.id])[coupon.id]["reserved"],
        dump_only=True,
        metadata={"type": "integer", "example": 1, "description": "held by open checkouts"},
    )
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-12-01T10:00:00+00:00"})


class CouponStatusSchema(Schema):
    status = fields.String(
        required=True, validate=validate.OneOf(CouponStatus.ALL), metadata={"example": "paused"}
    )


class CouponUseSchema(Schema):
    """A use of a coupon by a paid checkout, with the shop's order (dumped from the pair)."""

    id = fields.Function(lambda row: row[0].id, metadata={"type": "integer", "example": 9})
    discount_minor = fields.Function(
        lambda row: row[0].discount_minor, metadata={"type": "integer", "example": 450}
    )
    used_at = fields.Function(
        lambda row: row[0].updated_at.isoformat(),
        metadata={"type": "string", "format": "date-time", "example": "2026-12-02T10:00:00+00:00"},
    )
    order_id = fields.Function(
        lambda row: row[1].id if row[1] else None,
        allow_none=True,
        metadata={"type": "integer", "example": 57},
    )
    order_reference = fields.Function(
        lambda row: row[1].reference if row[1] else None,
        allow_none=True,
        metadata={"type": "string", "example": "K-7Q2M4XPA"},
    )
