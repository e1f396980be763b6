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


class PersonSchema(Schema):
    id = fields.Integer()
    handle = fields.String()
    name = fields.String()
    avatar_url = fields.String(allow_none=True)
    url = fields.String()


class ProductBriefSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    price_minor = fields.Integer()
    currency = fields.String()
    cover_url = fields.String(allow_none=True)
    shop = fields.Dict()
    url = fields.String()


class PickSchema(Schema):
    id = fields.Integer(dump_only=True)
    product_id = object_id(required=True, load_only=True, strict=True)
    note = fields.String(
        load_default="",
        validate=validate.Length(max=NOTE_MAX),
        metadata={"description": "Plain text; any HTML is removed."},
    )
    author = fields.Nested(PersonSchema, dump_only=True)
    product = fields.Nested(ProductBriefSchema, dump_only=True)
    photo_url = fields.String(dump_only=True, allow_none=True)
    like_count = fields.Integer(dump_only=True)
    comment_count = fields.Integer(dump_only=True)
    share_url = fields.String(dump_only=True, allow_none=True)
    url = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class PickUpdateSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(max=NOTE_MAX))


class PickPageSchema(Schema):
    items = fields.List(fields.Nested(PickSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    has_next = fields.Boolean()
    has_prev = fields.Boolean()


class CollectionItemSchema(Schema):
    product = fields.Nested(ProductBriefSchema)
    note = fields.String()
    position = fields.Integer()
    link = fields.String()


class CollectionSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=COLLECTION_TITLE_MAX))
    description = fields.String(
        load_default="", validate=validate.Length(max=COLLECTION_DESCRIPTION_MAX)
    )
    is_public = fields.Boolean(load_default=True)
    owner = fields.Nested(PersonSchema, dump_only=True)
    cover_url = fields.String(dump_only=True, allow_none=True)
    item_count = fields.Integer(dump_only=True)
    like_count = fields.Integer(dump_only=True)
    comment_count = fields.Integer(dump_only=True)
    share_url = fields.String(dump_only=True, allow_none=True)
    url = fields.String(dump_only=True)
    items = fields.List(fields.Nested(CollectionItemSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class CollectionUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=COLLECTION_TITLE_MAX))
    description = fields.String(validate=validate.Length(max=COLLECTION_DESCRIPTION_MAX))
    is_public = fields.Boolean()


class CollectionSummarySchema(CollectionSchema):
    """A collection in a listing, without its products (a listing's dicts have no "items",
    which would otherwise be read from the dict's own .items method and fail)."""

    class Meta:
        exclude = ("items",)


class CollectionPageSchema(PickPageSchema):
    items = fields.List(fields.Nested(CollectionSummarySchema))


class ItemAddSchema(Schema):
    product_id = object_id(required=True, strict=True)
    note = fields.String(load_default="", validate=validate.Length(max=ITEM_NOTE_MAX))


class ItemNoteSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(max=ITEM_NOTE_MAX))


class ItemOrderSchema(Schema):
    product_ids = fields.List(object_id(strict=True), required=True)


class FeedArgsSchema(Schema):
    cursor = fields.String(load_default=None)
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=50))


class PeoplePageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=24, validate=validate.Range(min=1, max=100))


class FeedItemSchema(Schema):
    kind = fields.String(
        metadata={
            "description": "pick, collection, collection_item, purchase, product, idea or idea_vote"
        }
    )
    at = fields.DateTime()
    actor = fields.Nested(PersonSchema)
    pick = fields.Nested(PickSchema, allow_none=True)
    collection = fields.Dict(allow_none=True)
    idea = fields.Dict(allow_none=True)
    product = fields.Nested(ProductBriefSchema, allow_none=True)
    link = fields.String(
        allow_none=True,
        metadata={"description": "Follow this to reach the product: it credits the curator."},
    )


class FeedSchema(Schema):
    items = fields.List(fields.Nested(FeedItemSchema))
    next_cursor = fields.String(allow_none=True)
    suggestions = fields.List(fields.Nested(PersonSchema))
    trending_picks = fields.List(fields.Nested(PickSchema))


class FollowStateSchema(Schema):
    following = fields.Boolean()
    followers_count = fields.Integer()
    following_count = fields.Integer()


class PeoplePageSchema(PickPageSchema):
    items = fields.List(fields.Nested(PersonSchema))


class LikeStateSchema(Schema):
    liked = fields.Boolean()


class CommentSchema(Schema):
    id = fields.Integer(dump_only=True)
    body = fields.String(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))
    parent_id = object_id(allow_none=True, load_default=None, strict=True)
    author = fields.Nested(PersonSchema, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    edited_at = fields.DateTime(dump_only=True, allow_none=True)
    replies = fields.List(
        fields.Nested(lambda: CommentSchema(exclude=("replies",))), dump_only=True
    )


class CommentUpdateSchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))


class CommentListSchema(Schema):
    items = fields.List(fields.Nested(CommentSchema))


class ShareRequestSchema(Schema):
    target_type = fields.String(required=True, validate=validate.OneOf(Target.SHAREABLE))
    target_id = object_id(required=True, strict=True)


class ShareLinkSchema(Schema):
    code = fields.String()
    url = fields.String()
    target_type = fields.String()
    target_id = fields.Integer()
    label = fields.String()
    clicks = fields.Integer()
    add_to_carts = fields.Integer()
    orders = fields.Integer()
    sales_minor = fields.Integer()
    currency = fields.String()


class ShareLinkListSchema(Schema):
    items = fields.List(fields.Nested(ShareLinkSchema))


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    actor = fields.Nested(PersonSchema, allow_none=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    read = fields.Boolean()


class NotificationListSchema(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer()
    next_before = fields.Integer(allow_none=True)


class NotificationArgsSchema(Schema):
    before = object_id(load_default=None)


class SettingsSchema(Schema):
    share_purchases = fields.Boolean()
    email_follows = fields.Boolean()
    email_reactions = fields.Boolean()
    email_sales = fields.Boolean()


class ReportSchema(Schema):
    id = fields.Integer(dump_only=True)
    target_type = fields.String(required=True, validate=validate.OneOf(Target.REPORTABLE))
    target_id = object_id(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.OneOf(ReportReason.ALL))
    details = fields.String(load_default="", validate=validate.Length(max=REPORT_DETAILS_MAX))


class PhotoFileSchema(Schema):
    # Documented for OpenAPI; the view reads the file from request.files.
    image = fields.Raw(metadata={"type": "string", "format": "binary"})
