"""Marshmallow schemas of the catalogue's JSON API (and its OpenAPI document)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from app.api import Integer, object_id
from marketplace import categories
from marketplace.models import (
    ALT_MAX,
    OPTION_MAX,
    SHOP_NAME_MAX,
    SHOP_SLUG_MAX,
    SKU_MAX,
    TITLE_MAX,
    Condition,
    ProductStatus,
)
from marketplace.rules import MAX_PRICE_MINOR, MAX_STOCK

PRICE: dict[str, Any] = {
    "strict": True,
    "metadata": {"description": "In minor units of the deployment's currency (1250 = 12.50)."},
}


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class PageSchema(Schema):
    page = fields.Integer()
    per_page = fields.Integer()
    has_next = fields.Boolean()
    has_prev = fields.Boolean()


class ShopSchema(Schema):
    id = fields.Integer(dump_only=True)
    slug = fields.String(validate=validate.Length(max=SHOP_SLUG_MAX))
    name = fields.String(required=True, validate=validate.Length(min=2, max=SHOP_NAME_MAX))
    description = fields.String(metadata={"description": "Markdown."})
    description_html = fields.String(dump_only=True, metadata={"description": "Sanitised HTML."})
    return_policy = fields.String(metadata={"description": "Markdown."})
    return_policy_html = fields.String(dump_only=True)
    shipping_flat_minor = fields.Integer(
        validate=validate.Range(min=0, max=MAX_PRICE_MINOR), **PRICE
    )
    free_shipping_over_minor = Integer(allow_none=True, **PRICE)
    processing_days = fields.Integer(validate=validate.Range(min=1, max=60), strict=True)
    curator_commission_bps = Integer(
        strict=True,
        validate=validate.Range(min=0, max=10_000),
        metadata={"description": "What a curator earns on a sale through their pick (1% = 100)."},
    )
    status = fields.String(dump_only=True, metadata={"description": "open or paused"})
    owner_handle = fields.String(dump_only=True)
    logo_url = fields.String(dump_only=True, allow_none=True)
    banner_url = fields.String(dump_only=True, allow_none=True)
    url = fields.String(dump_only=True)
    currency = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class ShopUpdateSchema(ShopSchema):
    name = fields.String(validate=validate.Length(min=2, max=SHOP_NAME_MAX))
    status = fields.String(validate=validate.OneOf(["open", "paused"]))


class ShopPageSchema(PageSchema):
    items = fields.List(fields.Nested(ShopSchema))


# What the services accept, documented (they check it themselves, with their own messages).
VARIANT_PRICE: dict[str, Any] = {
    "strict": True,
    "metadata": {**PRICE["metadata"], "minimum": 1, "maximum": MAX_PRICE_MINOR},
}
STOCK: dict[str, Any] = {
    "strict": True,
    "validate": validate.Range(max=MAX_STOCK),
    "metadata": {"minimum": 0},
}


class VariantSchema(Schema):
    id = fields.Integer(dump_only=True)
    sku = fields.String(validate=validate.Length(max=SKU_MAX))
    option1 = fields.String(validate=validate.Length(max=OPTION_MAX))
    option2 = fields.String(validate=validate.Length(max=OPTION_MAX))
    label = fields.String(dump_only=True)
    price_minor = fields.Integer(required=True, **VARIANT_PRICE)
    stock = fields.Integer(load_default=0, **STOCK)


class VariantUpdateSchema(VariantSchema):
    price_minor = fields.Integer(**VARIANT_PRICE)
    stock = fields.Integer(**STOCK)


class ImageSchema(Schema):
    id = fields.Integer(dump_only=True)
    position = fields.Integer(dump_only=True)
    alt_text = fields.String(validate=validate.Length(max=ALT_MAX))
    url = fields.String(dump_only=True)
    large_url = fields.String(dump_only=True)
    thumb_url = fields.String(dump_only=True)
    width = fields.Integer(dump_only=True)
    height = fields.Integer(dump_only=True)


class ImageUploadSchema(Schema):
    alt_text = fields.String(validate=validate.Length(max=ALT_MAX), load_default="")


class ImageFilesSchema(Schema):
    # Documented for OpenAPI; the files are read from request.files by the view.
    images = fields.Raw(
        metadata={"type": "array", "items": {"type": "string", "format": "binary"}},
    )


class ImageUploadFormSchema(ImageUploadSchema):
    """The multipart form of an upload: the images' description, and the image files (read
    from request.files by the view; documented here so the form is one request body)."""

    images = fields.Raw(
        metadata={"type": "array", "items": {"type": "string", "format": "binary"}},
    )


class ImageOrderSchema(Schema):
    image_ids = fields.List(object_id(), required=True)


class ShopRefSchema(Schema):
    id = fields.Integer()
    slug = fields.String()
    name = fields.String()


class ProductSummarySchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String()
    slug = fields.String(dump_only=True)
    category = fields.String()
    condition = fields.String()
    status = fields.String()
    price_minor = fields.Integer(
        dump_only=True, metadata={"description": "The lowest price of its variants."}
    )
    currency = fields.String(dump_only=True)
    stock_total = fields.Integer(dump_only=True)
    in_stock = fields.Boolean(dump_only=True)
    cover_url = fields.String(dump_only=True, allow_none=True)
    popularity = fields.Integer(dump_only=True)
    shop = fields.Nested(ShopRefSchema, dump_only=True)
    url = fields.String(dump_only=True)
    published_at = fields.DateTime(dump_only=True, allow_none=True)


class ProductSchema(ProductSummarySchema):
    title = fields.String(required=True, validate=validate.Length(min=2, max=TITLE_MAX))
    description = fields.String(load_default="", metadata={"description": "Markdown."})
    description_html = fields.String(dump_only=True)
    category = fields.String(
        required=True,
        metadata={"description": "A leaf category key.", "enum": list(categories.LEAF_KEYS)},
    )
    tags = fields.List(fields.String(), load_default=list)
    condition = fields.String(load_default=Condition.NEW, validate=validate.OneOf(Condition.ALL))
    status = fields.String(
        load_default=ProductStatus.DRAFT,
        validate=validate.OneOf(ProductStatus.ALL),
        metadata={"description": "draft, active, sold_out (automatic at zero stock), archived"},
    )
    option1_name = fields.String(load_default="", validate=validate.Length(max=OPTION_MAX))
    option2_name = fields.String(load_default="", validate=validate.Length(max=OPTION_MAX))
    variants = fields.List(
        fields.Nested(VariantSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "One variant for a product without options."},
    )
    images = fields.List(fields.Nested(ImageSchema), dump_only=True)


class ProductUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=2, max=TITLE_MAX))
    description = fields.String()
    category = fields.String(metadata={"enum": list(categories.LEAF_KEYS)})
    tags = fields.List(fields.String())
    condition = fields.String(validate=validate.OneOf(Condition.ALL))
    status = fields.String(validate=validate.OneOf(ProductStatus.CHOOSABLE))
    option1_name = fields.String(validate=validate.Length(max=OPTION_MAX))
    option2_name = fields.String(validate=validate.Length(max=OPTION_MAX))


class ProductPageSchema(PageSchema):
    items = fields.List(fields.Nested(ProductSummarySchema))


class ProductListArgsSchema(PageArgsSchema):
    sort = fields.String(load_default="newest", validate=validate.OneOf(["newest", "trending"]))
    category = fields.String()


class SearchArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=validate.Length(max=200))
    category = fields.String(load_default="")
    min_price = Integer(validate=validate.Range(min=0, max=MAX_PRICE_MINOR))
    max_price = Integer(validate=validate.Range(min=0, max=MAX_PRICE_MINOR))
    condition = fields.String(load_default="", validate=validate.OneOf(["", *Condition.ALL]))
    shop = fields.String(load_default="", metadata={"description": "A shop's slug."})
    in_stock = fields.Boolean(load_default=False)
    sort = fields.String(
        load_default="",
        validate=validate.OneOf(["", "relevance", "newest", "price_asc", "price_desc"]),
        metadata={"description": "Default: relevance with a query, else newest."},
    )


class CategorySchema(Schema):
    key = fields.String()
    label = fields.String()
    children = fields.List(fields.Nested(lambda: CategorySchema()))


class DeleteOutcomeSchema(Schema):
    outcome = fields.String(metadata={"description": "deleted, or archived when it has orders"})
