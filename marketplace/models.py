"""The catalogue's tables: shops, products, their variants and images.

A few values are kept on `products` although they can be derived (the lowest variant price,
the total stock, the cover image, whether the product is listed): listing pages read them
from one indexed table, so a page costs the same at 1,000 or 1,000,000 products.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.extensions import Model, db
from app.models import utcnow

SHOP_NAME_MAX = 80
SHOP_SLUG_MAX = 40
TITLE_MAX = 140
DESCRIPTION_MAX = 10_000
POLICY_MAX = 4_000
TAG_MAX = 30
TAGS_MAX = 12
OPTION_MAX = 40
SKU_MAX = 64
ALT_MAX = 200
MAX_IMAGES = 20
MAX_VARIANTS = 100

# The full-text index is built by hand in the migration (an FTS5 virtual table on SQLite, a
# table with a GIN-indexed tsvector on PostgreSQL); no model describes it, so the schema
# comparison and autogenerate must leave it (and FTS5's shadow tables) alone.
SEARCH_TABLE = "product_search"
db.metadata.info.setdefault("unmanaged_tables", set()).add(SEARCH_TABLE)


class ShopStatus:
    OPEN = "open"
    PAUSED = "paused"  # hidden from shoppers, sells nothing, the owner still edits it

    ALL = (OPEN, PAUSED)


class ProductStatus:
    DRAFT = "draft"
    ACTIVE = "active"
    SOLD_OUT = "sold_out"  # set automatically when the stock reaches zero
    ARCHIVED = "archived"

    ALL = (DRAFT, ACTIVE, SOLD_OUT, ARCHIVED)
    # What a seller may choose; sold out follows from the stock.
    CHOOSABLE = (DRAFT, ACTIVE, ARCHIVED)
    SHOWN = (ACTIVE, SOLD_OUT)


class Condition:
    NEW = "new"
    LIKE_NEW = "like_new"
    GOOD = "good"
    FAIR = "fair"

    ALL = (NEW, LIKE_NEW, GOOD, FAIR)


class Shop(Model):
    __tablename__ = "shops"
    __table_args__ = (
        CheckConstraint("shipping_flat_minor >= 0", name="shipping_not_negative"),
        CheckConstraint(
            "curator_commission_bps >= 0 AND curator_commission_bps <= 10000",
            name="commission_in_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One shop per person.
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    slug: Mapped[str] = mapped_column(String(SHOP_SLUG_MAX), unique=True)
    name: Mapped[str] = mapped_column(String(SHOP_NAME_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    return_policy: Mapped[str] = mapped_column(Text, default="")
    return_policy_html: Mapped[str] = mapped_column(Text, default="")
    # How many days after delivery a buyer may ask to return something; 0: no returns.
    return_window_days: Mapped[int] = mapped_column(default=30)
    logo_key: Mapped[str | None] = mapped_column(String(255))
    banner_key: Mapped[str | None] = mapped_column(String(255))
    shipping_flat_minor: Mapped[int] = mapped_column(default=0)
    # Orders whose goods total reaches this ship free; None: never free.
    free_shipping_over_minor: Mapped[int | None]
    processing_days: Mapped[int] = mapped_column(default=3)
    curator_commission_bps: Mapped[int] = mapped_column(default=1000)
    status: Mapped[str] = mapped_column(String(16), default=ShopStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    owner: Mapped[User] = relationship()

    @property
    def is_open(self) -> bool:
        return self.status == ShopStatus.OPEN

    def __repr__(self) -> str:
        return f"<Shop {self.slug}>"


class Product(Model):
    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("stock_total >= 0", name="stock_not_negative"),
        # Each listing page reads one of these in order and stops after a page.
        Index("ix_products_listed_newest", "listed", "published_at", "id"),
        Index("ix_products_listed_trending", "listed", "popularity", "published_at", "id"),
        Index("ix_products_listed_price", "listed", "price_minor", "id"),
        Index("ix_products_shop_listed", "shop_id", "listed", "published_at", "id"),
        Index("ix_products_category_listed", "category", "listed", "published_at", "id"),
        Index("ix_products_root_listed", "category_root", "listed", "published_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    slug: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    description_html: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(64))
    category_root: Mapped[str] = mapped_column(String(32))
    # Normalised tags joined by commas ("linen,blue"); searched through the full-text index.
    tags: Mapped[str] = mapped_column(String(500), default="")
    condition: Mapped[str] = mapped_column(String(16), default=Condition.NEW)
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT)
    # Shown to shoppers: active or sold out, in an open shop. Maintained by the services.
    listed: Mapped[bool] = mapped_column(default=False)
    # The lowest variant price and the total stock of the variants.
    price_minor: Mapped[int]
    stock_total: Mapped[int] = mapped_column(default=0)
    # Names of the options variants differ by ("Size", "Colour"); empty when unused.
    option1_name: Mapped[str] = mapped_column(String(OPTION_MAX), default="")
    option2_name: Mapped[str] = mapped_column(String(OPTION_MAX), default="")
    cover_key: Mapped[str | None] = mapped_column(String(255))
    # The cover's thumbnails by their width in pixels ({"200": key, "400": key, ...}): a
    # card's srcset. Kept with cover_key (products.refresh).
    cover_sizes: Mapped[dict[str, str]] = mapped_column(
        JSON, default=dict, server_default=text("'{}'")
    )
    # Bumped by later features (picks, sales, views); trending sorts by it.
    popularity: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    updated_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    # When it was first made active; "newest" sorts by it.
    published_at: Mapped[datetime | None]

    shop: Mapped[Shop] = relationship()
    variants: Mapped[list[ProductVariant]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProductVariant.position, ProductVariant.id",
    )
    images: Mapped[list[ProductImage]] = relationship(
        back_populates="product",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ProductImage.position, ProductImage.id",
    )

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]

    @property
    def in_stock(self) -> bool:
        return self.stock_total > 0

    @property
    def has_options(self) -> bool:
        return bool(self.option1_name or self.option2_name)

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.title!r}>"


class ProductVariant(Model):
    __tablename__ = "product_variants"
    __table_args__ = (
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        UniqueConstraint("product_id", "option1", "option2", name="uq_product_variants_options"),
        # A SKU names one thing within a shop (the shop id is copied here for this rule).
        UniqueConstraint("shop_id", "sku", name="uq_product_variants_shop_sku"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    shop_id: Mapped[int] = mapped_column(ForeignKey("shops.id"))
    sku: Mapped[str] = mapped_column(String(SKU_MAX))
    option1: Mapped[str] = mapped_column(String(OPTION_MAX), default="")
    option2: Mapped[str] = mapped_column(String(OPTION_MAX), default="")
    price_minor: Mapped[int]
    stock: Mapped[int] = mapped_column(default=0)
    position: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def label(self) -> str:
        """ "M / Blue" for a variant with options; "" for a product's only, default variant."""
        return " / ".join(value for value in (self.option1, self.option2) if value)


class ProductImage(Model):
    __tablename__ = "product_images"
    __table_args__ = (Index("ix_product_images_product", "product_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    image_key: Mapped[str] = mapped_column(String(255))  # the full image (up to 2400 px)
    large_key: Mapped[str] = mapped_column(String(255))  # up to 1200 px, the product page
    thumb_key: Mapped[str] = mapped_column(String(255))  # up to 400 px, cards and lists
    # Every thumbnail by its width in pixels ({"200": key, ..., "1200": key}), for srcset.
    sizes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default=text("'{}'"))
    width: Mapped[int]
    height: Mapped[int]
    alt_text: Mapped[str] = mapped_column(String(ALT_MAX), default="")
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())

    product: Mapped[Product] = relationship(back_populates="images")
