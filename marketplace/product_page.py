"""What a product page shows beyond the product's row: its gallery, and its description for
search engines (schema.org structured data).

Each picture is stored three times (app.media, marketplace.products.IMAGE_SIZES): whole (up
to 2400 px a side), fitted in 1200 px for the page and in 400 px for cards and thumbnails.
The gallery offers all three in a `srcset` with their widths, so a phone on a 3x screen and a
laptop each fetch the smallest file that is sharp for them, and the zoomed view the largest.
A small upload is stored no larger than it is: its copies then share one file, offered once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.i18n import minor_unit_exponent
from app.media import media_url
from app.urls import url_for
from marketplace.models import Condition, Product, ProductImage
from marketplace.orders import ProductReviews
from marketplace.products import IMAGE_SIZES


@dataclass(frozen=True)
class Slide:
    number: int
    alt: str
    src: str  # the page-sized copy: what a browser without srcset shows
    srcset: str
    full: str  # the whole picture: the zoomed view and the link without JavaScript
    full_width: int
    thumb: str
    width: int
    height: int


def fitted(width: int, height: int, box: int) -> tuple[int, int]:
    """The size of a width x height picture scaled down (never up) to fit a box x box square,
    as Pillow's `thumbnail` makes it."""
    scale = min(1.0, box / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def srcset(image: ProductImage) -> str:
    # Every stored copy by its box (older rows have only the 400 and 1200 px ones), then whole.
    boxes = {int(box): key for box, key in (image.sizes or {}).items()}
    boxes.setdefault(400, image.thumb_key)
    boxes.setdefault(IMAGE_SIZES[0], image.large_key)
    candidates = [
        (key, fitted(image.width, image.height, box)[0]) for box, key in sorted(boxes.items())
    ]
    candidates.append((image.image_key, image.width))
    seen_keys: set[str] = set()
    seen_widths: set[int] = set()
    parts = []
    for key, width in candidates:
        if key in seen_keys or width in seen_widths:
            continue  # the same file, or a copy no larger than a smaller one
        seen_keys.add(key)
        seen_widths.add(width)
        parts.append(f"{media_url(key)} {width}w")
    return ", ".join(parts)


def slides(product: Product) -> list[Slide]:
    shown: list[Slide] = []
    for number, image in enumerate(product.images, start=1):
        width, height = fitted(image.width, image.height, IMAGE_SIZES[0])
        shown.append(
            Slide(
                number=number,
                alt=image.alt_text or _("%(title)s, picture %(n)d", title=product.title, n=number),
                src=media_url(image.large_key) or "",
                srcset=srcset(image),
                full=media_url(image.image_key) or "",
                full_width=image.width,
                thumb=media_url(image.thumb_key) or "",
                width=width,
                height=height,
            )
        )
    return shown


# schema.org's words for a product's condition and availability.
ITEM_CONDITION = {
    Condition.NEW: "https://schema.org/NewCondition",
    Condition.LIKE_NEW: "https://schema.org/UsedCondition",
    Condition.GOOD: "https://schema.org/UsedCondition",
    Condition.FAIR: "https://schema.org/UsedCondition",
}


def schema_price(minor: int, currency: str) -> str:
    """1250 -> "12.50": schema.org's prices use a dot, whatever the visitor's language."""
    exponent = minor_unit_exponent(currency)
    return f"{Decimal(minor).scaleb(-exponent):.{exponent}f}"


def structured_data(product: Product, reviews: ProductReviews) -> dict[str, Any]:
    """The product as schema.org's Product (JSON-LD), for search engines' rich results: its
    pictures, price (a range when its variants differ), availability and condition, and the
    rating of its own reviews (never its shop's: a product's rating is about the product)."""
    page_url = url_for(
        "catalogue.product", product_id=product.id, slug=product.slug, _external=True
    )
    currency = current_app.config["CURRENCY"]
    prices = sorted({variant.price_minor for variant in product.variants}) or [product.price_minor]
    offer: dict[str, Any] = {
        "@type": "Offer",
        "url": page_url,
        "price": schema_price(prices[0], currency),
        "priceCurrency": currency.upper(),
        "availability": "https://schema.org/InStock"
        if product.in_stock
        else "https://schema.org/OutOfStock",
        "itemCondition": ITEM_CONDITION.get(product.condition, ITEM_CONDITION[Condition.NEW]),
        "seller": {"@type": "Organization", "name": product.shop.name},
    }
    if len(prices) > 1:
        offer["@type"] = "AggregateOffer"
        offer["lowPrice"] = offer.pop("price")
        offer["highPrice"] = schema_price(prices[-1], currency)
        offer["offerCount"] = len(product.variants)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "url": page_url,
        "sku": str(product.id),
        "offers": offer,
    }
    if product.description:
        data["description"] = " ".join(product.description.split())[:500]
    if product.images:
        data["image"] = [
            url_for("media.file", key=image.image_key, _external=True) for image in product.images
        ]
    if reviews.rating.count and not reviews.of_shop:
        data["aggregateRating"] = {
            "@type": "AggregateRating",
            "ratingValue": reviews.rating.average,
            "reviewCount": reviews.rating.count,
            "bestRating": 5,
            "worstRating": 1,
        }
        data["review"] = [
            {
                "@type": "Review",
                "author": {"@type": "Person", "name": review.buyer.name},
                "datePublished": review.created_at.date().isoformat(),
                "reviewRating": {"@type": "Rating", "ratingValue": review.rating, "bestRating": 5},
                **({"reviewBody": review.body} if review.body else {}),
            }
            for review in reviews.reviews
        ]
    return data
