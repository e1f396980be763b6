"""Marshmallow schemas of social's JSON API (and its OpenAPI document)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.api import object_id
from social.models import (
    COLLECTION_DESCRIPTION_MAX,
    COLLECTION_TITLE_MAX,
    COMMENT_MAX,
    ITEM_NOTE_MAX,
    NOTE_MAX,
    REPORT_DETAILS_MAX,
    ReportReason,
    Target,
)

# The examples of the document: Ana's speckled bowl, picked and collected.
SHARE_URL = "https://kindred.example/s/q3Vb8LmZ2xTa9KpW"
PICK_NOTE = "The bowl my porridge goes in every morning: it keeps it warm."
COMMENT = "Is the glaze food-safe?"
REPLY = {
    "id": 302,
    "body": "Yes: lead-free, and fine in the dishwasher.",
    "parent_id": 301,
    "author": {
        "id": 5,
        "handle": "ana",
        "name": "Ana Lima",
        "avatar_url": "https://kindred.example/media/avatars/5.webp",
        "url": "https://kindred.example/@ana",
    },
    "created_at": "2026-03-15T09:12:00+00:00",
    "edited_at": None,
}


class PersonSchema(Schema):
    id = fields.Integer(metadata={"example": 5})
    handle = fields.String(metadata={"example": "ana"})
    name = fields.String(metadata={"example": "Ana Lima"})
    avatar_url = fields.String(
        allow_none=True, metadata={"example": "https://kindred.example/media/avatars/5.webp"}
    )
    url = fields.String(metadata={"example": "https://kindred.example/@ana"})


class ProductBriefSchema(Schema):
    id = fields.Integer(metadata={"example": 12})
    title = fields.String(metadata={"example": "Speckled stoneware bowl"})
    price_minor = fields.Integer(metadata={"example": 2500})
    currency = fields.String(metadata={"example": "eur"})
    cover_url = fields.String(
        allow_none=True,
        metadata={"example": "https://kindred.example/media/products/12/88-large.webp"},
    )
    shop = fields.Dict(
        metadata={"example": {"id": 3, "slug": "anas-studio", "name": "Ana's studio"}}
    )
    url = fields.String(
        metadata={"example": "https://kindred.example/products/12/speckled-stoneware-bowl"}
    )


class PickSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 23})
    product_id = object_id(required=True, load_only=True, strict=True, metadata={"example": 12})
    note = fields.String(
        load_default="",
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "Plain text; any HTML is removed.", "example": PICK_NOTE},
    )
    author = fields.Nested(PersonSchema, dump_only=True)
    product = fields.Nested(ProductBriefSchema, dump_only=True)
    photo_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/media/picks/23.webp"},
    )
    like_count = fields.Integer(dump_only=True, metadata={"example": 8})
    comment_count = fields.Integer(dump_only=True, metadata={"example": 2})
    share_url = fields.String(dump_only=True, allow_none=True, metadata={"example": SHARE_URL})
    url = fields.String(dump_only=True, metadata={"example": "https://kindred.example/picks/23"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-02T07:45:00+00:00"})
    updated_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-02T07:45:00+00:00"})


class PickUpdateSchema(Schema):
    note = fields.String(
        required=True, validate=validate.Length(max=NOTE_MAX), metadata={"example": PICK_NOTE}
    )


class PickPageSchema(Schema):
    items = fields.List(fields.Nested(PickSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 24})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


class CollectionItemSchema(Schema):
    product = fields.Nested(ProductBriefSchema)
    note = fields.String(metadata={"example": "For slow breakfasts."})
    position = fields.Integer(metadata={"example": 0})
    link = fields.String(metadata={"example": "https://kindred.example/s/Lm4Xc8Rt1QwZ5NbV?p=12"})


class CollectionSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 7})
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=COLLECTION_TITLE_MAX),
        metadata={"example": "Breakfast table"},
    )
    description = fields.String(
        load_default="",
        validate=validate.Length(max=COLLECTION_DESCRIPTION_MAX),
        metadata={"example": "Things that make mornings slower."},
    )
    is_public = fields.Boolean(load_default=True, metadata={"example": True})
    owner = fields.Nested(PersonSchema, dump_only=True)
    cover_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/media/products/12/88-large.webp"},
    )
    item_count = fields.Integer(dump_only=True, metadata={"example": 6})
    like_count = fields.Integer(dump_only=True, metadata={"example": 12})
    comment_count = fields.Integer(dump_only=True, metadata={"example": 3})
    share_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/s/Lm4Xc8Rt1QwZ5NbV"},
    )
    url = fields.String(
        dump_only=True, metadata={"example": "https://kindred.example/collections/7"}
    )
    items = fields.List(fields.Nested(CollectionItemSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-02-20T19:30:00+00:00"})


class CollectionUpdateSchema(Schema):
    title = fields.String(
        validate=validate.Length(min=1, max=COLLECTION_TITLE_MAX),
        metadata={"example": "Breakfast table"},
    )
    description = fields.String(
        validate=validate.Length(max=COLLECTION_DESCRIPTION_MAX),
        metadata={"example": "Things that make mornings slower."},
    )
    is_public = fields.Boolean(metadata={"example": True})


class CollectionSummarySchema(CollectionSchema):
    """A collection in a listing, without its products (a listing's dicts have no "items",
    which would otherwise be read from the dict's own .items method and fail)."""

    class Meta:
        exclude = ("items",)


class CollectionPageSchema(PickPageSchema):
    items = fields.List(fields.Nested(CollectionSummarySchema))


class ItemAddSchema(Schema):
    product_id = object_id(required=True, strict=True, metadata={"example": 12})
    note = fields.String(
        load_default="",
        validate=validate.Length(max=ITEM_NOTE_MAX),
        metadata={"example": "For slow breakfasts."},
    )


class ItemNoteSchema(Schema):
    note = fields.String(
        required=True,
        validate=validate.Length(max=ITEM_NOTE_MAX),
        metadata={"example": "For slow breakfasts."},
    )


class ItemOrderSchema(Schema):
    product_ids = fields.List(
        object_id(strict=True), required=True, metadata={"example": [12, 15, 4]}
    )


class FeedArgsSchema(Schema):
    cursor = fields.String(load_default=None)
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class PeoplePageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class FeedItemSchema(Schema):
    kind = fields.String(
        metadata={
            "description": "pick, collection, collection_item, purchase, product, idea or "
            "idea_vote",
            "example": "pick",
        }
    )
    at = fields.DateTime(metadata={"example": "2026-03-02T07:45:00+00:00"})
    actor = fields.Nested(PersonSchema)
    pick = fields.Nested(PickSchema, allow_none=True)
    collection = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The collection (its id, title and url), for a collection's event.",
            "example": None,
        },
    )
    idea = fields.Dict(
        allow_none=True,
        metadata={
            "description": "The idea (its id, title, status, vote_count and url), for an "
            "idea's event.",
            "example": None,
        },
    )
    product = fields.Nested(ProductBriefSchema, allow_none=True)
    link = fields.String(
        allow_none=True,
        metadata={
            "description": "Follow this to reach the product: it credits the curator.",
            "example": SHARE_URL,
        },
    )


class FeedSchema(Schema):
    items = fields.List(fields.Nested(FeedItemSchema))
    next_cursor = fields.String(
        allow_none=True, metadata={"example": "MjAyNS0wMy0wMlQwNzo0NTowMHwyMw"}
    )
    suggestions = fields.List(fields.Nested(PersonSchema))
    trending_picks = fields.List(fields.Nested(PickSchema))


class FollowStateSchema(Schema):
    following = fields.Boolean(metadata={"example": True})
    followers_count = fields.Integer(metadata={"example": 128})
    following_count = fields.Integer(metadata={"example": 56})


class PeoplePageSchema(PickPageSchema):
    items = fields.List(fields.Nested(PersonSchema))


class LikeStateSchema(Schema):
    liked = fields.Boolean(metadata={"example": True})


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 301})
    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=COMMENT_MAX),
        metadata={"example": COMMENT},
    )
    parent_id = object_id(
        allow_none=True, load_default=None, strict=True, metadata={"example": None}
    )
    author = fields.Nested(PersonSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-15T08:40:00+00:00"})
    edited_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"example": None})
    replies = fields.List(
        fields.Nested(lambda: CommentSchema(exclude=("replies",))),
        dump_only=True,
        metadata={"example": [REPLY]},
    )


class CommentUpdateSchema(Schema):
    body = fields.String(
        required=True,
        validate=validate.Length(min=1, max=COMMENT_MAX),
        metadata={"example": COMMENT},
    )


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema))


class ShareRequestSchema(Schema):
    target_type = fields.String(
        required=True, validate=validate.OneOf(Target.SHAREABLE), metadata={"example": "pick"}
    )
    target_id = object_id(required=True, strict=True, metadata={"example": 23})


class ShareLinkSchema(Schema):
    code = fields.String(metadata={"example": "q3Vb8LmZ2xTa9KpW"})
    url = fields.String(metadata={"example": SHARE_URL})
    target_type = fields.String(metadata={"example": "pick"})
    target_id = fields.Integer(metadata={"example": 23})
    label = fields.String(metadata={"example": "Speckled stoneware bowl"})
    clicks = fields.Integer(metadata={"example": 40})
    add_to_carts = fields.Integer(metadata={"example": 6})
    orders = fields.Integer(metadata={"example": 3})
    sales_minor = fields.Integer(metadata={"example": 7500})
    currency = fields.String(metadata={"example": "eur"})


class ShareLinkListSchema(Schema):
    items = fields.List(fields.Nested(ShareLinkSchema))


class NotificationSchema(Schema):
    id = fields.Integer(metadata={"example": 900})
    kind = fields.String(metadata={"example": "like"})
    actor = fields.Nested(PersonSchema, allow_none=True)
    target_type = fields.String(allow_none=True, metadata={"example": "pick"})
    target_id = fields.Integer(allow_none=True, metadata={"example": 23})
    product_id = fields.Integer(
        allow_none=True,
        metadata={
            "description": "The product it is about (a sale, a saved product's news).",
            "example": 12,
        },
    )
    created_at = fields.DateTime(metadata={"example": "2026-03-14T12:30:00+00:00"})
    read = fields.Boolean(metadata={"example": False})


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer(metadata={"example": 3})
    next_before = fields.Integer(allow_none=True, metadata={"example": 880})


class NotificationArgsSchema(Schema):
    before = object_id(load_default=None)


class SettingsSchema(Schema):
    share_purchases = fields.Boolean(metadata={"example": True})
    email_follows = fields.Boolean(metadata={"example": True})
    email_reactions = fields.Boolean(metadata={"example": False})
    email_sales = fields.Boolean(metadata={"example": True})
    email_saved = fields.Boolean(metadata={"example": True})
    email_messages = fields.Boolean(metadata={"example": True})


class ReportSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 44})
    target_type = fields.String(
        required=True, validate=validate.OneOf(Target.REPORTABLE), metadata={"example": "comment"}
    )
    target_id = object_id(required=True, strict=True, metadata={"example": 301})
    reason = fields.String(
        required=True, validate=validate.OneOf(ReportReason.ALL), metadata={"example": "spam"}
    )
    details = fields.String(
        load_default="",
        validate=validate.Length(max=REPORT_DETAILS_MAX),
        metadata={"example": "The same link to an outside shop under every pick."},
    )


class PhotoFileSchema(Schema):
    # Documented for OpenAPI; the view reads the file from request.files.
    image = fields.Raw(metadata={"type": "string", "format": "binary"})
