"""Shops: open, edit, pause and reopen one; the curator commission bounds."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app, g
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select, update

from app import media
from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, NotFound, RuleViolation
from marketplace import search
from marketplace.hooks import catalogue_hooks
from marketplace.models import (
    POLICY_MAX,
    SHOP_NAME_MAX,
    SHOP_SLUG_MAX,
    Product,
    ProductStatus,
    Shop,
    ShopStatus,
)
from marketplace.rules import MAX_PRICE_MINOR, Problems, check_length, not_yours
from marketplace.text import render_markdown, slugify

SLUG_RE = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{1,{SHOP_SLUG_MAX - 2}}})[a-z0-9]$")
RESERVED_SLUGS = frozenset({"new", "edit", "open", "admin", "api", "kindred", "search"})
MAX_PROCESSING_DAYS = 60
RETURN_WINDOW_MAX = 365
LOGO_SIZES = (256, 96)
BANNER_SIZES = (1600,)


@dataclass(frozen=True)
class CommissionBounds:
    min_bps: int
    max_bps: int
    default_bps: int


def commission_bounds() -> CommissionBounds:
    """The range a shop may set its curator commission in, and the default.

    Read from configuration on every call, so the platform (payouts' admin) can change them
    without a restart by writing these keys.
    """
    config = current_app.config
    low = int(config.get("CURATOR_COMMISSION_MIN_BPS", 0))
    high = int(config.get("CURATOR_COMMISSION_MAX_BPS", 3000))
    default = int(config.get("CURATOR_COMMISSION_DEFAULT_BPS", 1000))
    return CommissionBounds(low, high, min(max(default, low), high))


@dataclass
class ShopDetails:
    name: str
    slug: str = ""
    description: str = ""
    return_policy: str = ""
    shipping_flat_minor: int | None = 0
    free_shipping_over_minor: int | None = None
    processing_days: int | None = 3
    curator_commission_bps: int | None = None
    # Days after delivery a buyer may ask for a return; 0: no returns; None: unchanged (30
    # for a new shop, the column's default).
    return_window_days: int | None = None


@dataclass
class ShopImages:
    logo: bytes | None = None
    banner: bytes | None = None
    remove_logo: bool = False
    remove_banner: bool = False


def shop_of(user: User | None) -> Shop | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return db.session.scalar(select(Shop).where(Shop.owner_id == user.id))


def has_shop() -> bool:
    """Whether the person signed in has a shop (asked once per request and person)."""
    # The account menu is drawn on every account page; ask the database once per request,
    # for whoever is the user (a shared page is rendered for a signed-in nobody first).
    if not current_user.is_authenticated:
        return False
    known: dict[int, bool] = g.setdefault("has_shop", {})
    if current_user.id not in known:
        known[current_user.id] = shop_of(current_user) is not None
    return known[current_user.id]


def own_shop(user: User) -> Shop:
    shop = shop_of(user)
    if shop is None:
        raise NotFound(_("You have no shop yet."))
    return shop


def _check_details(details: ShopDetails, shop: Shop | None) -> tuple[str, str, int]:
    """Check everything at once; returns the clean name, slug and commission."""
    problems = Problems()
    name = (details.name or "").strip()
    check_length(problems, "name", name, minimum=2, maximum=SHOP_NAME_MAX)
    slug = (details.slug or "").strip().lower() or slugify(name, SHOP_SLUG_MAX)
    if not SLUG_RE.match(slug) or "--" in slug:
        problems.add(
            "slug",
            _(
                "A shop address has 3 to %(max)d characters: lower-case letters, digits and "
                "single hyphens inside.",
                max=SHOP_SLUG_MAX,
            ),
        )
    elif slug in RESERVED_SLUGS:
        problems.add("slug", _("That address is reserved. Please choose another."))
    else:
        taken = db.session.scalar(select(Shop.id).where(Shop.slug == slug))
        if taken is not None and (shop is None or taken != shop.id):
            problems.add("slug", _("That shop address is taken. Please choose another."))
    check_length(problems, "description", details.description or "", maximum=POLICY_MAX)
    check_length(problems, "return_policy", details.return_policy or "", maximum=POLICY_MAX)
    window = details.return_window_days
    if window is not None and (window < 0 or window > RETURN_WINDOW_MAX):
        problems.add(
            "return_window_days",
            _("Enter 0 (no returns) to %(max)d days.", max=RETURN_WINDOW_MAX),
        )
    flat = details.shipping_flat_minor
    if flat is None or flat < 0 or flat > MAX_PRICE_MINOR:
        problems.add("shipping_flat_minor", _("Enter a shipping rate of zero or more."))
    free_over = details.free_shipping_over_minor
    if free_over is not None and (free_over <= 0 or free_over > MAX_PRICE_MINOR):
        problems.add(
            "free_shipping_over_minor",
            _("Enter an amount above zero, or leave it empty for no free shipping."),
        )
    days = details.processing_days
    if days is None or not 1 <= days <= MAX_PROCESSING_DAYS:
        problems.add(
            "processing_days",
            _("Enter a processing time from 1 to %(max)d days.", max=MAX_PROCESSING_DAYS),
        )
    bounds = commission_bounds()
    commission = details.curator_commission_bps
    if commission is None:
        commission = shop.curator_commission_bps if shop else bounds.default_bps
    if not bounds.min_bps <= commission <= bounds.max_bps:
        problems.add(
            "curator_commission_bps",
            _(
                "Choose a curator commission from %(min)s%% to %(max)s%%.",
                min=_percent(bounds.min_bps),
                max=_percent(bounds.max_bps),
            ),
        )
    elif shop is not None and commission > shop.curator_commission_bps:
        for guard in catalogue_hooks().commission_guards:
            try:
                guard(shop, commission)
            except RuleViolation as violation:
                problems.add("curator_commission_bps", violation.message)
                break
    problems.check()
    return name, slug, commission


def _percent(bps: int) -> str:
    return f"{bps / 100:g}"


def _apply(shop: Shop, details: ShopDetails, name: str, slug: str, commission: int) -> None:
    shop.name = name
    shop.slug = slug
    shop.description = (details.description or "").strip()
    shop.description_html = render_markdown(shop.description)
    shop.return_policy = (details.return_policy or "").strip()
    shop.return_policy_html = render_markdown(shop.return_policy)
    shop.shipping_flat_minor = details.shipping_flat_minor or 0
    shop.free_shipping_over_minor = details.free_shipping_over_minor
    shop.processing_days = details.processing_days or 1
    if details.return_window_days is not None:  # left empty: unchanged
        shop.return_window_days = details.return_window_days
    shop.curator_commission_bps = commission
    shop.updated_at = utcnow()


def _store_images(shop: Shop, images: ShopImages | None) -> None:
    if images is None:
        return
    # Both checked before either is written: a refused banner leaves no logo file behind.
    logo = banner = None
    if images.logo and not images.remove_logo:
        logo = media.prepare_image(
            images.logo, thumbnail_sizes=LOGO_SIZES, square=True, field_name="logo"
        )
    if images.banner and not images.remove_banner:
        banner = media.prepare_image(
            images.banner, thumbnail_sizes=BANNER_SIZES, field_name="banner"
        )
    media.save(*[image for image in (logo, banner) if image is not None])
    if images.remove_logo:
        shop.logo_key = None
    elif logo is not None:
        shop.logo_key = logo.stored.thumbnails[LOGO_SIZES[0]]
    if images.remove_banner:
        shop.banner_key = None
    elif banner is not None:
        shop.banner_key = banner.stored.thumbnails[BANNER_SIZES[0]]


def open_shop(owner: User, details: ShopDetails, images: ShopImages | None = None) -> Shop:
    if shop_of(owner) is not None:
        raise Conflict(_("You already have a shop. Each person can open one."))
    name, slug, commission = _check_details(details, None)
    shop = Shop(owner_id=owner.id, owner=owner)
    _apply(shop, details, name, slug, commission)
    _store_images(shop, images)
    db.session.add(shop)
    db.session.flush()
    return shop


def check_owner(actor: User, shop: Shop) -> None:
    if shop.owner_id != actor.id:
        raise not_yours()


def update_shop(
    actor: User, shop: Shop, details: ShopDetails, images: ShopImages | None = None
) -> Shop:
    check_owner(actor, shop)
    renamed = details.name.strip() != shop.name
    name, slug, commission = _check_details(details, shop)
    _apply(shop, details, name, slug, commission)
    _store_images(shop, images)
    db.session.flush()
    if renamed and shop.is_open:
        # The shop's name is part of every product's search document.
        search.reindex_shop(shop)
    return shop


def _set_listed(shop: Shop) -> None:
    """Products follow their shop: listed only while it is open (one UPDATE for all)."""
    db.session.execute(
        update(Product)
        .where(Product.shop_id == shop.id)
        .values(listed=shop.is_open and Product.status.in_(ProductStatus.SHOWN))
        .execution_options(synchronize_session="fetch")
    )


def pause_shop(actor: User, shop: Shop) -> Shop:
    check_owner(actor, shop)
    if shop.status != ShopStatus.PAUSED:
        shop.status = ShopStatus.PAUSED
        shop.updated_at = utcnow()
        db.session.flush()
        _set_listed(shop)
        search.reindex_shop(shop)
    return shop


def reopen_shop(actor: User, shop: Shop) -> Shop:
    check_owner(actor, shop)
    if shop.status != ShopStatus.OPEN:
        shop.status = ShopStatus.OPEN
        shop.updated_at = utcnow()
        db.session.flush()
        _set_listed(shop)
        search.reindex_shop(shop)
    return shop


def shop_by_slug(slug: str, viewer: User | None = None) -> Shop:
    """A shop as a visitor sees it: a paused shop is hidden from all but its owner."""
    shop = db.session.scalar(select(Shop).where(Shop.slug == (slug or "").lower()))
    if shop is None or (not shop.is_open and (viewer is None or viewer.id != shop.owner_id)):
        raise NotFound(_("There is no shop at that address."))
    return shop


def shop_by_id(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise NotFound(_("There is no such shop."))
    return shop


def shipping_for(shop: Shop, goods_total_minor: int) -> int:
    """The shipping charged on one order of this shop: flat, or free above the threshold."""
    if shop.free_shipping_over_minor is not None and goods_total_minor >= (
        shop.free_shipping_over_minor
    ):
        return 0
    return shop.shipping_flat_minor
