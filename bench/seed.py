"""Build a large catalogue fast: 1,000 shops and 20,000 products (with variants and image
rows) per unit of scale, by bulk Core inserts.

    .venv/bin/python -m bench.seed --scale 1 --database-url sqlite:////tmp/bench.sqlite3

The database must be migrated (bench.catalogue does it). Text comes from small vocabularies,
so searches behave like a real catalogue's: common words match many products, pairs few.
Image rows point at a handful of generated pictures, stored once.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, text

from app.extensions import db
from app.media import store_image
from app.placeholders import placeholder_png
from marketplace import categories
from marketplace.models import SEARCH_TABLE, Product, ProductImage, ProductVariant, Shop
from marketplace.search import FACETS, document, facets, write_documents
from marketplace.text import slugify

SHOPS_PER_SCALE = 1_000
PRODUCTS_PER_SCALE = 20_000
BATCH = 5_000

ADJECTIVES = [
    "speckled",
    "vintage",
    "handmade",
    "rustic",
    "cosy",
    "organic",
    "linen",
    "woollen",
    "striped",
    "minimal",
    "bold",
    "soft",
    "classic",
    "faded",
    "tiny",
    "oversized",
    "glazed",
    "woven",
    "recycled",
    "hand-dyed",
    "upcycled",
    "heritage",
    "sturdy",
    "delicate",
    "nordic",
    "coastal",
    "botanical",
    "painted",
    "embroidered",
    "patchwork",
    "retro",
]
MATERIALS = [
    "stoneware",
    "porcelain",
    "denim",
    "wool",
    "cotton",
    "leather",
    "oak",
    "walnut",
    "brass",
    "silver",
    "linen",
    "merino",
    "alpaca",
    "hemp",
    "clay",
    "glass",
    "bamboo",
    "silk",
    "canvas",
    "cork",
]
NOUNS = [
    "mug",
    "bowl",
    "vase",
    "plate",
    "jacket",
    "jeans",
    "scarf",
    "beanie",
    "cardigan",
    "tote",
    "bag",
    "belt",
    "blanket",
    "cushion",
    "print",
    "poster",
    "lamp",
    "candle",
    "necklace",
    "ring",
    "earrings",
    "apron",
    "socks",
    "mittens",
    "shirt",
    "dress",
    "skirt",
    "coat",
    "boots",
    "basket",
    "planter",
    "teapot",
    "jug",
    "notebook",
    "journal",
    "wallet",
    "backpack",
    "tent",
    "bottle",
]
COLOURS = ["Natural", "Black", "Indigo", "Rust", "Moss", "Ochre", "Sand", "Charcoal"]
SIZES = ["XS", "S", "M", "L", "XL"]
SHOP_WORDS = [
    "atelier",
    "studio",
    "house",
    "workshop",
    "corner",
    "market",
    "loft",
    "garden",
    "harbour",
    "mill",
    "forge",
    "attic",
    "barn",
    "cabin",
    "collective",
    "co",
]
NAMES = [
    "ana",
    "bruno",
    "chloe",
    "dev",
    "emma",
    "farid",
    "greta",
    "hugo",
    "iris",
    "jonas",
    "kai",
    "lena",
    "milo",
    "nora",
    "otto",
    "pia",
    "quinn",
    "rosa",
    "sami",
    "tara",
    "umar",
    "vera",
    "wim",
    "xena",
    "yara",
    "zoe",
]


def _rows_in_batches(rows: list[dict[str, Any]], table: Any) -> None:
    for start in range(0, len(rows), BATCH):
        db.session.execute(insert(table), rows[start : start + BATCH])


def seed(scale: float, *, progress: bool = True) -> dict[str, int]:
    rng = random.Random(42)
    started = time.perf_counter()
    n_shops = int(SHOPS_PER_SCALE * scale)
    n_products = int(PRODUCTS_PER_SCALE * scale)
    now = datetime.now(UTC)
    leaves = list(categories.LEAF_KEYS)

    def say(message: str) -> None:
        if progress:
            print(f"  {time.perf_counter() - started:6.1f}s  {message}", flush=True)

    # A handful of real pictures, stored once; every image row points at one of them.
    pictures = [
        store_image(placeholder_png(f"bench-{n}", f"#{n}", (800, 800)), thumbnail_sizes=(1200, 400))
        for n in range(6)
    ]
    say("pictures stored")

    users = [
        {
            "id": i,
            "email": f"bench{i}@example.com",
            "handle": f"bench{i}",
            "password_hash": "!",  # no password: these people never log in
            "display_name": f"{NAMES[i % len(NAMES)].title()} {i}",
            "bio": "",
            "is_admin": False,
            "session_nonce": f"n{i}",
            "created_at": now,
        }
        for i in range(1, n_shops + 1)
    ]
    from app.accounts.models import User

    _rows_in_batches(users, User.__table__)
    shops = []
    shop_names: dict[int, str] = {}
    for i in range(1, n_shops + 1):
        name = f"{NAMES[i % len(NAMES)].title()}'s {rng.choice(SHOP_WORDS).title()} {i}"
        shop_names[i] = name
        shops.append(
            {
                "id": i,
                "owner_id": i,
                "slug": f"bench-shop-{i}",
                "name": name,
                "description": "A bench shop.",
                "description_html": "<p>A bench shop.</p>",
                "return_policy": "",
                "return_policy_html": "",
                "shipping_flat_minor": rng.choice((0, 390, 490, 690)),
                "free_shipping_over_minor": rng.choice((None, 5000, 8000)),
                "processing_days": rng.randint(1, 7),
                "curator_commission_bps": rng.choice((500, 1000, 1500)),
                "status": "paused" if i % 50 == 0 else "open",
                "created_at": now,
                "updated_at": now,
            }
        )
    _rows_in_batches(shops, Shop.__table__)
    say(f"{n_shops:,} people and shops")

    products: list[dict[str, Any]] = []
    variants: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []
    search_rows: list[tuple[int, dict[str, str]]] = []
    variant_id = 0
    image_id = 0
    for pid in range(1, n_products + 1):
        shop_id = rng.randint(1, n_shops)
        title = f"{rng.choice(ADJECTIVES).title()} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"
        description = (
            f"A {rng.choice(ADJECTIVES)} piece in {rng.choice(MATERIALS)}, "
            f"{rng.choice(ADJECTIVES)} and {rng.choice(ADJECTIVES)}. Made to last."
        )
        tags = ",".join(sorted({rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(NOUNS)}))
        category = rng.choice(leaves)
        roll = rng.random()
        n_variants = 1 if roll < 0.5 else rng.randint(2, 4)
        option1_name = "" if n_variants == 1 else "Size"
        option2_name = "" if n_variants < 3 else "Colour"
        base_price = rng.randint(5, 300) * 100 + rng.choice((0, 50, 90))
        stocks = []
        prices = []
        for v in range(n_variants):
            variant_id += 1
            stock = 0 if rng.random() < 0.08 else rng.randint(1, 20)
            price = base_price + v * 200
            stocks.append(stock)
            prices.append(price)
            variants.append(
                {
                    "id": variant_id,
                    "product_id": pid,
                    "shop_id": shop_id,
                    "sku": f"B-{pid}-{v}",
                    "option1": SIZES[v % len(SIZES)] if option1_name else "",
                    "option2": COLOURS[v % len(COLOURS)] if option2_name else "",
                    "price_minor": price,
                    "stock": stock,
                    "position": v,
                    "created_at": now,
                }
            )
        status = "draft" if rng.random() < 0.05 else ("active" if sum(stocks) else "sold_out")
        listed = status != "draft" and shop_id % 50 != 0
        published = now - timedelta(minutes=rng.randint(0, 365 * 24 * 60))
        picture_choices = rng.sample(pictures, 2)
        for position, picture in enumerate(picture_choices):
            image_id += 1
            images.append(
                {
                    "id": image_id,
                    "product_id": pid,
                    "position": position,
                    "image_key": picture.key,
                    "large_key": picture.thumbnails[1200],
                    "thumb_key": picture.thumbnails[400],
                    "width": picture.width,
                    "height": picture.height,
                    "alt_text": title,
                    "created_at": now,
                }
            )
        row = {
            "id": pid,
            "shop_id": shop_id,
            "title": title,
            "slug": slugify(title),
            "description": description,
            "description_html": f"<p>{description}</p>",
            "category": category,
            "category_root": category.split("/")[0],
            "tags": tags,
            "condition": rng.choice(("new", "new", "like_new", "good", "fair")),
            "status": status,
            "listed": listed,
            "price_minor": min(prices),
            "stock_total": sum(stocks),
            "option1_name": option1_name,
            "option2_name": option2_name,
            "cover_key": picture_choices[0].thumbnails[400],
            "popularity": int(rng.paretovariate(1.5)) - 1,
            "created_at": published,
            "updated_at": published,
            "published_at": None if status == "draft" else published,
        }
        products.append(row)
        if listed:
            doc = document(_Doc(title, description, tags), shop_names[shop_id])
            search_rows.append((pid, {**doc, FACETS: facets(min(prices), category)}))
    _rows_in_batches(products, Product.__table__)
    say(f"{n_products:,} products")
    _rows_in_batches(variants, ProductVariant.__table__)
    say(f"{len(variants):,} variants")
    _rows_in_batches(images, ProductImage.__table__)
    say(f"{len(images):,} image rows")
    _index(search_rows)
    say(f"{len(search_rows):,} products in the search index")
    if db.session.get_bind().dialect.name == "postgresql":
        for table in ("users", "shops", "products", "product_variants", "product_images"):
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
    # Fresh statistics, so the planner sees the catalogue's real size.
    db.session.commit()
    db.session.execute(text("ANALYZE"))
    db.session.commit()
    say("done")
    return {"shops": n_shops, "products": n_products, "variants": len(variants)}


class _Doc:
    """Just what search.document reads from a product."""

    def __init__(self, title: str, description: str, tags: str) -> None:
        self.title, self.description, self.tags = title, description, tags


def _index(rows: list[tuple[int, dict[str, str]]]) -> None:
    """Fill the search index. On PostgreSQL its GIN index is built once afterwards, as
    after a bulk import: filling it row by row (as the app does, one product at a time)
    would take minutes here."""
    indexes: list[tuple[str, str]] = []
    if db.session.get_bind().dialect.name == "postgresql":
        indexes = [
            (name, definition)
            for name, definition in db.session.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes "
                    "WHERE tablename = :table AND indexname NOT LIKE 'pk\\_%'"
                ),
                {"table": SEARCH_TABLE},
            )
        ]
        for name, _definition in indexes:
            db.session.execute(text(f"DROP INDEX {name}"))
    for start in range(0, len(rows), BATCH):
        write_documents(rows[start : start + BATCH])
    if indexes:
        db.session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
    for _name, definition in indexes:
        db.session.execute(text(definition))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    from bench.catalogue import make_app

    app = make_app(args.database_url)
    with app.app_context():
        seed(args.scale)


if __name__ == "__main__":
    main()
