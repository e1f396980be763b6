from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import Integer, object_id


class CartLineSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = fields.Integer(dump_only=True)
    variant_id = fields.Integer(dump_only=True)
    title = fields.String(dump_only=True)
    variant_label = fields.String(dump_only=True)
    quantity = fields.Integer(dump_only=True)
    unit_price_minor = fields.Integer(dump_only=True)
    price_when_added_minor = fields.Integer(dump_only=True)
    total_minor = fields.Integer(dump_only=True)
    warnings = fields.List(fields.String(), dump_only=True)


class CartShopSchema(Schema):
    shop_id = fields.Integer()
    shop_name = fields.String()
    lines = fields.List(fields.Nested(CartLineSchema))
    subtotal_minor = fields.Integer()
    shipping_minor = fields.Integer()
    problems = fields.List(fields.String())


class CartSchema(Schema):
    currency = fields.String()
    shops = fields.List(fields.Nested(CartShopSchema))
    subtotal_minor = fields.Integer()
    shipping_minor = fields.Integer()
    total_minor = fields.Integer()
    can_check_out = fields.Boolean()
    problems = fields.List(fields.String())


class AddToCartSchema(Schema):
    variant_id = object_id(required=True, strict=True)
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=99))


class QuantitySchema(Schema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=99))


class AddressSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    line1 = fields.String(required=True, validate=validate.Length(min=1, max=200))
    line2 = fields.String(load_default="", validate=validate.Length(max=200))
    city = fields.String(required=True, validate=validate.Length(min=1, max=120))
    postal_code = fields.String(required=True, validate=validate.Length(min=1, max=20))
    region = fields.String(load_default="", validate=validate.Length(max=120))
    country = fields.String(required=True, validate=validate.Length(equal=2))
    phone = fields.String(load_default="", validate=validate.Length(max=40))


class CheckoutStartSchema(Schema):
    shipping_address = fields.Nested(AddressSchema, required=True)


class CheckoutSchema(Schema):
    id = fields.String(attribute="public_id", dump_only=True)
    status = fields.String(dump_only=True)
    currency = fields.String(dump_only=True)
    subtotal_minor = fields.Integer(dump_only=True)
    shipping_minor = fields.Integer(dump_only=True)
    total_minor = fields.Integer(dump_only=True)
    payment_url = fields.String(attribute="stripe_session_url", dump_only=True, allow_none=True)
    expires_at = fields.DateTime(dump_only=True)
    order_ids = fields.Method("_order_ids", dump_only=True)

    def _order_ids(self, checkout):
        return [order.id for order in checkout.orders]


class OrderLineSchema(Schema):
    id = fields.Integer()
    product_id = fields.Integer()
    title = fields.String()
    variant_label = fields.String()
    sku = fields.String()
    unit_price_minor = fields.Integer()
    quantity = fields.Integer()
    gross_minor = fields.Integer()
    refunded_minor = fields.Integer()


class OrderEventSchema(Schema):
    kind = fields.String()
    details = fields.Dict()
    created_at = fields.DateTime()


class OrderSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    shop_id = fields.Integer()
    buyer_handle = fields.Function(lambda order: order.buyer.handle)
    status = fields.String()
    currency = fields.String()
    subtotal_minor = fields.Integer()
    shipping_minor = fields.Integer()
    total_minor = fields.Integer()
    refunded_minor = fields.Integer()
    carrier = fields.String()
    tracking_number = fields.String()
    shipping_address = fields.Dict()
    created_at = fields.DateTime()
    shipped_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))
    events = fields.List(fields.Nested(OrderEventSchema))


class OrderPageSchema(Schema):
    items = fields.List(fields.Nested(OrderSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    has_next = fields.Boolean()
    has_prev = fields.Boolean()


class ListQuerySchema(Schema):
    page = Integer(load_default=1, validate=validate.Range(min=1))
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(["paid", "shipped", "delivered", "completed", "cancelled"]),
    )


class ShipSchema(Schema):
    carrier = fields.String(required=True, validate=validate.Length(min=1, max=60))
    tracking_number = fields.String(load_default="", validate=validate.Length(max=100))


class CancelSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class RefundLineInputSchema(Schema):
    order_line_id = object_id(required=True, strict=True)
    amount_minor = Integer(required=True, strict=True, validate=validate.Range(min=0))


class RefundInputSchema(Schema):
    lines = fields.List(fields.Nested(RefundLineInputSchema), load_default=list)
    shipping_minor = Integer(load_default=0, strict=True, validate=validate.Range(min=0))
    restock = fields.Boolean(load_default=False)
    reason = fields.String(load_default="", validate=validate.Length(max=500))


class RefundSchema(Schema):
    id = fields.String(attribute="public_id")
    status = fields.String()
    amount_minor = fields.Integer()
    shipping_minor = fields.Integer()
    failure_message = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ReviewInputSchema(Schema):
    order_line_id = object_id(required=True, strict=True)
    rating = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5))
    body = fields.String(load_default="", validate=validate.Length(max=2000))


class ReviewSchema(Schema):
    id = fields.Integer()
    order_line_id = fields.Integer()
    product_id = fields.Integer()
    rating = fields.Integer()
    body = fields.String()
    created_at = fields.DateTime()
