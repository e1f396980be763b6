"""Demo shops for `flask seed`: Ana's ceramics, Bruno's vintage denim, Emma's knits.

Everything goes through the same services as the pages (so search, prices and stock are kept
exactly as in real use); pictures are generated placeholders stored like uploads.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from app.models import utcnow
from app.placeholders import banner_png, initials_png, product_pictures
from marketplace import orders, products, shops
from marketplace.models import ProductStatus
from marketplace.order_models import Order, OrderLine, Review

V = products.VariantInput

DEMO_SHOPS: list[dict[str, Any]] = [
    {
        "owner": "ana",
        "details": shops.ShopDetails(
            name="Atelier Duarte",
            slug="atelier-duarte",
            description=(
                "Small-batch **stoneware** thrown and glazed in my studio in Porto.\n\n"
                "Every piece is food safe and dishwasher safe; tiny variations are part of "
                "the charm."
            ),
            return_policy="Returns within 14 days, unused and well packed. Breakage in "
            "transit is on me: send a photo and I replace it.",
            return_window_days=14,
            shipping_flat_minor=690,
            free_shipping_over_minor=6000,
            processing_days=5,
            curator_commission_bps=1200,
        ),
        "products": [
            (
                "Speckled stoneware mug",
                "home/ceramics",
                "new",
                "mug, stoneware, speckled, coffee",
                "A 300 ml mug with a generous handle and an oatmeal speckled glaze.",
                ("Glaze", ""),
                [
                    V(2800, 6, "", "Oatmeal"),
                    V(2800, 3, "", "Sea green"),
                    V(3000, 0, "", "Charcoal"),
                ],
            ),
            (
                "Hand-thrown serving bowl",
                "home/ceramics",
                "new",
                "bowl, serving, stoneware",
                "Wide and shallow, 28 cm across: salads, fruit, or pasta for four.",
                ("", ""),
                [V(6500, 2)],
            ),
            (
                "Set of four dinner plates",
                "home/ceramics",
                "new",
                "plates, dinnerware, set",
                "Four 26 cm plates in a satin white glaze with a raw clay rim.",
                ("", ""),
                [V(11000, 3)],
            ),
            (
                "Ribbed bud vase",
                "home/decor",
                "new",
                "vase, flowers, ribbed",
                "A little vase for one stem; ribbed by hand on the wheel.",
                ("Size", ""),
                [V(1800, 8, "", "Small"), V(2400, 5, "", "Tall")],
            ),
            # Listed in French, as Ana does for her customers in France: "tasse", "tasses"
            # and "émaillées" find it, and "espresso" too.
            (
                "Tasses à espresso en grès, la paire",
                "home/ceramics",
                "new",
                "espresso, tasse, café, grès",
                "Deux tasses de 90 ml qui tiennent dans la paume. Mates dehors, émaillées dedans.",
                ("", ""),
                [V(3200, 10)],
            ),
            (
                "Olive oil pourer",
                "home/kitchen",
                "new",
                "olive oil, kitchen, pourer",
                "Drip-free spout, 350 ml, with a cork stopper.",
                ("", ""),
                [V(3900, 4)],
            ),
            (
                "Seconds: slightly wonky tumbler",
                "home/ceramics",
                "good",
                "seconds, tumbler, discount",
                "Small glaze flaws, perfectly usable, at a kinder price.",
                ("", ""),
                [V(1200, 7)],
            ),
            (
                "Ceramic planter with saucer",
                "home/decor",
                "new",
                "planter, plants, saucer",
                "For a 12 cm pot, with a drainage hole and a matching saucer.",
                ("Colour", ""),
                [V(3400, 3, "", "White"), V(3400, 0, "", "Terracotta")],
            ),
        ],
    },
    {
        "owner": "bruno",
        "details": shops.ShopDetails(
            name="Keller Vintage Denim",
            slug="keller-denim",
            description=(
                "Vintage **Levi's, Lee and Wrangler**, sourced in Europe and the US. Every "
                "pair is washed, checked and mended where needed. Measurements in every listing."
            ),
            return_policy="Not the right fit? Return within 30 days for a refund; you pay "
            "the return postage.",
            return_window_days=30,
            shipping_flat_minor=450,
            free_shipping_over_minor=10000,
            processing_days=2,
            curator_commission_bps=1000,
        ),
        "products": [
            (
                "Levi's 501 from the 90s, stonewash",
                "clothing/jeans-trousers",
                "good",
                "levis, 501, 90s, stonewash, straight",
                "Classic button fly, lovely fade on the thighs. Measured flat: see each size.",
                ("Waist", "Length"),
                [
                    V(8500, 1, "", "W30", "L32"),
                    V(8500, 1, "", "W32", "L32"),
                    V(8900, 1, "", "W34", "L34"),
                ],
            ),
            (
                "Lee Storm Rider jacket, blanket lined",
                "clothing/outerwear",
                "good",
                "lee, jacket, storm rider, blanket lined, 80s",
                "The 80s classic with the striped blanket lining and corduroy collar.",
                ("Size", ""),
                [V(14500, 1, "", "M"), V(14500, 1, "", "L")],
            ),
            (
                "Wrangler 13MWZ, rigid indigo",
                "clothing/jeans-trousers",
                "like_new",
                "wrangler, 13mwz, rigid, indigo, cowboy",
                "Barely worn, still rigid. Cowboy cut, high rise.",
                ("Waist", "Length"),
                [V(7800, 1, "", "W31", "L34"), V(7800, 0, "", "W33", "L34")],
            ),
            (
                "Levi's type III trucker jacket",
                "clothing/outerwear",
                "good",
                "levis, trucker, jacket, type iii",
                "Mid-blue wash, all buttons original, a small mend at the left cuff.",
                ("Size", ""),
                [V(12000, 1, "", "S"), V(12000, 1, "", "M"), V(12500, 1, "", "L")],
            ),
            (
                "Denim chore shirt, light wash",
                "clothing/tops",
                "good",
                "shirt, chore, denim, light",
                "Boxy fit with three patch pockets; soft from years of washing.",
                ("Size", ""),
                [V(5500, 2, "", "M"), V(5500, 1, "", "L")],
            ),
            (
                "Levi's 505 orange tab, 70s",
                "clothing/jeans-trousers",
                "fair",
                "levis, 505, orange tab, 70s, zip fly",
                "Real 70s orange tab with honest wear: a repaired knee and frayed hems.",
                ("", ""),
                [V(9500, 1)],
            ),
            (
                "Denim patchwork tote",
                "accessories/bags",
                "new",
                "tote, bag, patchwork, upcycled",
                "Sewn from offcuts of jeans too worn to sell. Lined, with an inner pocket.",
                ("", ""),
                [V(3800, 6)],
            ),
            (
                "Leather belt, brass buckle",
                "accessories/bags",
                "good",
                "belt, leather, brass",
                "Thick saddle leather, 4 cm wide, fits 80 to 95 cm.",
                ("", ""),
                [V(3200, 2)],
            ),
        ],
    },
    {
        "owner": "emma",
        "details": shops.ShopDetails(
            name="North Wool Knits",
            slug="north-wool",
            description=(
                "Hand-knitted and plant-dyed in Sweden, from wool of **local sheep**. Slow, "
                "warm and made to be mended."
            ),
            return_policy="Made to order pieces cannot be returned; ready-made ones within "
            "14 days.",
            return_window_days=14,
            shipping_flat_minor=590,
            free_shipping_over_minor=None,
            processing_days=7,
            curator_commission_bps=1500,
        ),
        "products": [
            (
                "Fisherman rib beanie",
                "accessories/hats-scarves",
                "new",
                "beanie, hat, wool, rib",
                "Double-layered brim, deep rib, one size fits most.",
                ("Colour", ""),
                [V(3900, 5, "", "Natural"), V(3900, 4, "", "Moss"), V(3900, 2, "", "Rust")],
            ),
            (
                "Chunky cable cardigan",
                "clothing/knitwear",
                "new",
                "cardigan, cable, chunky, wool",
                "Oversized, with horn buttons and deep pockets. Takes two weeks to knit.",
                ("Size", "Colour"),
                [
                    V(22000, 1, "", "S/M", "Natural"),
                    V(22000, 1, "", "L/XL", "Natural"),
                    V(23000, 1, "", "S/M", "Indigo"),
                ],
            ),
            (
                "Mittens with Nordic star",
                "accessories/hats-scarves",
                "new",
                "mittens, nordic, star, gloves",
                "Stranded colourwork, lined with soft merino.",
                ("Size", ""),
                [V(4500, 3, "", "S"), V(4500, 4, "", "M"), V(4500, 2, "", "L")],
            ),
            (
                "Plant-dyed yarn, 100 g skein",
                "craft/yarn",
                "new",
                "yarn, plant dyed, wool, dk",
                "DK weight, about 220 m. Dyed with madder, weld and indigo.",
                ("Colour", ""),
                [
                    V(1900, 12, "", "Madder red"),
                    V(1900, 9, "", "Weld yellow"),
                    V(2100, 6, "", "Indigo blue"),
                ],
            ),
            (
                "Wool blanket throw",
                "home/textiles",
                "new",
                "blanket, throw, wool, sofa",
                "130 by 180 cm, woven on a small loom from our own yarn.",
                ("", ""),
                [V(16500, 2)],
            ),
            (
                "Sweater pattern: The Fjord",
                "craft/patterns",
                "new",
                "pattern, sweater, pdf, knitting",
                "A printed pattern for a seamless yoke sweater, sizes XS to 3XL.",
                ("", ""),
                [V(900, 50)],
            ),
            (
                "Ribbed wool socks",
                "clothing/knitwear",
                "new",
                "socks, wool, ribbed",
                "Reinforced heels and toes; they last for years.",
                ("Size", ""),
                [V(2600, 6, "", "36-38"), V(2600, 8, "", "39-41"), V(2600, 3, "", "42-44")],
            ),
            (
                "Vintage Fair Isle jumper",
                "clothing/knitwear",
                "good",
                "fair isle, jumper, vintage, shetland",
                "A 70s Shetland jumper from a second-hand find, washed and mended.",
                ("", ""),
                [V(6800, 1)],
            ),
        ],
    },
]


def seed_catalogue(progress: Progress) -> None:
    for spec in DEMO_SHOPS:
        owner = db.session.scalar(select(User).where(User.handle == spec["owner"]))
        if owner is None or shops.shop_of(owner) is not None:
            continue
        details: shops.ShopDetails = spec["details"]
        logo = initials_png(details.slug, details.name, (256, 256), shape="tile")
        banner = banner_png(details.slug + "-banner", (1600, 400))
        shop = shops.open_shop(owner, details, shops.ShopImages(logo=logo, banner=banner))
        for index, row in enumerate(spec["products"]):
            title, category, condition, tags, description, options, variants = row
            # A gallery of views drawn for what the product is (its title and category):
            # the whole thing, a closer detail, the other side.
            views = ("front", "detail", "side")
            drawn = product_pictures(f"{shop.slug}-{index}", title, category, len(views))
            pictures = [
                products.ImageUpload(data, alt_text=f"{title}, {label}")
                for data, label in zip(drawn, views, strict=True)
            ]
            product = products.create_product(
                owner,
                shop,
                products.ProductDetails(
                    title=title,
                    description=description,
                    category=category,
                    tags=tags,
                    condition=condition,
                    option1_name=options[0],
                    option2_name=options[1],
                ),
                variants,
                status=ProductStatus.ACTIVE,
                images=pictures,
            )
            # A little history, so "trending" differs from "new" in the demo.
            products.bump_popularity(product.id, (index * 7 + len(title)) % 23)
        progress.step(f"{shop.name} (@{owner.handle}): {len(spec['products'])} products")
    db.session.flush()


# (stars, what the buyer wrote): handed out in turn to the demo's delivered purchases.
DEMO_REVIEWS = [
    (5, "Even nicer in person. Carefully packed, and it arrived in three days."),
    (4, "Lovely piece. The colour is a little darker than in the pictures, which I like."),
    (5, "Second one I buy from this shop; the quality is as good as the first."),
    (5, ""),
    (3, "Nice, but it took longer to ship than I hoped."),
    (5, "Exactly as described. A real pleasure to use every day."),
    (4, "Well made and honest. A small mark on the base, but the seller was kind about it."),
]


def seed_reviews(progress: Progress) -> None:
    """Buyers review what was delivered to them, as they would from their order page, over the
    past weeks (after the demo sales: it reviews what they delivered)."""
    if db.session.scalar(select(Review.id).limit(1)) is not None:
        return
    lines = db.session.scalars(
        select(OrderLine)
        .join(Order, Order.id == OrderLine.order_id)
        .where(Order.status.in_(orders.DELIVERED_STATES))
        .order_by(OrderLine.id)
    ).all()
    for n, line in enumerate(lines):
        rating, body = DEMO_REVIEWS[n % len(DEMO_REVIEWS)]
        review = orders.review(line.order.buyer, line.id, rating, body)
        review.created_at = review.updated_at = utcnow() - timedelta(days=3 + 5 * n)
    progress.step(f"{len(lines)} reviews of delivered purchases")
    db.session.flush()
