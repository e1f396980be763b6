"""Pages of a shop's deals: the buyer's coupon code in the cart; the seller's bundle
discount and coupons (under the shop's settings, /account/shop/deals)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from werkzeug.wrappers import Response

from app import uow
from app.accounts.services import current_person
from app.forms import apply_violation, render_form
from app.models import utcnow
from app.rules import RuleViolation
from app.web import viewer
from marketplace import shops
from marketplace.deals import cart_codes, coupons
from marketplace.deals.forms import (
    BundleForm,
    CouponCodeForm,
    CouponForm,
    CouponStatusForm,
    RemoveCouponForm,
)
from marketplace.deals.models import CouponStatus

deals = Blueprint("deals", __name__, template_folder="templates")


# --- the buyer: a code in the cart ------------------------------------------------------------


@deals.post("/cart/coupon")
def apply_coupon() -> Response:
    form = CouponCodeForm()
    if not form.validate() or form.shop_id.data is None:
        flash(_("Enter a coupon code."), "error")
        return redirect(url_for("shopping.cart"))
    try:
        row = cart_codes.apply(viewer(), form.shop_id.data, form.code.data or "")
    except RuleViolation as violation:
        uow.rollback()
        flash(violation.message, "error")
    else:
        flash(_("Coupon “%(code)s” added.", code=row.code), "success")
    return redirect(url_for("shopping.cart") + f"#shop-{form.shop_id.data}")


@deals.post("/cart/coupon/remove")
def remove_coupon() -> Response:
    form = RemoveCouponForm()
    if (
        form.validate()
        and form.shop_id.data is not None
        and cart_codes.remove(viewer(), form.shop_id.data)
    ):
        flash(_("Coupon removed."), "info")
    return redirect(url_for("shopping.cart"))


# --- the seller: the bundle and coupons -------------------------------------------------------


# The service names fields as the API does; the forms name some of them otherwise.
FORM_FIELDS = {
    "percent_bps": "percent",
    "amount_minor": "amount",
    "min_order_minor": "min_order",
    "expires_at": "expires_on",
}


def _show(form: Any, violation: RuleViolation) -> None:
    violation.errors = {FORM_FIELDS.get(k, k): v for k, v in violation.errors.items()}
    apply_violation(form, violation)


def _expiry(day: Any) -> datetime | None:
    """A coupon's last day, as the moment it ends (midnight after it, UTC)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def _page(bundle_form: BundleForm, coupon_form: CouponForm) -> Any:
    shop = shops.own_shop(current_person())
    found = coupons.coupons_of(shop)
    return render_form(
        "deals/seller.html",
        coupon_form if coupon_form.errors else bundle_form,
        shop=shop,
        bundle=coupons.bundle_of(shop),
        bundle_form=bundle_form,
        coupon_form=coupon_form,
        coupons=found,
        counts=coupons.use_counts([c.id for c in found]),
        status_form=CouponStatusForm(formdata=None),
        now=utcnow(),
    )


def _bundle_form(formdata: Any = None) -> BundleForm:
    form = BundleForm(formdata=formdata, prefix="bundle")
    if formdata is None:
        bundle = coupons.bundle_of(shops.own_shop(current_person()))
        form.min_items.data = bundle.min_items if bundle else 2
        form.percent.data = bundle.percent_bps if bundle else None
    return form


@deals.get("/account/shop/deals")
@login_required
def seller_page() -> Any:
    if shops.shop_of(current_person()) is None:
        return redirect(url_for("seller.open_shop"))
    return _page(_bundle_form(), CouponForm(formdata=None))


@deals.post("/account/shop/deals/bundle")
@login_required
def set_bundle() -> Any:
    form = _bundle_form(request.form)
    if form.validate_on_submit():
        try:
            bundle = coupons.set_bundle(
                shops.own_shop(current_person()), form.min_items.data, form.percent.data
            )
        except RuleViolation as violation:
            uow.rollback()
            _show(form, violation)
        else:
            flash(
                _("Your bundle discount is saved.") if bundle else _("No bundle discount now."),
                "success",
            )
            return redirect(url_for("deals.seller_page"))
    return _page(form, CouponForm(formdata=None))


@deals.post("/account/shop/deals/coupons")
@login_required
def new_coupon() -> Any:
    form = CouponForm()
    if form.validate_on_submit():
        try:
            coupon = coupons.create_coupon(
                shops.own_shop(current_person()),
                coupons.CouponInput(
                    code=form.code.data or "",
                    kind=form.kind.data or "",
                    percent_bps=form.percent.data,
                    amount_minor=form.amount.data,
                    min_order_minor=form.min_order.data,
                    expires_at=_expiry(form.expires_on.data),
                    max_uses=form.max_uses.data,
                    once_per_buyer=bool(form.once_per_buyer.data),
                ),
            )
        except RuleViolation as violation:
            uow.rollback()
            _show(form, violation)
        else:
            flash(_("Coupon “%(code)s” created.", code=coupon.code), "success")
            return redirect(url_for("deals.seller_page"))
    return _page(_bundle_form(), form)


@deals.post("/account/shop/deals/coupons/<int:coupon_id>/status")
@login_required
def coupon_status(coupon_id: int) -> Response:
    form = CouponStatusForm()
    shop = shops.own_shop(current_person())
    if form.validate_on_submit():
        try:
            coupon = coupons.set_status(shop, coupon_id, form.status.data or "")
        except RuleViolation as violation:
            uow.rollback()
            flash(violation.message, "error")
        else:
            flash(
                _("“%(code)s” is paused.", code=coupon.code)
                if coupon.status == CouponStatus.PAUSED
                else _("“%(code)s” is active again.", code=coupon.code),
                "success",
            )
    else:
        coupons.coupon_of(shop, coupon_id)  # someone else's: a 404
    return redirect(url_for("deals.seller_page"))


@deals.get("/account/shop/deals/coupons/<int:coupon_id>")
@login_required
def coupon_uses(coupon_id: int) -> Any:
    shop = shops.own_shop(current_person())
    coupon = coupons.coupon_of(shop, coupon_id)
    return render_template(
        "deals/uses.html",
        shop=shop,
        coupon=coupon,
        uses=coupons.uses_with_orders(coupon),
        counts=coupons.use_counts([coupon.id])[coupon.id],
    )
