from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import Integer, object_id
from marketplace import checkout as checkouts
from marketplace.schemas import SHOP_NAME as SHOP
from marketplace.tracking import tracking_url

# The examples of the document: Jonas's order of two bowls from Ana's studio.
TITLE = "Speckled stoneware bowl"
VARIANT_LABEL = "Small / Speckled white"
SHOP_NAME = SHOP["example"]
ADDRESS = {
    "name": "Jonas Weber",
    "line1": "Rua das Flores 12",
    "line2": "2nd floor",
    "city": "Porto",
    "postal_code": "4050-262",
    "region": "Porto",
    "country": "PT",
    "phone": "+351 912 345 678",
}


class CartLineSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 17})
    product_id = fields.Integer(dump_only=True, metadata={"example": 12})
    variant_id = fields.Integer(dump_only=True, metadata={"example": 31})
    title = fields.String(dump_only=True, metadata={"example": TITLE})
    variant_label = fields.String(dump_only=True, metadata={"example": VARIANT_LABEL})
    quantity = fields.Integer(dump_only=True, metadata={"example": 2})
    unit_price_minor = fields.Integer(dump_only=True, metadata={"example": 2500})
    price_when_added_minor = fields.Integer(dump_only=True, metadata={"example": 2300})
    total_minor = fields.Integer(dump_only=True, metadata={"example": 5000})
    discount_minor = fields.Integer(dump_only=True, metadata={"example": 750})
    gross_minor = fields.Integer(dump_only=True, metadata={"example": 4250})
    warnings = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"example": ["The price changed since you added it."]},
    )


class CartCouponSchema(Schema):
    code = fields.String(metadata={"example": "WELCOME10"})
    applies = fields.Boolean(metadata={"example": True})
    problem = fields.String(allow_none=True, metadata={"example": None})


class CartBundleSchema(Schema):
    min_items = fields.Integer(metadata={"example": 2})
    percent_bps = fields.Integer(metadata={"example": 1500})


class CartShopSchema(Schema):
    shop_id = fields.Integer(metadata={"example": 3})
    shop_name = fields.String(metadata={"example": SHOP_NAME})
    lines = fields.List(fields.Nested(CartLineSchema))
    subtotal_minor = fields.Integer(metadata={"example": 5000})
    bundle_minor = fields.Integer(metadata={"example": 750})
    coupon_minor = fields.Integer(metadata={"example": 0})
    discount_minor = fields.Integer(metadata={"example": 750})
    coupon = fields.Nested(CartCouponSchema, allow_none=True)
    bundle = fields.Nested(CartBundleSchema, allow_none=True)
    bundle_items_to_go = fields.Integer(allow_none=True, metadata={"example": None})
    shipping_minor = fields.Integer(metadata={"example": 450})
    problems = fields.List(fields.String(), metadata={"example": []})


class CartSchema(Schema):
    currency = fields.String(metadata={"example": "eur"})
    shops = fields.List(fields.Nested(CartShopSchema))
    subtotal_minor = fields.Integer(metadata={"example": 5000})
    discount_minor = fields.Integer(metadata={"example": 750})
    shipping_minor = fields.Integer(metadata={"example": 450})
    total_minor = fields.Integer(metadata={"example": 4700})
    can_check_out = fields.Boolean(metadata={"example": True})
    problems = fields.List(fields.String(), metadata={"example": []})


class AddToCartSchema(Schema):
    variant_id = object_id(required=True, strict=True, metadata={"example": 31})
    quantity = fields.Integer(
        load_default=1, strict=True, validate=validate.Range(min=1, max=99), metadata={"example": 2}
    )


class QuantitySchema(Schema):
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=99), metadata={"example": 2}
    )


class AddressSchema(Schema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=120), metadata={"example": "Jonas Weber"}
    )
    line1 = fields.String(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"example": "Rua das Flores 12"},
    )
    line2 = fields.String(
        load_default="", validate=validate.Length(max=200), metadata={"example": "2nd floor"}
    )
    city = fields.String(
        required=True, validate=validate.Length(min=1, max=120), metadata={"example": "Porto"}
    )
    postal_code = fields.String(
        required=True, validate=validate.Length(min=1, max=20), metadata={"example": "4050-262"}
    )
    region = fields.String(
        load_default="", validate=validate.Length(max=120), metadata={"example": "Porto"}
    )
    country = fields.String(
        required=True, validate=validate.Length(equal=2), metadata={"example": "PT"}
    )
    phone = fields.String(
        load_default="", validate=validate.Length(max=40), metadata={"example": "+351 912 345 678"}
    )


class CheckoutStartSchema(Schema):
    shipping_address = fields.Nested(AddressSchema, required=True)


class CheckoutSchema(Schema):
    id = fields.String(
        attribute="public_id", dump_only=True, metadata={"example": "chk_3q9Zr7LwYk2Vn8Xs1aBcDeFg"}
    )
    status = fields.String(dump_only=True, metadata={"example": "open"})
    currency = fields.String(dump_only=True, metadata={"example": "eur"})
    subtotal_minor = fields.Integer(dump_only=True, metadata={"example": 5000})
    shipping_minor = fields.Integer(dump_only=True, metadata={"example": 450})
    total_minor = fields.Integer(dump_only=True, metadata={"example": 5450})
    # As the buyer's browser should open it now (the emulated mode serves it at any address).
    payment_url = fields.Function(
        lambda checkout: checkouts.payment_url(checkout),
        dump_only=True,
        allow_none=True,
        metadata={
            "type": "string",
            "example": "https://checkout.stripe.com/c/pay/cs_test_a1B2c3D4",
        },
    )
    expires_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-14T10:42:00+00:00"})
    order_ids = fields.Method(
        "_order_ids",
        dump_only=True,
        metadata={
            "type": "array",
            "items": {"type": "integer"},
            "description": "The orders once it is paid, one per shop.",
            "example": [],
        },
    )

    def _order_ids(self, checkout):
        return [order.id for order in checkout.orders]


class OrderLineSchema(Schema):
    id = fields.Integer(metadata={"example": 101})
    product_id = fields.Integer(metadata={"example": 12})
    title = fields.String(metadata={"example": TITLE})
    variant_label = fields.String(metadata={"example": VARIANT_LABEL})
    sku = fields.String(metadata={"example": "BOWL-S-WH"})
    unit_price_minor = fields.Integer(metadata={"example": 2500})
    quantity = fields.Integer(metadata={"example": 2})
    discount_minor = fields.Integer(metadata={"example": 750})
    adjustments = fields.List(
        fields.Dict(),
        metadata={"example": [{"kind": "bundle", "amount_minor": 750}]},
    )
    gross_minor = fields.Integer(metadata={"example": 4250})
    refunded_minor = fields.Integer(metadata={"example": 500})


class OrderEventSchema(Schema):
    kind = fields.String(metadata={"example": "shipped"})
    details = fields.Dict(
        metadata={"example": {"carrier": "La Poste", "tracking_number": "6A12345678901"}}
    )
    created_at = fields.DateTime(metadata={"example": "2026-03-17T16:05:00+00:00"})


class OrderSchema(Schema):
    id = fields.Integer(metadata={"example": 57})
    reference = fields.String(metadata={"example": "K-7Q2M4XPA"})
    shop_id = fields.Integer(metadata={"example": 3})
    buyer_handle = fields.Function(
        lambda order: order.buyer.handle, metadata={"type": "string", "example": "jonas"}
    )
    status = fields.String(metadata={"example": "shipped"})
    currency = fields.String(metadata={"example": "eur"})
    subtotal_minor = fields.Integer(metadata={"example": 4250})
    discount_minor = fields.Integer(metadata={"example": 750})
    shipping_minor = fields.Integer(metadata={"example": 450})
    total_minor = fields.Integer(metadata={"example": 4700})
    refunded_minor = fields.Integer(metadata={"example": 500})
    carrier = fields.String(metadata={"example": "La Poste"})
    tracking_number = fields.String(metadata={"example": "6A12345678901"})
    tracking_url = fields.Function(
        lambda order: tracking_url(order.carrier, order.tracking_number),
        metadata={
            "type": "string",
            "nullable": True,
            "description": "The carrier's tracking page for the parcel; null when the carrier "
            "is not one Kindred knows or there is no usable tracking number.",
            "example": "https://www.laposte.fr/outils/suivre-vos-envois?code=6A12345678901",
        },
    )
    shipping_address = fields.Dict(metadata={"example": ADDRESS})
    created_at = fields.DateTime(metadata={"example": "2026-03-14T10:14:00+00:00"})
    shipped_at = fields.DateTime(allow_none=True, metadata={"example": "2026-03-17T16:05:00+00:00"})
    delivered_at = fields.DateTime(allow_none=True, metadata={"example": None})
    lines = fields.List(fields.Nested(OrderLineSchema))
    events = fields.List(fields.Nested(OrderEventSchema))


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 20})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


class ListQuerySchema(Schema):
    page = Integer(load_default=1, validate=validate.Range(min=1))
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(["paid", "shipped", "delivered", "completed", "cancelled"]),
    )


class ShipSchema(Schema):
    carrier = fields.String(
        required=True, validate=validate.Length(min=1, max=60), metadata={"example": "La Poste"}
    )
    tracking_number = fields.String(
        load_default="", validate=validate.Length(max=100), metadata={"example": "6A12345678901"}
    )


class CancelSchema(Schema):
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"example": "The glaze cracked in the kiln: I cannot send this one."},
    )


class RefundLineInputSchema(Schema):
    order_line_id = object_id(required=True, strict=True, metadata={"example": 101})
    amount_minor = Integer(
        required=True, strict=True, validate=validate.Range(min=0), metadata={"example": 500}
    )


class RefundInputSchema(Schema):
    lines = fields.List(fields.Nested(RefundLineInputSchema), load_default=list)
    shipping_minor = Integer(
        load_default=0, strict=True, validate=validate.Range(min=0), metadata={"example": 0}
    )
    restock = fields.Boolean(load_default=False, metadata={"example": False})
    reason = fields.String(
        load_default="",
        validate=validate.Length(max=500),
        metadata={"example": "A small chip on the rim: part of the price back, as agreed."},
    )


class RefundSchema(Schema):
    id = fields.String(attribute="public_id", metadata={"example": "rf_Vq3Lm9Tz1Ab2Cd3Ef4Gh5Ij6"})
    status = fields.String(metadata={"example": "succeeded"})
    amount_minor = fields.Integer(metadata={"example": 500})
    shipping_minor = fields.Integer(metadata={"example": 0})
    failure_message = fields.String(allow_none=True, metadata={"example": None})
    created_at = fields.DateTime(metadata={"example": "2026-03-20T11:00:00+00:00"})


class ReviewInputSchema(Schema):
    order_line_id = object_id(required=True, strict=True, metadata={"example": 101})
    rating = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=5), metadata={"example": 5}
    )
    body = fields.String(
        load_default="",
        validate=validate.Length(max=2000),
        metadata={"example": "Even lovelier than in the photos, and well packed."},
    )


class ReviewSchema(Schema):
    id = fields.Integer(metadata={"example": 9})
    order_line_id = fields.Integer(metadata={"example": 101})
    product_id = fields.Integer(metadata={"example": 12})
    rating = fields.Integer(metadata={"example": 5})
    body = fields.String(metadata={"example": "Even lovelier than in the photos, and well packed."})
    created_at = fields.DateTime(metadata={"example": "2026-03-21T08:30:00+00:00"})
