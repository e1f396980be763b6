"""/api/v1/me/saved: what the person saved (liked), as on their Saved page."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import api
from app.accounts.services import current_person
from marketplace.models import Product
from social import saved
from social.api import collection_view, pick_view, product_brief
from social.schemas import (
    CollectionSummarySchema,
    PickSchema,
    ProductBriefSchema,
)

blueprint = Blueprint("saved_api", __name__, description="What you saved")


class SavedArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=500))
    per_page = fields.Integer(load_default=saved.PAGE_SIZE, validate=validate.Range(min=1, max=100))


class SavedProductSchema(ProductBriefSchema):
    stock_total = fields.Integer(metadata={"example": 2})
    in_stock = fields.Boolean(metadata={"example": True})
    has_options = fields.Boolean(
        metadata={
            "description": "It has variants: the price is the lowest of them.",
            "example": False,
        }
    )


class SavedItemSchema(Schema):
    kind = fields.String(metadata={"enum": ["product", "pick", "collection"], "example": "product"})
    saved_at = fields.DateTime(metadata={"example": "2026-03-14T12:30:00+00:00"})
    product = fields.Nested(SavedProductSchema, allow_none=True)
    pick = fields.Nested(PickSchema, allow_none=True)
    collection = fields.Nested(CollectionSummarySchema, allow_none=True)


class SavedPageSchema(Schema):
    items = fields.List(fields.Nested(SavedItemSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 24})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


def saved_product_view(product: Product) -> dict[str, Any]:
    return {
        **product_brief(product),
        "stock_total": product.stock_total,
        "in_stock": product.in_stock,
        "has_options": product.has_options,
    }


def item_view(item: saved.SavedItem) -> dict[str, Any]:
    return {
        "kind": item.kind,
        "saved_at": item.saved_at,
        "product": saved_product_view(item.product) if item.product is not None else None,
        "pick": pick_view(item.pick) if item.pick is not None else None,
        "collection": collection_view(item.collection) if item.collection is not None else None,
    }


@blueprint.route("/me/saved")
class Saved(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(SavedArgsSchema, location="query")
    @blueprint.response(200, SavedPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """What you saved: products first, then picks and collections, newest saved first.
        Unsave with DELETE on the like (/api/v1/likes/...)."""
        page = saved.saved_page(current_person(), args["page"], args["per_page"])
        return page.to_dict([item_view(item) for item in page.items])


def register() -> None:
    api.register(blueprint, "")
