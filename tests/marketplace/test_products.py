from __future__ import annotations

import io
from html.parser import HTMLParser

from PIL import Image
from sqlalchemy import select

from app.extensions import db
from marketplace.hooks import add_delete_guard, add_product_section
from marketplace.models import Product, ProductImage, ProductVariant
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import image_bytes

NEW_PRODUCT = {
    "title": "Speckled mug",
    "description": "A *lovely* mug.",
    "category": "home/ceramics",
    "condition": "new",
    "tags": "Mug, Coffee, mug",
    "price": "28.00",
    "stock": "4",
    "sku": "",
    "option1_name": "",
    "option2_name": "",
    "status": "active",
}


def count(model) -> int:
    return db.session.scalar(select(db.func.count()).select_from(model))


def post_new(client, data=None, files=()):
    payload = {**NEW_PRODUCT, **(data or {})}
    if files:
        payload["images"] = [(io.BytesIO(content), name) for content, name in files]
    return client.post_form(
        "/account/shop/products/new", payload, content_type="multipart/form-data"
    )


def test_list_a_product_with_pictures_and_see_it(client):
    shop = ShopFactory(name="Atelier")
    login(client, shop.owner)
    response = post_new(
        client, files=[(image_bytes(), "a.png"), (image_bytes(colour=(1, 2, 3)), "b.png")]
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    product = db.session.scalar(select(Product))
    assert (product.title, product.price_minor, product.stock_total) == ("Speckled mug", 2800, 4)
    assert product.tags == "mug,coffee"  # folded, de-duplicated
    assert product.status == "active" and product.listed and product.published_at
    assert len(product.images) == 2 and product.cover_key == product.images[0].thumb_key
    [variant] = product.variants
    assert variant.sku == f"KDR-{product.id}-{variant.id}"  # one is made up when left empty
    page = client.application.test_client().get(f"/products/{product.id}/{product.slug}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Speckled mug" in html and "€28.00" in html and "In stock" in html
    assert "<em>lovely</em>" in html and "Atelier" in html
    assert html.count("<img") >= 2  # the cover and the other thumbnail
    for chunk in html.split("<img")[1:]:
        assert "alt=" in chunk.split(">", 1)[0]


def test_seller_dashboard_lists_products_with_stock_and_status(client):
    shop = ShopFactory()
    ProductFactory(shop=shop, title="Active one", stock=2)
    ProductFactory(shop=shop, title="Draft one", status="draft")
    ProductFactory(shop=shop, title="Gone one", stock=0)
    ProductFactory(title="Someone else's")
    login(client, shop.owner)
    html = client.get("/account/shop/products").get_data(as_text=True)
    assert "Active one" in html and "Draft one" in html and "Gone one" in html
    assert "Someone else" not in html
    assert "Sold out (1)" in html and "Draft (1)" in html and "All (3)" in html
    drafts = client.get("/account/shop/products?status=draft").get_data(as_text=True)
    assert "Draft one" in drafts and "Active one" not in drafts


def test_quick_edit_price_stock_and_status(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop, stock=2, price_minor=1000)
    variant = product.variants[0]
    login(client, shop.owner)
    response = client.post_form(
        f"/account/shop/products/{product.id}/quick",
        {"status": "active", f"price-{variant.id}": "12,50", f"stock-{variant.id}": "0"},
    )
    assert response.status_code == 302
    db.session.refresh(product)
    assert product.price_minor == 1250 and product.stock_total == 0
    assert product.status == "sold_out"  # automatic at zero stock
    assert product.listed  # sold-out products stay visible, marked sold out
    bad = client.post_form(
        f"/account/shop/products/{product.id}/quick",
        {"status": "active", f"price-{variant.id}": "0", f"stock-{variant.id}": "-3"},
    )
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "A price must be more than zero." in html and "Stock cannot be negative." in html
    db.session.refresh(product)
    assert product.price_minor == 1250 and product.stock_total == 0


def test_restocking_a_sold_out_product_puts_it_back_on_sale(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop, stock=0)
    assert product.status == "sold_out"
    login(client, shop.owner)
    variant = product.variants[0]
    client.post_form(
        f"/account/shop/products/{product.id}/variants/{variant.id}",
        {"price": "25", "stock": "5", "sku": variant.sku},
    )
    db.session.refresh(product)
    assert product.status == "active" and product.stock_total == 5


def test_variants_size_by_colour(client):
    shop = ShopFactory()
    login(client, shop.owner)
    response = post_new(
        client,
        {
            "option1_name": "Size",
            "option2_name": "Colour",
            "option1": "S",
            "option2": "Blue",
            "price": "20",
        },
    )
    assert response.status_code == 302
    product = db.session.scalar(select(Product))
    assert response.headers["Location"].endswith(f"/account/shop/products/{product.id}/variants")
    add = f"/account/shop/products/{product.id}/variants"
    assert (
        client.post_form(
            add, {"option1": "M", "option2": "Blue", "price": "22", "stock": "2", "sku": "MUG-M"}
        ).status_code
        == 302
    )
    assert (
        client.post_form(
            add, {"option1": "L", "option2": "Red", "price": "24.5", "stock": "0"}
        ).status_code
        == 302
    )
    duplicate = client.post_form(
        add, {"option1": "m", "option2": "blue", "price": "22", "stock": "1"}
    )
    assert duplicate.status_code == 422
    assert "Another variant already has these options." in duplicate.get_data(as_text=True)
    same_sku = client.post_form(
        add, {"option1": "XL", "option2": "Blue", "price": "22", "sku": "MUG-M"}
    )
    assert same_sku.status_code == 422
    missing = client.post_form(add, {"option1": "XL", "option2": "", "price": "22"})
    assert missing.status_code == 422 and "Enter the Colour." in missing.get_data(as_text=True)
    db.session.refresh(product)
    assert [v.label for v in product.variants] == ["S / Blue", "M / Blue", "L / Red"]
    assert product.price_minor == 2000 and product.stock_total == 4 + 2 + 0
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "from €20.00" in page and "M" in page and "Red" in page and "€24.50" in page
    # Remove one; the last cannot be removed.
    large = product.variants[2]
    assert client.post_form(f"{add}/{large.id}/delete").status_code == 302
    db.session.refresh(product)
    assert len(product.variants) == 2


def test_the_last_variant_stays(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    variant = product.variants[0]
    response = client.post_form(f"/account/shop/products/{product.id}/variants/{variant.id}/delete")
    assert response.status_code == 409
    assert count(ProductVariant) == 1


def test_adding_variants_needs_an_option_name(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    response = client.post_form(
        f"/account/shop/products/{product.id}/variants", {"option1": "M", "price": "10"}
    )
    assert response.status_code == 422
    assert "Name an option" in response.get_data(as_text=True)


def test_edit_product_details_and_status(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop, title="Old", status="active")
    login(client, shop.owner)
    form = client.get(f"/account/shop/products/{product.id}").get_data(as_text=True)
    assert 'value="Old"' in form
    response = client.post_form(
        f"/account/shop/products/{product.id}",
        {
            **NEW_PRODUCT,
            "title": "New title",
            "category": "home/decor",
            "status": "draft",
            "condition": "good",
        },
    )
    assert response.status_code == 302
    db.session.refresh(product)
    assert (product.title, product.category, product.category_root) == (
        "New title",
        "home/decor",
        "home",
    )
    assert product.status == "draft" and not product.listed and product.condition == "good"
    visitor = client.application.test_client()
    assert visitor.get(f"/products/{product.id}").status_code == 404
    # Its owner still sees the draft.
    assert "Only you can see this product" in client.get(f"/products/{product.id}").get_data(
        as_text=True
    )


def test_bad_product_input_is_refused_and_nothing_is_saved(client):
    shop = ShopFactory()
    login(client, shop.owner)
    cases = [
        ({"price": "0"}, "A price must be more than zero."),
        ({"price": "-5"}, "A price must be more than zero."),
        ({"price": "100000.01"}, "That price is higher than Kindred allows."),
        ({"price": "12.345"}, "Enter an amount such as 12.50."),
        ({"price": "twelve"}, "Enter an amount such as 12.50."),
        ({"stock": "-1"}, "Stock cannot be negative."),
        ({"stock": "1.5"}, "Not a valid integer value."),
        ({"category": "nonsense"}, "Not a valid choice."),
        ({"title": "x" * 200}, "Field cannot be longer than 140 characters."),
        ({"tags": ",".join(f"tag{n}" for n in range(13))}, "Use at most 12 tags."),
    ]
    for data, message in cases:
        response = post_new(client, data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), (data, message)
    assert count(Product) == 0 and count(ProductVariant) == 0


def test_markdown_is_sanitised(client):
    shop = ShopFactory()
    login(client, shop.owner)
    description = (
        "Hello <script>alert(1)</script> **bold**\n\n"
        '<img src=x onerror="alert(2)">\n\n'
        "[click](javascript:alert(3)) [ok](https://example.com)\n\n"
        '<a href="https://example.com" onclick="alert(4)">raw</a>'
    )
    assert post_new(client, {"description": description}).status_code == 302
    product = db.session.scalar(select(Product))
    tags = elements(product.description_html)
    assert {name for name, _attrs in tags} <= {"p", "strong", "a"}
    for _name, attrs in tags:
        assert not any(key.startswith("on") for key, _value in attrs)
        assert not any((value or "").startswith("javascript:") for _key, value in attrs)
    assert '<a href="https://example.com" rel="nofollow noopener ugc">ok</a>' in (
        product.description_html
    )
    page = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert "<script>alert" not in page and 'href="javascript:' not in page


def elements(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    """Every tag in an HTML fragment, with its attributes (what a browser would build)."""
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def test_images_checked_by_decoding_not_by_name(client):
    shop = ShopFactory()
    login(client, shop.owner)
    response = post_new(client, files=[(b"GIF89a not really", "photo.jpg")])
    assert response.status_code == 422
    assert "not a JPEG, PNG or WebP image" in response.get_data(as_text=True)
    gif = io.BytesIO()
    Image.new("RGB", (10, 10)).save(gif, "GIF")
    response = post_new(client, files=[(gif.getvalue(), "photo.png")])
    assert response.status_code == 422
    assert count(Product) == 0 and count(ProductImage) == 0


def test_an_image_over_10_mb_is_refused(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    huge = image_bytes() + b"\0" * (10 * 1024 * 1024)
    response = client.post_form(
        f"/account/shop/products/{product.id}/images",
        {"images": [(io.BytesIO(huge), "big.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422  # shown on the form, which says why
    assert "larger than 10 MB" in response.get_data(as_text=True)
    assert count(ProductImage) == 0


def test_decompression_bomb_is_refused(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 Mpx, a few KB on disk
    response = client.post_form(
        f"/account/shop/products/{product.id}/images",
        {"images": [(io.BytesIO(bomb.getvalue()), "bomb.png")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "too many pixels" in response.get_data(as_text=True)
    assert count(ProductImage) == 0


def test_exif_location_is_stripped(app, client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    exif = Image.Exif()
    exif[0x8825] = {2: (48.0, 51.0, 24.0)}  # GPSInfo: a latitude
    exif[0x010F] = "SpyCam"
    jpeg = image_bytes(fmt="JPEG", exif=exif)
    assert b"SpyCam" in jpeg
    response = client.post_form(
        f"/account/shop/products/{product.id}/images",
        {"images": [(io.BytesIO(jpeg), "holiday.jpg")], "alt_text": "A mug on a table"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    image = db.session.scalar(select(ProductImage))
    assert image.alt_text == "A mug on a table"
    for key in (image.image_key, image.large_key, image.thumb_key):
        served = client.get(f"/media/{key}")
        data = served.get_data()
        assert served.status_code == 200 and data[:4] == b"RIFF"
        assert b"SpyCam" not in data
        assert not Image.open(io.BytesIO(data)).getexif().get(0x8825)


def test_at_most_20_images(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    url = f"/account/shop/products/{product.id}/images"
    files = [(io.BytesIO(image_bytes(colour=(n, n, n))), f"{n}.png") for n in range(18)]
    assert (
        client.post_form(url, {"images": files}, content_type="multipart/form-data").status_code
        == 302
    )
    three = [(io.BytesIO(image_bytes(colour=(n, 0, 0))), f"x{n}.png") for n in range(3)]
    response = client.post_form(url, {"images": three}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "at most 20 images" in response.get_data(as_text=True)
    assert count(ProductImage) == 18  # none of the three: all or nothing


def test_reorder_and_remove_images(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    url = f"/account/shop/products/{product.id}/images"
    files = [(io.BytesIO(image_bytes(colour=(n * 50, 0, 0))), f"{n}.png") for n in range(3)]
    client.post_form(url, {"images": files}, content_type="multipart/form-data")
    db.session.refresh(product)
    first, second, third = (image.id for image in product.images)
    assert client.post_form(f"{url}/{third}/move", {"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [i.id for i in product.images] == [first, third, second]
    client.post_form(f"{url}/{third}/move", {"direction": "up"})
    db.session.expire_all()
    assert [i.id for i in product.images] == [third, first, second]
    assert product.cover_key == product.images[0].thumb_key  # the cover follows
    assert client.post_form(f"{url}/{first}/delete").status_code == 302
    db.session.expire_all()
    assert [i.id for i in product.images] == [third, second]
    assert [i.position for i in product.images] == [0, 1]


def test_only_the_owner_edits_a_product_on_every_page(client):
    product = ProductFactory()
    variant = product.variants[0]
    login(client, UserFactory())
    base = f"/account/shop/products/{product.id}"
    for method, url in (
        ("GET", base),
        ("POST", base),
        ("GET", f"{base}/variants"),
        ("POST", f"{base}/variants"),
        ("POST", f"{base}/variants/{variant.id}"),
        ("POST", f"{base}/variants/{variant.id}/delete"),
        ("GET", f"{base}/images"),
        ("POST", f"{base}/quick"),
        ("POST", f"{base}/delete"),
    ):
        if method == "GET":
            response = client.get(url)
        else:
            response = client.post_form(url, {"price": "1", "stock": "1", "title": "Hacked"})
        assert response.status_code == 403, (method, url)
    db.session.refresh(product)
    assert product.title != "Hacked" and count(Product) == 1


def test_delete_a_product(client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop, title="Bye")
    login(client, shop.owner)
    response = client.post_form(f"/account/shop/products/{product.id}/delete")
    assert response.status_code == 302
    assert count(Product) == 0 and count(ProductVariant) == 0
    assert client.get("/api/v1/search?q=bye").get_json()["items"] == []


def test_a_product_with_orders_is_archived_instead_of_deleted(app, client):
    shop = ShopFactory()
    ordered = ProductFactory(shop=shop, title="Ordered")
    not_ordered = ProductFactory(shop=shop, title="Never ordered")
    # What the orders feature will register: a product that was ordered keeps its rows.
    ordered_id = ordered.id  # (the test's own objects are not touched inside a request)
    add_delete_guard(app, lambda product: product.id == ordered_id)
    login(client, shop.owner)
    client.post_form(f"/account/shop/products/{ordered.id}/delete")
    client.post_form(f"/account/shop/products/{not_ordered.id}/delete")
    remaining = db.session.scalars(select(Product)).all()
    assert [(p.title, p.status, p.listed) for p in remaining] == [("Ordered", "archived", False)]
    assert len(remaining[0].variants) == 1  # the snapshot's source rows are all kept


def test_product_sections_extension_point(app, client):
    from markupsafe import Markup

    product = ProductFactory()
    add_product_section(
        app,
        lambda p: Markup('<section class="picked">Picked by <b>{}</b></section>').format(
            f"3 curators of {p.title}"
        ),
    )
    html = client.get(f"/products/{product.id}").get_data(as_text=True)
    assert f'<section class="picked">Picked by <b>3 curators of {product.title}</b>' in html


def test_product_page_of_missing_product_is_404(client):
    assert client.get("/products/999").status_code == 404
    assert client.get("/categories/nope").status_code == 404


def test_card_badges_are_computed_once_per_page(app, client):
    from markupsafe import Markup

    from marketplace.hooks import add_card_badges

    first = ProductFactory(title="First")
    ProductFactory(title="Second")
    calls: list[int] = []

    def picked(products):
        calls.append(len(products))
        return {
            p.id: Markup('<span class="tag">Picked</span>') for p in products if p.title == "First"
        }

    add_card_badges(app, picked)
    html = client.get("/new").get_data(as_text=True)
    assert calls == [2]
    assert html.count('<span class="tag">Picked</span>') == 1
    assert f"/products/{first.id}/" in html
