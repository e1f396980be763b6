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

# The examples of the document (the docs page and the examples phase of schemathesis): one
# shop, Ana's studio, and its speckled bowl, throughout.
SHOP_URL = "https://kindred.example/shops/anas-studio"
PRODUCT_URL = "https://kindred.example/products/12/speckled-stoneware-bowl"
COVER_URL = "https://kindred.example/media/products/12/88-large.webp"


def price(example: int) -> dict[str, Any]:
    """A price's keywords, with its example."""
    return {**PRICE, "metadata": {**PRICE["metadata"], "example": example}}


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class PageSchema(Schema):
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 24})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


SHOP_NAME: dict[str, Any] = {"example": "Ana's studio"}


class ShopSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 3})
    slug = fields.String(
        validate=validate.Length(max=SHOP_SLUG_MAX), metadata={"example": "anas-studio"}
    )
    name = fields.String(
        required=True, validate=validate.Length(min=2, max=SHOP_NAME_MAX), metadata=SHOP_NAME
    )
    description = fields.String(
        metadata={"description": "Markdown.", "example": "Stoneware thrown by hand in Porto."}
    )
    description_html = fields.String(
        dump_only=True,
        metadata={
            "description": "Sanitised HTML.",
            "example": "<p>Stoneware thrown by hand in Porto.</p>",
        },
    )
    return_policy = fields.String(
        metadata={"description": "Markdown.", "example": "Returns within **14 days**, unused."}
    )
    return_policy_html = fields.String(
        dump_only=True,
        metadata={"example": "<p>Returns within <strong>14 days</strong>, unused.</p>"},
    )
    shipping_flat_minor = fields.Integer(
        validate=validate.Range(min=0, max=MAX_PRICE_MINOR), **price(450)
    )
    free_shipping_over_minor = Integer(allow_none=True, **price(6000))
    processing_days = fields.Integer(
        validate=validate.Range(min=1, max=60), strict=True, metadata={"example": 3}
    )
    return_window_days = fields.Integer(
        validate=validate.Range(min=0, max=365),
        strict=True,
        metadata={
            "description": "Days after delivery a buyer may ask for a return; 0: no returns.",
            "example": 30,
        },
    )
    curator_commission_bps = Integer(
        strict=True,
        validate=validate.Range(min=0, max=10_000),
        metadata={
            "description": "What a curator earns on a sale through their pick (1% = 100).",
            "example": 500,
        },
    )
    status = fields.String(
        dump_only=True, metadata={"description": "open or paused", "example": "open"}
    )
    owner_handle = fields.String(dump_only=True, metadata={"example": "ana"})
    logo_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/media/shops/3/logo.webp"},
    )
    banner_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/media/shops/3/banner.webp"},
    )
    url = fields.String(dump_only=True, metadata={"example": SHOP_URL})
    currency = fields.String(dump_only=True, metadata={"example": "eur"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-01-20T09:30:00+00:00"})


class ShopUpdateSchema(ShopSchema):
    name = fields.String(validate=validate.Length(min=2, max=SHOP_NAME_MAX), metadata=SHOP_NAME)
    status = fields.String(
        validate=validate.OneOf(["open", "paused"]), metadata={"example": "open"}
    )


class ShopPageSchema(PageSchema):
    items = fields.List(fields.Nested(ShopSchema))


# What the services accept, documented (they check it themselves, with their own messages).
VARIANT_PRICE: dict[str, Any] = {
    "strict": True,
    "metadata": {**PRICE["metadata"], "minimum": 1, "maximum": MAX_PRICE_MINOR, "example": 2500},
}
STOCK: dict[str, Any] = {
    "strict": True,
    "validate": validate.Range(max=MAX_STOCK),
    "metadata": {"minimum": 0, "example": 4},
}


class VariantSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 31})
    sku = fields.String(validate=validate.Length(max=SKU_MAX), metadata={"example": "BOWL-S-WH"})
    option1 = fields.String(validate=validate.Length(max=OPTION_MAX), metadata={"example": "Small"})
    option2 = fields.String(
        validate=validate.Length(max=OPTION_MAX), metadata={"example": "Speckled white"}
    )
    label = fields.String(dump_only=True, metadata={"example": "Small / Speckled white"})
    price_minor = fields.Integer(required=True, **VARIANT_PRICE)
    stock = fields.Integer(load_default=0, **STOCK)


class VariantUpdateSchema(VariantSchema):
    price_minor = fields.Integer(**VARIANT_PRICE)
    stock = fields.Integer(**STOCK)


ALT_TEXT: dict[str, Any] = {"example": "The speckled bowl from above, on a linen cloth"}


class ImageSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 88})
    position = fields.Integer(dump_only=True, metadata={"example": 0})
    alt_text = fields.String(validate=validate.Length(max=ALT_MAX), metadata=ALT_TEXT)
    url = fields.String(
        dump_only=True, metadata={"example": "https://kindred.example/media/products/12/88.webp"}
    )
    large_url = fields.String(dump_only=True, metadata={"example": COVER_URL})
    thumb_url = fields.String(
        dump_only=True,
        metadata={"example": "https://kindred.example/media/products/12/88-thumb.webp"},
    )
    width = fields.Integer(dump_only=True, metadata={"example": 1600})
    height = fields.Integer(dump_only=True, metadata={"example": 1200})


class ImageUploadSchema(Schema):
    alt_text = fields.String(
        validate=validate.Length(max=ALT_MAX), load_default="", metadata=ALT_TEXT
    )


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
    image_ids = fields.List(object_id(), required=True, metadata={"example": [89, 88]})


class ShopRefSchema(Schema):
    id = fields.Integer(metadata={"example": 3})
    slug = fields.String(metadata={"example": "anas-studio"})
    name = fields.String(metadata=SHOP_NAME)


TITLE: dict[str, Any] = {"example": "Speckled stoneware bowl"}
CATEGORY: dict[str, Any] = {"example": "home/ceramics"}
CONDITION: dict[str, Any] = {"example": Condition.NEW}
STATUS: dict[str, Any] = {"example": ProductStatus.ACTIVE}
DESCRIPTION: dict[str, Any] = {
    "description": "Markdown.",
    "example": "Thrown on the wheel, glazed in **speckled white**. Holds 500 ml.",
}
TAGS: dict[str, Any] = {"example": ["stoneware", "bowl", "handmade"]}
OPTION1_NAME: dict[str, Any] = {"example": "Size"}
OPTION2_NAME: dict[str, Any] = {"example": "Glaze"}


class ProductSummarySchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 12})
    title = fields.String(metadata=TITLE)
    slug = fields.String(dump_only=True, metadata={"example": "speckled-stoneware-bowl"})
    category = fields.String(metadata=CATEGORY)
    condition = fields.String(metadata=CONDITION)
    status = fields.String(metadata=STATUS)
    price_minor = fields.Integer(
        dump_only=True,
        metadata={"description": "The lowest price of its variants.", "example": 2500},
    )
    currency = fields.String(dump_only=True, metadata={"example": "eur"})
    stock_total = fields.Integer(dump_only=True, metadata={"example": 9})
    in_stock = fields.Boolean(dump_only=True, metadata={"example": True})
    cover_url = fields.String(dump_only=True, allow_none=True, metadata={"example": COVER_URL})
    popularity = fields.Integer(dump_only=True, metadata={"example": 42})
    shop = fields.Nested(ShopRefSchema, dump_only=True)
    url = fields.String(dump_only=True, metadata={"example": PRODUCT_URL})
    published_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"example": "2026-02-02T14:00:00+00:00"}
    )


class ProductSchema(ProductSummarySchema):
    title = fields.String(
        required=True, validate=validate.Length(min=2, max=TITLE_MAX), metadata=TITLE
    )
    description = fields.String(load_default="", metadata=DESCRIPTION)
    description_html = fields.String(
        dump_only=True,
        metadata={
            "example": "<p>Thrown on the wheel, glazed in <strong>speckled white</strong>. "
            "Holds 500 ml.</p>"
        },
    )
    category = fields.String(
        required=True,
        metadata={
            "description": "A leaf category key.",
            "enum": list(categories.LEAF_KEYS),
            **CATEGORY,
        },
    )
    tags = fields.List(fields.String(), load_default=list, metadata=TAGS)
    condition = fields.String(
        load_default=Condition.NEW, validate=validate.OneOf(Condition.ALL), metadata=CONDITION
    )
    status = fields.String(
        load_default=ProductStatus.DRAFT,
        validate=validate.OneOf(ProductStatus.ALL),
        metadata={
            "description": "draft, active, sold_out (automatic at zero stock), archived",
            **STATUS,
        },
    )
    option1_name = fields.String(
        load_default="", validate=validate.Length(max=OPTION_MAX), metadata=OPTION1_NAME
    )
    option2_name = fields.String(
        load_default="", validate=validate.Length(max=OPTION_MAX), metadata=OPTION2_NAME
    )
    variants = fields.List(
        fields.Nested(VariantSchema),
        required=True,
        validate=validate.Length(min=1),
        metadata={"description": "One variant for a product without options."},
    )
    images = fields.List(fields.Nested(ImageSchema), dump_only=True)


class ProductUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=2, max=TITLE_MAX), metadata=TITLE)
    description = fields.String(metadata=DESCRIPTION)
    category = fields.String(metadata={"enum": list(categories.LEAF_KEYS), **CATEGORY})
    tags = fields.List(fields.String(), metadata=TAGS)
    condition = fields.String(validate=validate.OneOf(Condition.ALL), metadata=CONDITION)
    status = fields.String(validate=validate.OneOf(ProductStatus.CHOOSABLE), metadata=STATUS)
    option1_name = fields.String(validate=validate.Length(max=OPTION_MAX), metadata=OPTION1_NAME)
    option2_name = fields.String(validate=validate.Length(max=OPTION_MAX), metadata=OPTION2_NAME)


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
    exact = fields.Boolean(
        load_default=False,
        metadata={
            "description": "Search the words as typed: when they find nothing, a correction "
            "is suggested but its results are not given instead."
        },
    )


class SearchPageSchema(ProductPageSchema):
    total = fields.Integer(
        metadata={
            "description": "How many products match, counted up to `total` when `more`.",
            "example": 24,
        }
    )
    more = fields.Boolean(
        metadata={"description": "At least `total` products match.", "example": False}
    )
    suggestion = fields.String(
        metadata={
            "description": "The query's words corrected, when they find nothing and some "
            "are not in the catalogue ('' otherwise).",
            "example": "stoneware mug",
        }
    )
    corrected = fields.Boolean(
        metadata={
            "description": "The items are what `suggestion` finds, the query's words having "
            "found nothing.",
            "example": False,
        }
    )


class CategorySchema(Schema):
    key = fields.String(metadata={"example": "home"})
    label = fields.String(metadata={"example": "Home"})
    children = fields.List(
        fields.Nested(lambda: CategorySchema()),
        metadata={"example": [{"key": "home/ceramics", "label": "Ceramics", "children": []}]},
    )


class DeleteOutcomeSchema(Schema):
    outcome = fields.String(
        metadata={"description": "deleted, or archived when it has orders", "example": "deleted"}
    )
