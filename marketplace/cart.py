"""The cart: what a shopper means to buy, from any number of shops.

A logged-in shopper's cart belongs to their account; a guest's is found by a token kept in
their session, and is folded into their account's cart when they log in. The cart never
reserves stock (the checkout does); it checks quantities against the stock and shows, per
shop, the lines, the shipping and what changed since a line was added.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, session
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from app.rules import NotFound, RuleViolation
from marketplace import signals
from marketplace.deals import coupons
from marketplace.deals.coupons import CouponCheck
from marketplace.deals.models import ShopBundle
from marketplace.deals.pricing import Adjustment, ShopDiscount, shop_discount
from marketplace.models import Product, ProductStatus, ProductVariant, Shop
from marketplace.order_models import Cart, CartLine

GUEST_CART_KEY = "guest_cart"
MAX_QUANTITY = 99


# --- finding the cart ----------------------------------------------------------------------


def _find(condition: Any, lock: bool) -> Cart | None:
    statement = select(Cart).where(condition)
    return db.session.scalar(for_update(statement) if lock else statement)


def _user_cart(user: User, create: bool, lock: bool = False) -> Cart | None:
    cart = _find(Cart.user_id == user.id, lock)
    if cart is None and create:
        cart = Cart(user_id=user.id)
        try:
            with db.session.begin_nested():
                db.session.add(cart)
        except IntegrityError:
            # Another request (a second tab, the same API token twice) made this person's
            # cart a moment ago: use that one.
            cart = _find(Cart.user_id == user.id, lock)
    return cart


def _guest_cart(create: bool, lock: bool = False) -> Cart | None:
    token = session.get(GUEST_CART_KEY)
    cart = _find(Cart.guest_token == token, lock) if token else None
    if cart is None and create:
        token = secrets.token_urlsafe(24)
        cart = Cart(guest_token=token)
        db.session.add(cart)
        db.session.flush()
        session[GUEST_CART_KEY] = token
    return cart


def cart_for(user: User | None, *, create: bool = False, lock: bool = False) -> Cart | None:
    """The shopper's cart (a guest's when `user` is None); None when there is none yet.

    With `lock`, the cart's row stays locked until the transaction ends (read and locked in
    one query); a cart created here is this transaction's own until it commits."""
    if user is not None:
        return _user_cart(user, create, lock)
    return _guest_cart(create, lock)


def _line(cart: Cart, line_id: int) -> CartLine:
    line = db.session.get(CartLine, line_id)
    if line is None or line.cart_id != cart.id:
        raise NotFound(_("That item is not in your cart."))
    return line


def _touch(cart: Cart) -> None:
    cart.updated_at = utcnow()


# --- changing the cart ---------------------------------------------------------------------


def _check_quantity(quantity: int) -> None:
    if quantity < 1:
        raise RuleViolation(_("Choose a quantity of at least one."), field="quantity")
    if quantity > MAX_QUANTITY:
        raise RuleViolation(
            _("You can buy at most %(n)d of one item at a time.", n=MAX_QUANTITY), field="quantity"
        )


def _sellable(variant_id: int) -> tuple[ProductVariant, Product, Shop]:
    # The variant, its product and its shop in one query.
    variant = db.session.get(
        ProductVariant,
        variant_id,
        options=[joinedload(ProductVariant.product).joinedload(Product.shop)],
    )
    if variant is None:
        raise NotFound(_("There is no such item."))
    product = variant.product
    shop = product.shop
    if not shop.is_open:
        raise RuleViolation(
            _("%(shop)s is not selling right now.", shop=shop.name), field="variant_id", status=409
        )
    if product.status not in (ProductStatus.ACTIVE, ProductStatus.SOLD_OUT) or not product.listed:
        raise RuleViolation(
            _("“%(title)s” is not for sale.", title=product.title), field="variant_id", status=409
        )
    return variant, product, shop


def _stock_error(product: Product, variant: ProductVariant) -> RuleViolation:
    if variant.stock == 0:
        return RuleViolation(
            _("“%(title)s” is sold out.", title=product.title), field="quantity", status=409
        )
    return RuleViolation(
        _("Only %(n)d of “%(title)s” left.", n=variant.stock, title=product.title),
        field="quantity",
        status=409,
    )


def own_shop_error() -> RuleViolation:
    return RuleViolation(
        _("This is your own shop: you cannot buy from it."), field="variant_id", status=409
    )


def add(user: User | None, variant_id: int, quantity: int = 1) -> CartLine:
    """Put a variant in the shopper's cart (or add to the quantity already there)."""
    _check_quantity(quantity)
    variant, product, shop = _sellable(variant_id)
    if user is not None and shop.owner_id == user.id:
        # A self-purchase would raise the shop's sales and rating with the seller's own money.
        raise own_shop_error()
    # Two adds at once to the same cart (a double click, two tabs) wait for each other.
    cart = cart_for(user, create=True, lock=True)
    assert cart is not None
    line = db.session.scalar(
        select(CartLine).where(CartLine.cart_id == cart.id, CartLine.variant_id == variant.id)
    )
    wanted = quantity + (line.quantity if line else 0)
    if wanted > min(variant.stock, MAX_QUANTITY):
        raise (
            _stock_error(product, variant)
            if wanted > variant.stock
            else RuleViolation(
                _("You can buy at most %(n)d of one item at a time.", n=MAX_QUANTITY),
                field="quantity",
            )
        )
    if line is None:
        line = CartLine(
            cart_id=cart.id,
            product_id=product.id,
            variant_id=variant.id,
            quantity=quantity,
            unit_price_seen_minor=variant.price_minor,
        )
        try:
            with db.session.begin_nested():
                db.session.add(line)
        except IntegrityError:
            # Another request put the same variant in this cart a moment ago: add to it.
            line = db.session.scalars(
                select(CartLine).where(
                    CartLine.cart_id == cart.id, CartLine.variant_id == variant.id
                )
            ).one()
            if line.quantity + quantity > min(variant.stock, MAX_QUANTITY):
                raise _stock_error(product, variant) from None
            line.quantity += quantity
    else:
        line.quantity = wanted
        line.updated_at = utcnow()
    # Adding again from the product page means the shopper saw today's price.
    line.unit_price_seen_minor = variant.price_minor
    _touch(cart)
    db.session.flush()
    # The line comes back with its cart loaded: a caller showing the cart next needs no query.
    set_committed_value(line, "cart", cart)
    signals.cart_line_added.send(current_app._get_current_object(), line=line, user=user)  # type: ignore[attr-defined]
    return line


def set_quantity(user: User | None, line_id: int, quantity: int) -> CartLine | None:
    """Change a line's quantity; zero removes it."""
    cart = cart_for(user)
    if cart is None:
        raise NotFound(_("That item is not in your cart."))
    line = _line(cart, line_id)
    if quantity == 0:
        remove(user, line_id)
        return None
    _check_quantity(quantity)
    if quantity > line.variant.stock:
        raise _stock_error(line.product, line.variant)
    line.quantity = quantity
    line.updated_at = utcnow()
    _touch(cart)
    return line


def remove(user: User | None, line_id: int) -> None:
    cart = cart_for(user)
    if cart is None:
        raise NotFound(_("That item is not in your cart."))
    line = _line(cart, line_id)
    cart.lines.remove(line)
    db.session.delete(line)
    _touch(cart)


def accept_current_prices(user: User | None) -> None:
    """The shopper has seen the new prices: stop warning about them."""
    cart = cart_for(user)
    if cart is None:
        return
    for line in cart.lines:
        line.unit_price_seen_minor = line.variant.price_minor


def empty(cart: Cart) -> None:
    for line in list(cart.lines):
        db.session.delete(line)
    cart.lines.clear()
    _touch(cart)


def merge_guest_cart(user: User, guest_token: str | None) -> int:
    """Fold a guest cart into the user's cart at log-in; returns how many lines moved."""
    if not guest_token:
        return 0
    guest = db.session.scalar(select(Cart).where(Cart.guest_token == guest_token))
    if guest is None or not guest.lines:
        if guest is not None:
            db.session.delete(guest)
        return 0
    cart = _user_cart(user, create=True)
    assert cart is not None
    existing = {line.variant_id: line for line in cart.lines}
    moved = 0
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    for line in list(guest.lines):
        target = existing.get(line.variant_id)
        if target is None:
            guest.lines.remove(line)
            line.cart_id = cart.id
            cart.lines.append(line)
        else:
            target.quantity = min(
                target.quantity + line.quantity, max(line.variant.stock, 1), MAX_QUANTITY
            )
            target.unit_price_seen_minor = min(
                target.unit_price_seen_minor, line.unit_price_seen_minor
            )
            db.session.flush()
            signals.cart_line_merged.send(app, source_line_id=line.id, target_line_id=target.id)
            guest.lines.remove(line)
            db.session.delete(line)
        moved += 1
    db.session.flush()
    # The coupon codes entered as a guest come along, where the cart has none for that shop.
    coupons.move_codes(guest.id, cart.id)
    db.session.delete(guest)
    _touch(cart)
    return moved


# --- reading the cart ----------------------------------------------------------------------


@dataclass
class LineView:
    line: CartLine
    product: Product
    variant: ProductVariant
    unit_price_minor: int
    warnings: list[str] = field(default_factory=list)
    blocking: bool = False  # the line cannot be bought as it is
    # What the shop's deals take off this line (see marketplace.deals.pricing).
    adjustments: list[Adjustment] = field(default_factory=list)

    @property
    def total_minor(self) -> int:
        """The line's price: unit price times quantity, before any discount."""
        return self.unit_price_minor * self.line.quantity

    @property
    def discount_minor(self) -> int:
        return sum(a.amount_minor for a in self.adjustments)

    @property
    def gross_minor(self) -> int:
        """What the buyer pays for the line: its price less its discounts."""
        return self.total_minor - self.discount_minor


@dataclass
class ShopGroup:
    shop: Shop
    lines: list[LineView]
    subtotal_minor: int  # the items' price, before any discount
    shipping_minor: int
    problems: list[str] = field(default_factory=list)
    bundle: ShopBundle | None = None
    coupon: CouponCheck | None = None
    discount: ShopDiscount = field(default_factory=ShopDiscount)

    @property
    def item_count(self) -> int:
        return sum(lv.line.quantity for lv in self.lines)

    @property
    def discount_minor(self) -> int:
        return self.discount.total_minor

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor + self.shipping_minor

    @property
    def bundle_gap(self) -> int | None:
        """How many more items from this shop unlock its bundle discount (None: no bundle,
        or it applies already)."""
        if self.bundle is None or self.item_count >= self.bundle.min_items:
            return None
        return self.bundle.min_items - self.item_count

    @property
    def free_shipping_gap_minor(self) -> int | None:
        """How much more buys free shipping from this shop (None when it does not apply)."""
        threshold = self.shop.free_shipping_over_minor
        if threshold is None or self.shipping_minor == 0:
            return None
        return max(threshold - self.subtotal_minor, 0)


@dataclass
class CartView:
    cart: Cart | None
    groups: list[ShopGroup]
    currency: str

    @property
    def count(self) -> int:
        return sum(lv.line.quantity for g in self.groups for lv in g.lines)

    @property
    def subtotal_minor(self) -> int:
        return sum(g.subtotal_minor for g in self.groups)

    @property
    def shipping_minor(self) -> int:
        return sum(g.shipping_minor for g in self.groups)

    @property
    def discount_minor(self) -> int:
        return sum(g.discount_minor for g in self.groups)

    @property
    def total_minor(self) -> int:
        return self.subtotal_minor - self.discount_minor + self.shipping_minor

    @property
    def problems(self) -> list[str]:
        return [p for g in self.groups for p in g.problems] + [
            w for g in self.groups for lv in g.lines if lv.blocking for w in lv.warnings
        ]

    @property
    def can_check_out(self) -> bool:
        return bool(self.groups) and not self.problems

    @property
    def is_empty(self) -> bool:
        return not self.groups


def shipping_for(shop: Shop, subtotal_minor: int) -> int:
    threshold = shop.free_shipping_over_minor
    if threshold is not None and subtotal_minor >= threshold:
        return 0
    return shop.shipping_flat_minor


def view(cart: Cart | None) -> CartView:
    """The cart grouped by shop with prices, shipping and warnings, in a constant number of
    queries whatever its size."""
    currency = current_app.config["CURRENCY"]
    if cart is None:
        return CartView(None, [], currency)
    # One query: a line's variant, product and shop are each one row (many-to-one joins).
    lines = db.session.scalars(
        select(CartLine)
        .where(CartLine.cart_id == cart.id)
        .options(
            joinedload(CartLine.variant),
            joinedload(CartLine.product).joinedload(Product.shop),
        )
        .order_by(CartLine.id)
    ).all()
    groups: dict[int, ShopGroup] = {}
    for line in lines:
        product, variant = line.product, line.variant
        shop = product.shop
        group = groups.get(shop.id)
        if group is None:
            group = groups[shop.id] = ShopGroup(shop, [], 0, 0)
            if not shop.is_open:
                group.problems.append(
                    _("%(shop)s is paused: remove its items to check out.", shop=shop.name)
                )
            if cart.user_id is not None and shop.owner_id == cart.user_id:
                # Items put in as a guest before signing in as the shop's owner.
                group.problems.append(
                    _("%(shop)s is your own shop: remove its items to check out.", shop=shop.name)
                )
        item = LineView(line, product, variant, variant.price_minor)
        if product.status == ProductStatus.ARCHIVED or (not product.listed and shop.is_open):
            item.warnings.append(_("“%(title)s” is no longer for sale.", title=product.title))
            item.blocking = True
        elif variant.stock == 0:
            item.warnings.append(_("“%(title)s” is sold out.", title=product.title))
            item.blocking = True
        elif variant.stock < line.quantity:
            item.warnings.append(
                _("Only %(n)d left: lower the quantity to check out.", n=variant.stock)
            )
            item.blocking = True
        if variant.price_minor != line.unit_price_seen_minor:
            item.warnings.append(_("The price changed since you added it."))
        group.lines.append(item)
        group.subtotal_minor += item.total_minor
    for group in groups.values():
        # Free shipping is reached on the items' price before discounts.
        group.shipping_minor = shipping_for(group.shop, group.subtotal_minor)
    _apply_deals(cart, list(groups.values()))
    return CartView(cart, list(groups.values()), currency)


def _apply_deals(cart: Cart, groups: list[ShopGroup]) -> None:
    """Each shop's bundle and the coupon entered for it, on its lines (two queries)."""
    if not groups:
        return
    bundles = {
        b.shop_id: b
        for b in db.session.scalars(
            select(ShopBundle).where(ShopBundle.shop_id.in_([g.shop.id for g in groups]))
        )
    }
    codes = coupons.cart_codes(cart.id) if cart.id is not None else {}
    for group in groups:
        group.bundle = bundles.get(group.shop.id)
        bundle_bps = (
            group.bundle.percent_bps
            if group.bundle is not None and group.item_count >= group.bundle.min_items
            else 0
        )
        coupon_bps = coupon_amount = 0
        code = codes.get(group.shop.id)
        if code:
            group.coupon = coupons.check(
                coupons.find_coupon(code, group.shop.id),
                code,
                group.shop,
                group.subtotal_minor,
                cart_id=cart.id,
                buyer_id=cart.user_id,
            )
            if group.coupon.applies and group.coupon.coupon is not None:
                coupon_bps = group.coupon.coupon.percent_bps or 0
                coupon_amount = group.coupon.coupon.amount_minor or 0
            elif group.coupon.blocking and group.coupon.problem:
                group.problems.append(
                    _("%(problem)s Remove it to check out.", problem=group.coupon.problem)
                )
        group.discount = shop_discount(
            [lv.total_minor for lv in group.lines],
            bundle_bps=bundle_bps,
            coupon_bps=coupon_bps,
            coupon_amount_minor=coupon_amount,
            coupon_code=code or "",
        )
        for index, lv in enumerate(group.lines):
            lv.adjustments = group.discount.line_adjustments[index]


def price_changes(cart_view: CartView) -> list[LineView]:
    return [
        lv
        for g in cart_view.groups
        for lv in g.lines
        if lv.unit_price_minor != lv.line.unit_price_seen_minor
    ]


def count_items_query(user: User | None) -> Any:
    """SQL for the number of items in the cart (a scalar subquery, for the navigation badge);
    None for a guest without a cart."""
    from sqlalchemy import func

    if user is not None:
        condition = Cart.user_id == user.id
    else:
        token = session.get(GUEST_CART_KEY)
        if not token:
            return None
        condition = Cart.guest_token == token
    return (
        select(func.coalesce(func.sum(CartLine.quantity), 0))
        .join(Cart)
        .where(condition)
        .scalar_subquery()
    )


def count_items(user: User | None) -> int:
    """The number of items in the cart (one query)."""
    query = count_items_query(user)
    return int(db.session.scalar(select(query)) or 0) if query is not None else 0
