"""Pages for buying and selling: the cart, checkout, the buyer's orders, the seller's orders."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms.fields.choices import SelectChoice

from app import uow
from app.accounts.forms import ConfirmForm
from app.accounts.models import User
from app.accounts.services import current_person
from app.forms import amount_error, apply_violation, render_form
from app.i18n import parse_amount
from app.rules import RuleViolation
from app.security import safe_next
from app.web import viewer
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders
from marketplace import shops as shop_services
from marketplace.commerce_forms import (
    AddressForm,
    AddToCartForm,
    CancelOrderForm,
    QuantityForm,
    RefundForm,
    ReviewForm,
    ShipForm,
)
from marketplace.order_models import CheckoutStatus, OrderStatus, Review
from marketplace.pagination import clamp_page, paginate_select
from marketplace.payments import PaymentError

shopping = Blueprint("shopping", __name__, template_folder="templates")
seller_orders = Blueprint(
    "seller_orders", __name__, url_prefix="/account/shop/orders", template_folder="templates"
)

ORDERS_PER_PAGE = 20


# --- cart -------------------------------------------------------------------------------------


@shopping.get("/cart")
def cart() -> Any:
    cart_view = carts.view(carts.cart_for(viewer()))
    return render_template(
        "marketplace/cart/cart.html",
        cart=cart_view,
        quantity_form=QuantityForm(formdata=None),
        confirm_form=ConfirmForm(),
        price_changes=carts.price_changes(cart_view),
    )


@shopping.post("/cart/add")
def add_to_cart() -> Response:
    # (The CSRF token was checked for every POST before this view runs.)
    back = safe_next(request.form.get("next"), url_for("shopping.cart"))
    form = AddToCartForm()
    if not form.validate() or form.variant_id.data is None:
        flash(_("Choose an option and a quantity."), "error")
        return redirect(back)
    try:
        quantity = 1 if form.quantity.data is None else form.quantity.data
        line = carts.add(viewer(), form.variant_id.data, quantity)
    except RuleViolation as violation:
        flash(violation.message, "error")
        uow.rollback()
        return redirect(back)
    flash(_("Added to your cart: %(title)s.", title=line.product.title), "success")
    return redirect(url_for("shopping.cart"))


@shopping.post("/cart/lines/<int:line_id>")
def update_line(line_id: int) -> Response:
    form = QuantityForm()
    if not form.validate_on_submit() or form.quantity.data is None:
        flash(_("Choose a quantity between 0 and 99."), "error")
        return redirect(url_for("shopping.cart"))
    try:
        carts.set_quantity(viewer(), line_id, form.quantity.data)
    except RuleViolation as violation:
        uow.rollback()
        flash(violation.message, "error")
    return redirect(url_for("shopping.cart"))


@shopping.post("/cart/lines/<int:line_id>/remove")
def remove_line(line_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        carts.remove(viewer(), line_id)
        flash(_("Removed from your cart."), "info")
    return redirect(url_for("shopping.cart"))


@shopping.post("/cart/accept-prices")
def accept_prices() -> Response:
    if ConfirmForm().validate_on_submit():
        carts.accept_current_prices(viewer())
    return redirect(url_for("shopping.cart"))


# --- checkout ---------------------------------------------------------------------------------


def _address_form(buyer: User) -> AddressForm:
    form = AddressForm()
    names = checkouts.country_names(_locale())
    form.country.choices = [SelectChoice("", _("Choose a country"))] + [
        SelectChoice(code, name) for code, name in sorted(names.items(), key=lambda item: item[1])
    ]
    if request.method == "GET":
        saved = checkouts.saved_address(buyer)
        if saved:
            form.process(data=saved)
    return form


def _locale() -> str:
    from flask_babel import get_locale

    return str(get_locale() or "en")


def _checkout_page(form: AddressForm, buyer: User) -> Any:
    cart_view = carts.view(carts.cart_for(buyer))
    return render_form(
        "marketplace/checkout/checkout.html",
        form,
        cart=cart_view,
        split=checkouts.summary(cart_view, buyer),
        price_changes=carts.price_changes(cart_view),
    )


@shopping.route("/checkout", methods=["GET", "POST"])
@login_required
def checkout() -> Any:
    buyer = current_person()
    form = _address_form(buyer)
    if request.method == "GET":
        cart_view = carts.view(carts.cart_for(buyer))
        if cart_view.is_empty:
            # The cart page says it is empty; a flash would say it a second time.
            return redirect(url_for("shopping.cart"))
        return _checkout_page(form, buyer)
    if not form.validate_on_submit():
        return _checkout_page(form, buyer)
    try:
        checkout = checkouts.pay(buyer, form.data)
    except RuleViolation as violation:
        uow.rollback()
        apply_violation(form, violation)
        return _checkout_page(form, buyer)
    except PaymentError as error:
        current_app.logger.warning("could not open the payment page: %s", error.message)
        flash(
            _(
                "We could not reach the payment service. Nothing was charged; "
                "please try again in a moment."
            ),
            "error",
        )
        return redirect(url_for("shopping.cart"))
    return redirect(checkouts.payment_url(checkout) or url_for("shopping.cart"), code=303)


@shopping.get("/checkout/<public_id>/done")
@login_required
def checkout_done(public_id: str) -> Any:
    checkout = checkouts.for_buyer(current_person(), public_id)
    return render_template("marketplace/checkout/done.html", checkout=checkout)


@shopping.get("/checkout/<public_id>/cancelled")
@login_required
def checkout_cancelled(public_id: str) -> Any:
    checkout = checkouts.for_buyer(current_person(), public_id)
    if checkout.status == CheckoutStatus.PAID:
        return redirect(url_for("shopping.checkout_done", public_id=public_id))
    return render_template(
        "marketplace/checkout/cancelled.html",
        checkout=checkout,
        payment_url=checkouts.payment_url(checkout),
        confirm_form=ConfirmForm(),
    )


@shopping.post("/checkout/<public_id>/cancel")
@login_required
def cancel_checkout(public_id: str) -> Response:
    checkout = checkouts.for_buyer(current_person(), public_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if checkout.status == CheckoutStatus.OPEN:
        uow.checkpoint()
        try:
            closed = checkouts.close_payment(checkout)
        except PaymentError:
            flash(
                _(
                    "We could not reach the payment service. Your items stay reserved "
                    "until the payment page expires."
                ),
                "error",
            )
            return redirect(url_for("shopping.cart"))
        if not closed:
            return redirect(url_for("shopping.checkout_done", public_id=public_id))
        checkouts.expire(public_id=public_id, status=CheckoutStatus.CANCELLED)
    flash(_("Checkout cancelled. Your cart is as you left it."), "info")
    return redirect(url_for("shopping.cart"))


# --- the buyer's orders -----------------------------------------------------------------------


@shopping.get("/orders")
@login_required
def my_orders() -> Any:
    page = paginate_select(
        orders.buyer_orders(current_person()), clamp_page(request.args.get("page")), ORDERS_PER_PAGE
    )
    return render_template("marketplace/orders/list.html", page=page)


@shopping.get("/orders/<int:order_id>")
@login_required
def my_order(order_id: int) -> Any:
    order = orders.order_for_buyer(current_person(), order_id)
    reviews = {r.order_line_id: r for r in order_reviews(order)}
    return render_template(
        "marketplace/orders/buyer.html",
        order=order,
        reviews=reviews,
        confirm_form=ConfirmForm(),
        review_form=ReviewForm(formdata=None),
        can_review=order.status in orders.DELIVERED_STATES,
    )


def order_reviews(order: Any) -> list[Review]:
    from sqlalchemy import select

    from app.extensions import db

    ids = [line.id for line in order.lines]
    return (
        list(db.session.scalars(select(Review).where(Review.order_line_id.in_(ids)))) if ids else []
    )


@shopping.post("/orders/<int:order_id>/confirm-delivery")
@login_required
def confirm_delivery(order_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        orders.confirm_delivery(current_person(), order_id)
        flash(_("Thank you! The seller is told the parcel arrived."), "success")
    return redirect(url_for("shopping.my_order", order_id=order_id))


@shopping.post("/orders/<int:order_id>/review")
@login_required
def review(order_id: int) -> Response:
    buyer = current_person()
    orders.order_for_buyer(buyer, order_id)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            orders.review(
                buyer,
                int(form.order_line_id.data or 0),
                int(form.rating.data or 0),
                form.body.data or "",
            )
        except RuleViolation as violation:
            uow.rollback()
            flash(violation.message, "error")
        else:
            flash(_("Thank you for your review."), "success")
    else:
        flash(_("Choose a rating from 1 to 5 stars."), "error")
    return redirect(url_for("shopping.my_order", order_id=order_id))


# --- the seller's orders ----------------------------------------------------------------------


def _own_shop() -> Any:
    shop = shop_services.shop_of(current_person())
    if shop is None:
        flash(_("Open a shop first."), "info")
        abort(redirect(url_for("seller.open_shop")))
    return shop


@seller_orders.get("/")
@login_required
def list_orders() -> Any:
    shop = _own_shop()
    status = request.args.get("status") or None
    page = paginate_select(
        orders.shop_orders(shop, status), clamp_page(request.args.get("page")), ORDERS_PER_PAGE
    )
    return render_template(
        "marketplace/orders/seller_list.html",
        page=page,
        shop=shop,
        status=status,
        statuses=OrderStatus.ALL,
    )


def _seller_page(
    order_id: int,
    *,
    ship_form: ShipForm | None = None,
    refund_form: RefundForm | None = None,
    cancel_form: CancelOrderForm | None = None,
    status: int = 200,
    line_errors: dict[str, list[str]] | None = None,
) -> Any:
    order = orders.order_for_seller(current_person(), order_id)
    from marketplace.payments import PreviewLine, split_preview

    split = split_preview(
        [
            PreviewLine(
                f"order-line-{line.id}",
                order.shop_id,
                line.product_id,
                None,
                line.gross_minor,
                # The split fixed at checkout (its curator, its rates), not today's terms.
                checkout_line_id=line.checkout_line_id,
                refunded_minor=line.refunded_minor,
            )
            for line in order.lines
        ],
        order.buyer_id,
    )
    return render_template(
        "marketplace/orders/seller.html",
        order=order,
        ship_form=ship_form or ShipForm(formdata=None),
        refund_form=refund_form or RefundForm(formdata=None),
        cancel_form=cancel_form or CancelOrderForm(formdata=None),
        confirm_form=ConfirmForm(),
        line_errors=line_errors or {},
        split=split,
    ), status


@seller_orders.get("/<int:order_id>")
@login_required
def show(order_id: int) -> Any:
    return _seller_page(order_id)


@seller_orders.post("/<int:order_id>/ship")
@login_required
def ship(order_id: int) -> Any:
    form = ShipForm()
    if form.validate_on_submit():
        try:
            orders.mark_shipped(
                current_person(), order_id, form.carrier.data or "", form.tracking_number.data or ""
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Marked as shipped. The buyer has been told."), "success")
            return redirect(url_for("seller_orders.show", order_id=order_id))
    return _seller_page(order_id, ship_form=form, status=422)


@seller_orders.post("/<int:order_id>/deliver")
@login_required
def deliver(order_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        orders.mark_delivered(current_person(), order_id)
        flash(_("Marked as delivered."), "success")
    return redirect(url_for("seller_orders.show", order_id=order_id))


def _send_refund(refund: Any) -> None:
    if not orders.deliver_refund(refund):
        flash(
            _("The payment service did not answer; the refund will be retried automatically."),
            "warning",
        )
        return
    if refund.status == "failed":
        flash(_("The refund failed: %(why)s", why=refund.failure_message or ""), "error")
    else:
        flash(_("Refunded %(amount)s.", amount=_money(refund.amount_minor)), "success")


def _money(amount: int) -> str:
    from app.i18n import money

    return money(amount)


@seller_orders.post("/<int:order_id>/cancel")
@login_required
def cancel(order_id: int) -> Any:
    form = CancelOrderForm()
    if not form.validate_on_submit():
        return _seller_page(order_id, cancel_form=form, status=422)
    try:
        refund = orders.cancel(current_person(), order_id, form.reason.data or "")
    except RuleViolation as violation:
        if violation.status in (403, 404):
            raise
        uow.rollback()
        flash(violation.message, "error")
        return redirect(url_for("seller_orders.show", order_id=order_id))
    _send_refund(refund)
    flash(_("The order is cancelled and the items are back in stock."), "info")
    return redirect(url_for("seller_orders.show", order_id=order_id))


@seller_orders.post("/<int:order_id>/refund")
@login_required
def refund(order_id: int) -> Any:
    seller = current_person()
    order = orders.order_for_seller(seller, order_id, lock=True)
    form = RefundForm()
    if not form.validate_on_submit():
        return _seller_page(order_id, refund_form=form, status=422)
    request_ = orders.RefundRequest(restock=bool(form.restock.data), reason=form.reason.data or "")
    errors: dict[str, list[str]] = {}
    for line in order.lines:
        raw = request.form.get(f"line-{line.id}", "").strip()
        if raw:
            amount = parse_amount(raw)
            if amount is None:
                errors[f"line-{line.id}"] = [amount_error()]
            else:
                request_.lines[line.id] = amount
    raw_shipping = (form.shipping.data or "").strip()
    if raw_shipping:
        shipping = parse_amount(raw_shipping)
        if shipping is None:
            form.shipping.errors = [amount_error()]
        else:
            request_.shipping_minor = shipping
    if errors or form.shipping.errors:
        return _seller_page(order_id, refund_form=form, status=422, line_errors=errors)
    try:
        refund = orders.request_refund(seller, order, request_)
    except RuleViolation as violation:
        uow.rollback()
        apply_violation(form, violation)
        return _seller_page(order_id, refund_form=form, status=422, line_errors=violation.errors)
    _send_refund(refund)
    return redirect(url_for("seller_orders.show", order_id=order_id))
