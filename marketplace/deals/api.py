"""/api/v1: a coupon code in the buyer's cart; the seller's bundle discount and coupons."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from app import api
from app.accounts.services import current_person
from marketplace import cart as carts
from marketplace import shops
from marketplace.commerce_api import cart_view_dict
from marketplace.commerce_schemas import CartSchema
from marketplace.deals import cart_codes, coupons
from marketplace.deals.schemas import (
    BundleSchema,
    CouponCodeInputSchema,
    CouponSchema,
    CouponStatusSchema,
    CouponUseSchema,
    ShopBundleSchema,
)

blueprint = Blueprint("deals_api", __name__, description="Bundle discounts and coupons")

NO_BUNDLE = {"min_items": None, "percent_bps": None}


def _my_cart() -> dict[str, Any]:
    return cart_view_dict(carts.view(carts.cart_for(current_person())))


@blueprint.route("/cart/coupons/<int:shop_id>")
class CartCoupon(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(CouponCodeInputSchema)
    @blueprint.response(200, CartSchema)
    def put(self, data: dict[str, Any], shop_id: int) -> dict[str, Any]:
        """Enter a coupon code for one shop of your cart (replaces that shop's code). An
        unknown, paused, expired, used-up or other shop's code is a 422 with the reason."""
        cart_codes.apply(current_person(), shop_id, data["code"])
        return _my_cart()

    @blueprint.response(200, CartSchema)
    def delete(self, shop_id: int) -> dict[str, Any]:
        """Take the coupon code off this shop of your cart."""
        cart_codes.remove(current_person(), shop_id)
        return _my_cart()


@blueprint.route("/shop/bundle")
class Bundle(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ShopBundleSchema)
    def get(self) -> Any:
        """Your shop's bundle discount (nulls when there is none)."""
        return coupons.bundle_of(shops.own_shop(current_person())) or NO_BUNDLE

    @blueprint.arguments(BundleSchema)
    @blueprint.response(200, ShopBundleSchema)
    def put(self, data: dict[str, Any]) -> Any:
        """Set "percent_bps off min_items or more items in one checkout"; 0 turns it off."""
        shop = shops.own_shop(current_person())
        return coupons.set_bundle(shop, data["min_items"], data["percent_bps"]) or NO_BUNDLE


@blueprint.route("/shop/coupons")
class Coupons(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CouponSchema(many=True))
    def get(self) -> Any:
        """Your shop's coupons, newest first, with their uses."""
        return coupons.coupons_of(shops.own_shop(current_person()))

    @blueprint.arguments(CouponSchema)
    @blueprint.response(201, CouponSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a coupon: a percentage (percent_bps) or an amount (amount_minor) off."""
        return coupons.create_coupon(shops.own_shop(current_person()), coupons.CouponInput(**data))


@blueprint.route("/shop/coupons/<int:coupon_id>")
class CouponItem(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CouponSchema)
    def get(self, coupon_id: int) -> Any:
        """One of your coupons."""
        return coupons.coupon_of(shops.own_shop(current_person()), coupon_id)

    @blueprint.arguments(CouponStatusSchema)
    @blueprint.response(200, CouponSchema)
    def patch(self, data: dict[str, Any], coupon_id: int) -> Any:
        """Pause or resume a coupon."""
        return coupons.set_status(shops.own_shop(current_person()), coupon_id, data["status"])


@blueprint.route("/shop/coupons/<int:coupon_id>/uses")
class CouponUses(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CouponUseSchema(many=True))
    def get(self, coupon_id: int) -> Any:
        """The paid checkouts that used this coupon, newest first, with the order."""
        coupon = coupons.coupon_of(shops.own_shop(current_person()), coupon_id)
        return coupons.uses_with_orders(coupon)


def register() -> None:
    api.register(blueprint, "")
