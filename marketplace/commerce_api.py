"""/api/v1: the cart, checkout, and orders for buyers and sellers."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint, abort

from app import api
from app.accounts.services import current_person
from app.rules import NotFound
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders
from marketplace import shops as shop_services
from marketplace.commerce_schemas import (
    AddToCartSchema,
    CancelSchema,
    CartSchema,
    CheckoutSchema,
    CheckoutStartSchema,
    ListQuerySchema,
    OrderPageSchema,
    OrderSchema,
    QuantitySchema,
    RefundInputSchema,
    RefundSchema,
    ReviewInputSchema,
    ReviewSchema,
    ShipSchema,
)
from marketplace.pagination import paginate_select
from marketplace.payments import PaymentError

blueprint = Blueprint("commerce_api", __name__, description="Cart, checkout and orders")


def cart_view_dict(cart_view: carts.CartView) -> dict[str, Any]:
    return {
        "currency": cart_view.currency,
        "shops": [
            {
                "shop_id": group.shop.id,
                "shop_name": group.shop.name,
                "subtotal_minor": group.subtotal_minor,
                "bundle_minor": group.discount.bundle_minor,
                "coupon_minor": group.discount.coupon_minor,
                "discount_minor": group.discount_minor,
                "coupon": group.coupon,
                "bundle": group.bundle,
                "bundle_items_to_go": group.bundle_gap,
                "shipping_minor": group.shipping_minor,
                "problems": group.problems,
                "lines": [
                    {
                        "id": lv.line.id,
                        "product_id": lv.product.id,
                        "variant_id": lv.variant.id,
                        "title": lv.product.title,
                        "variant_label": lv.variant.label,
                        "quantity": lv.line.quantity,
                        "unit_price_minor": lv.unit_price_minor,
                        "price_when_added_minor": lv.line.unit_price_seen_minor,
                        "total_minor": lv.total_minor,
                        "discount_minor": lv.discount_minor,
                        "gross_minor": lv.gross_minor,
                        "warnings": lv.warnings,
                    }
                    for lv in group.lines
                ],
            }
            for group in cart_view.groups
        ],
        "subtotal_minor": cart_view.subtotal_minor,
        "discount_minor": cart_view.discount_minor,
        "shipping_minor": cart_view.shipping_minor,
        "total_minor": cart_view.total_minor,
        "can_check_out": cart_view.can_check_out,
        "problems": cart_view.problems,
    }


def _my_cart() -> dict[str, Any]:
    return cart_view_dict(carts.view(carts.cart_for(current_person())))


@blueprint.route("/cart")
class CartResource(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CartSchema)
    def get(self) -> dict[str, Any]:
        """Your cart, grouped by shop, with shipping and warnings."""
        return _my_cart()


@blueprint.route("/cart/lines")
class CartLines(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(AddToCartSchema)
    @blueprint.response(201, CartSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Put a variant in your cart (adds to the quantity when it is there already)."""
        line = carts.add(current_person(), data["variant_id"], data["quantity"])
        # The cart the line went into (already loaded: no second look-up).
        return cart_view_dict(carts.view(line.cart))


@blueprint.route("/cart/lines/<int:line_id>")
class CartLineItem(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(QuantitySchema)
    @blueprint.response(200, CartSchema)
    def patch(self, data: dict[str, Any], line_id: int) -> dict[str, Any]:
        """Change a line's quantity (0 removes it)."""
        carts.set_quantity(current_person(), line_id, data["quantity"])
        return _my_cart()

    @blueprint.response(200, CartSchema)
    def delete(self, line_id: int) -> dict[str, Any]:
        """Remove a line from your cart."""
        carts.remove(current_person(), line_id)
        return _my_cart()


@blueprint.route("/checkouts")
class Checkouts(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(CheckoutStartSchema)
    @blueprint.response(201, CheckoutSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Start paying for your whole cart: reserves the stock and returns the payment page URL."""
        try:
            return checkouts.pay(current_person(), data["shipping_address"])
        except PaymentError:
            abort(
                503,
                message="The payment service could not be reached. Nothing was charged; try again.",
            )


@blueprint.route("/checkouts/<public_id>")
class CheckoutItem(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CheckoutSchema)
    def get(self, public_id: str) -> Any:
        """A checkout's status; `order_ids` once paid."""
        return checkouts.for_buyer(current_person(), public_id)


@blueprint.route("/orders")
class MyOrders(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ListQuerySchema, location="query")
    @blueprint.response(200, OrderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your orders as a buyer, newest first."""
        page = paginate_select(orders.buyer_orders(current_person()), query["page"], 20)
        return page.to_dict(list(page.items))


@blueprint.route("/orders/<int:order_id>")
class MyOrder(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, OrderSchema)
    def get(self, order_id: int) -> Any:
        """One order (as its buyer or its seller)."""
        return orders.order_for_either(current_person(), order_id)


@blueprint.route("/orders/<int:order_id>/confirm-delivery")
class ConfirmDelivery(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, OrderSchema)
    def post(self, order_id: int) -> Any:
        """As the buyer: the parcel arrived."""
        return orders.confirm_delivery(current_person(), order_id)


@blueprint.route("/orders/<int:order_id>/reviews")
class Reviews(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ReviewInputSchema)
    @blueprint.response(201, ReviewSchema)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """As the buyer of a delivered order: rate a line (posting again updates it)."""
        buyer = current_person()
        order = orders.order_for_buyer(buyer, order_id)
        if data["order_line_id"] not in {line.id for line in order.lines}:
            raise NotFound("That line is not part of this order.")
        return orders.review(buyer, data["order_line_id"], data["rating"], data["body"])


@blueprint.route("/shop/orders")
class ShopOrders(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ListQuerySchema, location="query")
    @blueprint.response(200, OrderPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your shop's orders, newest first, optionally by status."""
        shop = shop_services.shop_of(current_person())
        if shop is None:
            raise NotFound("You have no shop.")
        page = paginate_select(orders.shop_orders(shop, query["status"]), query["page"], 20)
        return page.to_dict(list(page.items))


@blueprint.route("/shop/orders/<int:order_id>/ship")
class Ship(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ShipSchema)
    @blueprint.response(200, OrderSchema)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """Mark an order as shipped, with the carrier and tracking number."""
        return orders.mark_shipped(
            current_person(), order_id, data["carrier"], data["tracking_number"]
        )


@blueprint.route("/shop/orders/<int:order_id>/deliver")
class Deliver(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, OrderSchema)
    def post(self, order_id: int) -> Any:
        """Mark a shipped order as delivered."""
        return orders.mark_delivered(current_person(), order_id)


def _send(refund: Any) -> Any:
    # Unanswered, it stays pending and the sweep retries it with the same key.
    orders.deliver_refund(refund)
    return refund


@blueprint.route("/shop/orders/<int:order_id>/cancel")
class Cancel(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(CancelSchema)
    @blueprint.response(200, RefundSchema)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """Cancel an order that has not shipped: full refund, items back in stock."""
        return _send(orders.cancel(current_person(), order_id, data["reason"]))


@blueprint.route("/shop/orders/<int:order_id>/refunds")
class Refunds(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(RefundInputSchema)
    @blueprint.response(201, RefundSchema)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """Refund amounts per line and of the shipping; never more than what is left."""
        seller = current_person()
        order = orders.order_for_seller(seller, order_id, lock=True)
        request = orders.RefundRequest(
            lines={item["order_line_id"]: item["amount_minor"] for item in data["lines"]},
            shipping_minor=data["shipping_minor"],
            restock=data["restock"],
            reason=data["reason"],
        )
        return _send(orders.request_refund(seller, order, request))


def register() -> None:
    api.register(blueprint, "")
