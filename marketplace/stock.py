"""Stock changes outside the seller's edits: what the cart and checkout call.

Each change locks the product's row first (SELECT … FOR UPDATE on PostgreSQL; SQLite's write
transactions are already serial), so two buyers of the last item cannot both get it and the
product's total and sold-out state always match its variants.
"""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.rules import Conflict, NotFound, RuleViolation
from marketplace import products as product_services
from marketplace.models import Product, ProductVariant


def _locked(variant_id: int) -> tuple[Product, ProductVariant]:
    product_id = db.session.scalar(
        select(ProductVariant.product_id).where(ProductVariant.id == variant_id)
    )
    if product_id is None:
        raise NotFound(_("There is no such variant."))
    product = db.session.scalar(
        select(Product)
        .where(Product.id == product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert product is not None
    # Re-read the variants under the lock: what the session held may be stale.
    variants = list(
        db.session.scalars(
            select(ProductVariant)
            .where(ProductVariant.product_id == product_id)
            .execution_options(populate_existing=True)
        )
    )
    variant = next(v for v in variants if v.id == variant_id)
    return product, variant


def available(variant_id: int) -> int:
    """How many of this variant can be bought now (0 when not listed)."""
    row = db.session.execute(
        select(ProductVariant.stock, Product.listed)
        .join(Product, Product.id == ProductVariant.product_id)
        .where(ProductVariant.id == variant_id)
    ).first()
    if row is None:
        return 0
    stock, listed = row
    return stock if listed else 0


def take_stock(variant_id: int, quantity: int) -> ProductVariant:
    """Take `quantity` items of a variant (an order is placed): all of them or none.

    Raises Conflict when fewer are left, or when the product is not on sale.
    """
    if quantity <= 0:
        raise RuleViolation(_("Choose a quantity of at least one."), field="quantity")
    product, variant = _locked(variant_id)
    if not product.listed:
        raise Conflict(_("“%(title)s” is not on sale right now.", title=product.title))
    if variant.stock < quantity:
        raise Conflict(
            _(
                "Only %(n)d of “%(title)s” left.",
                n=variant.stock,
                title=product.title,
            )
            if variant.stock
            else _("“%(title)s” is sold out.", title=product.title)
        )
    variant.stock -= quantity
    product_services.refresh(product)
    return variant


def return_stock(variant_id: int, quantity: int) -> ProductVariant:
    """Put items back (an order is cancelled or refunded before shipping)."""
    if quantity <= 0:
        raise RuleViolation(_("Choose a quantity of at least one."), field="quantity")
    product, variant = _locked(variant_id)
    before = product_services.offer_of(product)
    variant.stock += quantity
    product_services.refresh(product)
    product_services.announce(product, before, None)
    return variant
