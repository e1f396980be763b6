"""Products, their variants and images: the seller's use cases and the rules they keep."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import Integer, bindparam, func, select, update
from sqlalchemy.orm import joinedload, selectinload

from app import media
from app.accounts.models import User
from app.database import kept_statement
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, NotFound, RuleViolation
from marketplace import categories, search, signals
from marketplace.hooks import catalogue_hooks
from marketplace.models import (
    ALT_MAX,
    DESCRIPTION_MAX,
    MAX_IMAGES,
    MAX_VARIANTS,
    OPTION_MAX,
    SKU_MAX,
    TAG_MAX,
    TAGS_MAX,
    TITLE_MAX,
    Condition,
    Product,
    ProductImage,
    ProductStatus,
    ProductVariant,
    Shop,
)
from marketplace.rules import Problems, check_length, check_price, check_stock, not_yours
from marketplace.text import fold, render_markdown, slugify

# The product page's picture, and the thumbnails cards choose from (`srcset`): 200 to 800
# pixels wide covers a card on a phone (two columns, 170 CSS pixels at up to 3x) and on a wide
# screen (four columns, 280 CSS pixels at up to 2x).
IMAGE_SIZES = (1200, 800, 400, 200)


@dataclass
class ProductDetails:
    title: str
    description: str = ""
    category: str = ""
    tags: Sequence[str] | str = ()
    condition: str = Condition.NEW
    option1_name: str = ""
    option2_name: str = ""


@dataclass
class VariantInput:
    price_minor: int | None
    stock: int | None = 0
    sku: str = ""
    option1: str = ""
    option2: str = ""


@dataclass
class ImageUpload:
    data: bytes
    alt_text: str = ""


@dataclass
class QuickEdit:
    status: str | None = None
    # variant id -> (price, stock); None leaves a value as it is.
    variants: dict[int, tuple[int | None, int | None]] = field(default_factory=dict)


# --- reading -------------------------------------------------------------------------------


def _with_everything() -> tuple[Any, ...]:
    return (
        joinedload(Product.shop).joinedload(Shop.owner),
        selectinload(Product.variants),
        selectinload(Product.images),
    )


def product_for_owner(actor: User, product_id: int) -> Product:
    """A product its owner is about to change: 404 when missing, 403 when not theirs."""
    product = db.session.scalar(
        select(Product).where(Product.id == product_id).options(*_with_everything())
    )
    if product is None:
        raise NotFound(_("There is no such product."))
    if product.shop.owner_id != actor.id:
        raise not_yours()
    return product


def public_product(product_id: int, viewer: User | None = None) -> Product:
    """A product as a visitor sees it: drafts, archived products and those of a paused shop
    are visible to their owner only."""
    # Every product page: built once (app.database.kept_statement). The variants (a few
    # rows) are joined to the product's row, the images read by a second query: two
    # queries, whatever their numbers.
    statement = kept_statement(
        "marketplace.public_product",
        lambda: (
            select(Product)
            .where(Product.id == bindparam("product_id"))
            .options(
                joinedload(Product.shop).joinedload(Shop.owner),
                joinedload(Product.variants),
                selectinload(Product.images),
            )
        ),
    )
    product = db.session.scalars(statement, {"product_id": product_id}).unique().first()
    is_owner = product is not None and viewer is not None and product.shop.owner_id == viewer.id
    if product is None or not (product.listed or is_owner):
        raise NotFound(_("That product is not available."))
    return product


def more_from_shop(product: Product, limit: int = 6) -> list[Product]:
    """The shop's other listed products, newest first, for a product page's "more from this
    shop" (their shop is the product's, already loaded: reading it costs no query)."""
    # On every product page: built once (app.database.kept_statement).
    statement = kept_statement(
        "marketplace.more_from_shop",
        lambda: (
            select(Product)
            .where(
                Product.shop_id == bindparam("shop_id"),
                Product.listed.is_(True),
                Product.id != bindparam("product_id"),
            )
            .order_by(Product.published_at.desc(), Product.id.desc())
            .limit(bindparam("limit", type_=Integer))
        ),
    )
    values = {"shop_id": product.shop_id, "product_id": product.id, "limit": limit}
    return list(db.session.scalars(statement, values))


# --- checking input ------------------------------------------------------------------------


def normalise_tags(raw: Sequence[str] | str, problems: Problems) -> str:
    items = raw.split(",") if isinstance(raw, str) else list(raw)
    tags: list[str] = []
    for item in items:
        tag = " ".join(fold(str(item)).replace(",", " ").split())
        if not tag or tag in tags:
            continue
        if len(tag) > TAG_MAX:
            problems.add("tags", _("A tag has at most %(max)d characters.", max=TAG_MAX))
            break
        tags.append(tag)
    if len(tags) > TAGS_MAX:
        problems.add("tags", _("Use at most %(max)d tags.", max=TAGS_MAX))
    return ",".join(tags[:TAGS_MAX])


def _check_details(details: ProductDetails, problems: Problems) -> dict[str, str]:
    title = " ".join((details.title or "").split())
    check_length(problems, "title", title, minimum=2, maximum=TITLE_MAX)
    description = (details.description or "").strip()
    check_length(problems, "description", description, maximum=DESCRIPTION_MAX)
    category = categories.get(details.category)
    if category is None or category.is_root:
        problems.add("category", _("Choose a category from the list."))
    if details.condition not in Condition.ALL:
        problems.add("condition", _("Choose the item's condition from the list."))
    option1 = " ".join((details.option1_name or "").split())
    option2 = " ".join((details.option2_name or "").split())
    check_length(problems, "option1_name", option1, maximum=OPTION_MAX)
    check_length(problems, "option2_name", option2, maximum=OPTION_MAX)
    if option2 and not option1:
        problems.add("option1_name", _("Name the first option before the second."))
    if option1 and fold(option1) == fold(option2):
        problems.add("option2_name", _("The two options need different names."))
    return {
        "title": title,
        "description": description,
        "category": category.key if category else "",
        "tags": normalise_tags(details.tags, problems),
        "option1_name": option1,
        "option2_name": option2,
    }


def _check_variant(
    variant: VariantInput,
    problems: Problems,
    *,
    option1_name: str,
    option2_name: str,
    prefix: str = "",
) -> VariantInput:
    check_price(problems, f"{prefix}price_minor", variant.price_minor)
    check_stock(problems, f"{prefix}stock", variant.stock)
    sku = (variant.sku or "").strip()
    check_length(problems, f"{prefix}sku", sku, maximum=SKU_MAX)
    values = []
    for name, value, field_name in (
        (option1_name, variant.option1, "option1"),
        (option2_name, variant.option2, "option2"),
    ):
        value = " ".join((value or "").split())
        if name and not value:
            problems.add(f"{prefix}{field_name}", _("Enter the %(option)s.", option=name))
        check_length(problems, f"{prefix}{field_name}", value, maximum=OPTION_MAX)
        values.append(value if name else "")
    return VariantInput(variant.price_minor, variant.stock, sku, values[0], values[1])


def _sku_taken(shop_id: int, sku: str, except_variant: int | None = None) -> bool:
    statement = select(ProductVariant.id).where(
        ProductVariant.shop_id == shop_id, ProductVariant.sku == sku
    )
    if except_variant is not None:
        statement = statement.where(ProductVariant.id != except_variant)
    return db.session.scalar(statement.limit(1)) is not None


def _default_sku(product: Product, variant: ProductVariant) -> str:
    # Unique within the shop because the variant id is.
    return f"KDR-{product.id}-{variant.id}"


# --- keeping derived values right ---------------------------------------------------------


def refresh(product: Product) -> None:
    """Recompute what a product derives from its variants, images, status and shop, and keep
    the search index in step. Every change to a product ends here."""
    variants = product.variants
    if variants:
        product.price_minor = min(v.price_minor for v in variants)
        product.stock_total = sum(v.stock for v in variants)
    if product.status == ProductStatus.ACTIVE and product.stock_total == 0:
        product.status = ProductStatus.SOLD_OUT
    elif product.status == ProductStatus.SOLD_OUT and product.stock_total > 0:
        product.status = ProductStatus.ACTIVE
    if product.status in ProductStatus.SHOWN and product.published_at is None:
        product.published_at = utcnow()
    product.listed = product.status in ProductStatus.SHOWN and product.shop.is_open
    product.cover_key = product.images[0].thumb_key if product.images else None
    product.cover_sizes = dict(product.images[0].sizes) if product.images else {}
    product.updated_at = utcnow()
    db.session.flush()
    search.index_product(product)


# --- what a shopper can buy, before and after a change --------------------------------------


@dataclass(frozen=True)
class Offer:
    """What a product offers at one moment: each variant's price and stock, and whether the
    product is listed. Taken before a change, compared after it by `announce`."""

    listed: bool
    variants: dict[int, tuple[int, int]]  # variant id -> (price, stock)

    @property
    def lowest_price(self) -> int | None:
        """The lowest price of a variant in stock (None when all are sold out)."""
        prices = [price for price, stock in self.variants.values() if stock > 0]
        return min(prices) if prices else None


def offer_of(product: Product) -> Offer:
    return Offer(
        product.listed,
        {v.id: (v.price_minor, v.stock) for v in product.variants if v.id is not None},
    )


def announce(product: Product, before: Offer, actor: User | None) -> None:
    """Tell higher features when a listed product got cheaper to buy, or a sold-out variant
    came back. A price drop counts only when the lowest price of a variant in stock went
    down because a price went down (a restocked cheaper variant is news of stock, a raise
    or a cut on a sold-out variant is no news)."""
    after = offer_of(product)
    if not (before.listed and after.listed):
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    old_low, new_low = before.lowest_price, after.lowest_price
    cut = [
        price
        for variant_id, (price, stock) in after.variants.items()
        if stock > 0 and price < before.variants.get(variant_id, (price + 1, 0))[0]
    ]
    if old_low is not None and new_low is not None and cut and min(cut) < old_low:
        signals.price_dropped.send(
            app,
            product=product,
            old_price_minor=old_low,
            new_price_minor=new_low,
            actor=actor,
        )
    back = [
        variant_id
        for variant_id, (_price, stock) in after.variants.items()
        if stock > 0 and variant_id in before.variants and before.variants[variant_id][1] == 0
    ]
    if back:
        signals.back_in_stock.send(app, product=product, variant_ids=sorted(back), actor=actor)


# --- products ------------------------------------------------------------------------------


def create_product(
    actor: User,
    shop: Shop,
    details: ProductDetails,
    variants: Sequence[VariantInput],
    *,
    status: str = ProductStatus.DRAFT,
    images: Sequence[ImageUpload] = (),
) -> Product:
    if shop.owner_id != actor.id:
        raise not_yours()
    problems = Problems()
    clean = _check_details(details, problems)
    if status not in ProductStatus.CHOOSABLE:
        problems.add("status", _("Choose draft, active or archived."))
    if not variants:
        problems.add("variants", _("A product needs at least one variant with a price."))
    if len(variants) > MAX_VARIANTS:
        problems.add("variants", _("Use at most %(max)d variants.", max=MAX_VARIANTS))
    if len(variants) > 1 and not clean["option1_name"]:
        problems.add("option1_name", _("Name the option the variants differ by, such as Size."))
    checked: list[VariantInput] = []
    # One variant: its errors belong to the form's price and stock fields; several: indexed.
    for index, variant in enumerate(variants[:MAX_VARIANTS]):
        prefix = "" if len(variants) == 1 else f"variants.{index}."
        checked.append(
            _check_variant(
                variant,
                problems,
                option1_name=clean["option1_name"],
                option2_name=clean["option2_name"],
                prefix=prefix,
            )
        )
    combos = [(v.option1.lower(), v.option2.lower()) for v in checked]
    if len(set(combos)) != len(combos):
        problems.add("variants", _("Two variants have the same options."))
    skus = [v.sku.lower() for v in checked if v.sku]
    if len(set(skus)) != len(skus):
        problems.add("variants", _("Two variants have the same SKU."))
    for index, variant in enumerate(checked):
        if variant.sku and _sku_taken(shop.id, variant.sku):
            prefix = "" if len(checked) == 1 else f"variants.{index}."
            problems.add(f"{prefix}sku", _("Another product of your shop uses that SKU."))
    if len(images) > MAX_IMAGES:
        problems.add("images", _("A product can have at most %(max)d images.", max=MAX_IMAGES))
    problems.check()

    product = Product(
        shop_id=shop.id,
        shop=shop,
        title=clean["title"],
        slug=slugify(clean["title"]) or "product",
        description=clean["description"],
        description_html=render_markdown(clean["description"]),
        category=clean["category"],
        category_root=categories.root_of(clean["category"]).key,
        tags=clean["tags"],
        condition=details.condition,
        status=status,
        option1_name=clean["option1_name"],
        option2_name=clean["option2_name"],
        price_minor=min(v.price_minor or 0 for v in checked),
    )
    db.session.add(product)
    for position, variant in enumerate(checked):
        product.variants.append(
            ProductVariant(
                shop_id=shop.id,
                sku=variant.sku or f"tmp-{position}",
                option1=variant.option1,
                option2=variant.option2,
                price_minor=variant.price_minor,
                stock=variant.stock,
                position=position,
            )
        )
    db.session.flush()
    for row in product.variants:
        if row.sku.startswith("tmp-"):
            row.sku = _default_sku(product, row)
    _add_images(product, images)
    refresh(product)
    return product


def update_product(actor: User, product: Product, details: ProductDetails) -> Product:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    problems = Problems()
    clean = _check_details(details, problems)
    variants = product.variants
    if len(variants) > 1 and not clean["option1_name"]:
        problems.add(
            "option1_name",
            _("This product has several variants; keep the option they differ by."),
        )
    if len(variants) > 1 and not clean["option2_name"] and any(v.option2 for v in variants):
        problems.add("option2_name", _("Some variants differ by this option; keep its name."))
    problems.check()
    if not clean["option1_name"]:
        for variant in variants:
            variant.option1 = ""
    if not clean["option2_name"]:
        for variant in variants:
            variant.option2 = ""
    product.title = clean["title"]
    product.slug = slugify(clean["title"]) or "product"
    product.condition = details.condition
    product.description = clean["description"]
    product.description_html = render_markdown(clean["description"])
    product.category = clean["category"]
    product.category_root = categories.root_of(clean["category"]).key
    product.tags = clean["tags"]
    product.option1_name = clean["option1_name"]
    product.option2_name = clean["option2_name"]
    refresh(product)
    return product


def set_status(actor: User, product: Product, status: str) -> Product:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    if status == ProductStatus.SOLD_OUT:
        # Asking for "sold out" means "active": the stock decides which one it shows as.
        status = ProductStatus.ACTIVE
    if status not in ProductStatus.CHOOSABLE:
        raise RuleViolation(_("Choose draft, active or archived."), field="status")
    product.status = status
    refresh(product)
    return product


def quick_edit(actor: User, product: Product, edit: QuickEdit) -> Product:
    """The dashboard's one-row edit: status, and each variant's price and stock."""
    if product.shop.owner_id != actor.id:
        raise not_yours()
    problems = Problems()
    by_id = {v.id: v for v in product.variants}
    for variant_id, (price, stock) in edit.variants.items():
        if variant_id not in by_id:
            raise NotFound(_("There is no such variant."))
        if price is not None:
            check_price(problems, "price_minor", price)
        if stock is not None:
            check_stock(problems, "stock", stock)
    if edit.status is not None and edit.status not in ProductStatus.ALL:
        problems.add("status", _("Choose draft, active or archived."))
    problems.check()
    before = offer_of(product)
    for variant_id, (price, stock) in edit.variants.items():
        if price is not None:
            by_id[variant_id].price_minor = price
        if stock is not None:
            by_id[variant_id].stock = stock
    if edit.status is not None:
        product.status = (
            ProductStatus.ACTIVE if edit.status == ProductStatus.SOLD_OUT else (edit.status)
        )
    refresh(product)
    announce(product, before, actor)
    return product


def delete_product(actor: User, product: Product) -> str:
    """Delete a product, or archive it when a guard says its rows must stay (it was ordered).

    Returns "deleted" or "archived".
    """
    if product.shop.owner_id != actor.id:
        raise not_yours()
    if any(guard(product) for guard in catalogue_hooks().delete_guards):
        product.status = ProductStatus.ARCHIVED
        refresh(product)
        return "archived"
    search.remove_products([product.id])
    db.session.delete(product)
    db.session.flush()
    return "deleted"


def bump_popularity(product_id: int, amount: int = 1) -> None:
    """For later features (a pick, a like, a sale): one atomic UPDATE, no read."""
    db.session.execute(
        update(Product)
        .where(Product.id == product_id)
        .values(popularity=Product.popularity + amount)
        .execution_options(synchronize_session=False)
    )


# --- variants ------------------------------------------------------------------------------


def _variant_of(product: Product, variant_id: int) -> ProductVariant:
    for variant in product.variants:
        if variant.id == variant_id:
            return variant
    raise NotFound(_("There is no such variant."))


def add_variant(actor: User, product: Product, data: VariantInput) -> ProductVariant:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    if not product.option1_name:
        raise RuleViolation(
            _("Name an option (such as Size) on the product before adding variants.")
        )
    if len(product.variants) >= MAX_VARIANTS:
        raise Conflict(_("A product can have at most %(max)d variants.", max=MAX_VARIANTS))
    problems = Problems()
    clean = _check_variant(
        data, problems, option1_name=product.option1_name, option2_name=product.option2_name
    )
    _check_variant_unique(product, clean, problems, None)
    problems.check()
    before = offer_of(product)
    variant = ProductVariant(
        shop_id=product.shop_id,
        sku=clean.sku or "tmp",
        option1=clean.option1,
        option2=clean.option2,
        price_minor=clean.price_minor,
        stock=clean.stock,
        position=max((v.position for v in product.variants), default=-1) + 1,
    )
    product.variants.append(variant)
    db.session.flush()
    if not clean.sku:
        variant.sku = _default_sku(product, variant)
    refresh(product)
    announce(product, before, actor)
    return variant


def _check_variant_unique(
    product: Product, clean: VariantInput, problems: Problems, variant: ProductVariant | None
) -> None:
    for other in product.variants:
        if other is variant:
            continue
        if (other.option1.lower(), other.option2.lower()) == (
            clean.option1.lower(),
            clean.option2.lower(),
        ):
            problems.add("option1", _("Another variant already has these options."))
    if clean.sku and _sku_taken(product.shop_id, clean.sku, variant.id if variant else None):
        problems.add("sku", _("Another product of your shop uses that SKU."))


def update_variant(
    actor: User, product: Product, variant_id: int, data: VariantInput
) -> ProductVariant:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    variant = _variant_of(product, variant_id)
    problems = Problems()
    clean = _check_variant(
        data, problems, option1_name=product.option1_name, option2_name=product.option2_name
    )
    _check_variant_unique(product, clean, problems, variant)
    problems.check()
    before = offer_of(product)
    variant.sku = clean.sku or _default_sku(product, variant)
    variant.option1 = clean.option1
    variant.option2 = clean.option2
    variant.price_minor = clean.price_minor or variant.price_minor
    variant.stock = clean.stock if clean.stock is not None else variant.stock
    refresh(product)
    announce(product, before, actor)
    return variant


def remove_variant(actor: User, product: Product, variant_id: int) -> None:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    variant = _variant_of(product, variant_id)
    if len(product.variants) == 1:
        raise Conflict(_("A product keeps at least one variant; delete the product instead."))
    product.variants.remove(variant)
    db.session.flush()
    refresh(product)


# --- images --------------------------------------------------------------------------------


def _add_images(product: Product, uploads: Sequence[ImageUpload]) -> list[ProductImage]:
    if len(product.images) + len(uploads) > MAX_IMAGES:
        raise RuleViolation(
            _(
                "A product can have at most %(max)d images; remove some first.",
                max=MAX_IMAGES,
            ),
            field="images",
        )
    added = []
    position = max((image.position for image in product.images), default=-1)
    # All or none: a refused picture leaves no file of the others behind.
    every = media.store_images(
        [upload.data for upload in uploads], thumbnail_sizes=IMAGE_SIZES, field_name="images"
    )
    for upload, stored in zip(uploads, every, strict=True):
        alt = " ".join((upload.alt_text or "").split())[:ALT_MAX]
        position += 1
        image = ProductImage(
            image_key=stored.key,
            large_key=stored.thumbnails[1200],
            thumb_key=stored.thumbnails[400],
            sizes=stored.by_width(),
            width=stored.width,
            height=stored.height,
            alt_text=alt,
            position=position,
        )
        product.images.append(image)
        added.append(image)
    return added


def add_images(actor: User, product: Product, uploads: Sequence[ImageUpload]) -> list[ProductImage]:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    if not uploads:
        raise RuleViolation(_("Choose at least one image to upload."), field="images")
    added = _add_images(product, uploads)
    db.session.flush()
    refresh(product)
    return added


def _image_of(product: Product, image_id: int) -> ProductImage:
    for image in product.images:
        if image.id == image_id:
            return image
    raise NotFound(_("There is no such image."))


def remove_image(actor: User, product: Product, image_id: int) -> None:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    product.images.remove(_image_of(product, image_id))
    _renumber(product.images)
    db.session.flush()
    refresh(product)


def _renumber(images: list[ProductImage]) -> None:
    for position, image in enumerate(images):
        image.position = position


def reorder_images(actor: User, product: Product, image_ids: Sequence[int]) -> None:
    """Put the images in this order; the first is the cover."""
    if product.shop.owner_id != actor.id:
        raise not_yours()
    current = {image.id: image for image in product.images}
    if sorted(image_ids) != sorted(current):
        raise RuleViolation(_("List each of the product's images exactly once."), field="image_ids")
    ordered = [current[image_id] for image_id in image_ids]
    _renumber(ordered)
    product.images.sort(key=lambda image: image.position)
    db.session.flush()
    refresh(product)


def move_image(actor: User, product: Product, image_id: int, step: int) -> None:
    """Move an image one place earlier (step -1) or later (+1): the no-JavaScript reorder."""
    ids = [image.id for image in product.images]
    index = ids.index(_image_of(product, image_id).id)
    target = min(max(index + step, 0), len(ids) - 1)
    ids.insert(target, ids.pop(index))
    reorder_images(actor, product, ids)


def set_alt_text(actor: User, product: Product, image_id: int, alt_text: str) -> ProductImage:
    if product.shop.owner_id != actor.id:
        raise not_yours()
    image = _image_of(product, image_id)
    alt = " ".join((alt_text or "").split())
    if len(alt) > ALT_MAX:
        raise RuleViolation(_("Use at most %(max)d characters.", max=ALT_MAX), field="alt_text")
    image.alt_text = alt
    return image


# --- the seller's dashboard ------------------------------------------------------------------


def count_products(shop: Shop) -> dict[str, int]:
    rows = db.session.execute(
        select(Product.status, func.count(Product.id))
        .where(Product.shop_id == shop.id)
        .group_by(Product.status)
    )
    return {status: count for status, count in rows}
