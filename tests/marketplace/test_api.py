from __future__ import annotations

import io

from sqlalchemy import select

from app.extensions import db
from marketplace.models import Product, ProductImage
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import bearer, image_bytes, make_token

NEW = {
    "title": "Linen apron",
    "description": "Heavy **linen**.",
    "category": "home/textiles",
    "tags": ["linen", "kitchen"],
    "condition": "like_new",
    "status": "active",
    "option1_name": "Colour",
    "variants": [
        {"option1": "Natural", "price_minor": 3500, "stock": 2, "sku": "AP-NAT"},
        {"option1": "Black", "price_minor": 3700, "stock": 0},
    ],
}


def test_open_shop_and_list_a_product_with_a_token(app, client):
    user = UserFactory()
    secret = make_token(client, user)
    api = app.test_client()
    created = api.post("/api/v1/shops", json={"name": "Linen Things"}, headers=bearer(secret))
    assert created.status_code == 201, created.get_json()
    shop = created.get_json()
    assert shop["slug"] == "linen-things" and shop["status"] == "open"
    assert api.get("/api/v1/me/shop", headers=bearer(secret)).get_json()["id"] == shop["id"]
    response = api.post("/api/v1/products", json=NEW, headers=bearer(secret))
    assert response.status_code == 201, response.get_json()
    product = response.get_json()
    assert product["price_minor"] == 3500 and product["stock_total"] == 2
    assert product["currency"] == "eur" and product["in_stock"] is True
    assert [v["label"] for v in product["variants"]] == ["Natural", "Black"]
    assert product["variants"][1]["sku"].startswith("KDR-")
    assert product["description_html"] == "<p>Heavy <strong>linen</strong>.</p>\n"
    assert product["shop"]["slug"] == "linen-things"
    # Public reads need no authentication.
    fresh = app.test_client()
    assert fresh.get(f"/api/v1/products/{product['id']}").status_code == 200
    listed = fresh.get(f"/api/v1/shops/{shop['id']}/products").get_json()
    assert [p["title"] for p in listed["items"]] == ["Linen apron"]


def test_update_product_variants_and_status(app, client):
    shop = ShopFactory()
    login(client, shop.owner)
    product = client.api("POST", "/api/v1/products", json=NEW).get_json()
    url = f"/api/v1/products/{product['id']}"
    patched = client.api("PATCH", url, json={"title": "Apron", "status": "draft"})
    assert patched.status_code == 200, patched.get_json()
    assert patched.get_json()["title"] == "Apron" and patched.get_json()["status"] == "draft"
    added = client.api(
        "POST", f"{url}/variants", json={"option1": "Blue", "price_minor": 3000, "stock": 4}
    )
    assert added.status_code == 201, added.get_json()
    variant_id = added.get_json()["id"]
    changed = client.api("PATCH", f"{url}/variants/{variant_id}", json={"stock": 9})
    assert changed.status_code == 200 and changed.get_json()["stock"] == 9
    assert changed.get_json()["price_minor"] == 3000  # untouched fields are kept
    assert client.api("DELETE", f"{url}/variants/{variant_id}").status_code == 204
    whole = client.get(url).get_json()
    assert len(whole["variants"]) == 2 and whole["price_minor"] == 3500


def test_api_bad_input_is_problem_json_with_field_errors(client):
    shop = ShopFactory()
    login(client, shop.owner)
    cases = [
        ({"variants": [{"price_minor": 0}]}, "price_minor", "A price must be more than zero."),
        ({"variants": [{"price_minor": -100}]}, "price_minor", "more than zero"),
        ({"variants": [{"price_minor": 10**9}]}, "price_minor", "higher than Kindred allows"),
        ({"variants": [{"price_minor": 100, "stock": -2}]}, "stock", "Stock cannot be negative."),
        ({"variants": [{"price_minor": "12.5"}]}, "variants.0.price_minor", "Not a valid integer."),
        ({"category": "home"}, "category", "Choose a category from the list."),
        ({"variants": []}, "variants", "Shorter than minimum length 1."),
    ]
    for change, field, message in cases:
        body = {**NEW, "option1_name": "", **change}
        response = client.api("POST", "/api/v1/products", json=body)
        assert response.status_code == 422, (change, response.get_json())
        assert response.mimetype == "application/problem+json"
        errors = response.get_json()["errors"]
        assert any(message in m for m in errors.get(field, [])), (change, errors)
    assert db.session.scalar(select(db.func.count(Product.id))) == 0


def test_ownership_is_checked_by_id_through_the_api(app, client):
    product = ProductFactory()
    variant_id = product.variants[0].id
    secret = make_token(client, UserFactory())
    api = app.test_client()
    url = f"/api/v1/products/{product.id}"
    for method, path, body in (
        ("PATCH", url, {"title": "Mine"}),
        ("DELETE", url, None),
        ("POST", f"{url}/variants", {"option1": "X", "price_minor": 100}),
        ("PATCH", f"{url}/variants/{variant_id}", {"stock": 0}),
        ("DELETE", f"{url}/variants/{variant_id}", None),
        ("PUT", f"{url}/images/order", {"image_ids": []}),
        ("PATCH", f"/api/v1/shops/{product.shop_id}", {"name": "Mine"}),
    ):
        response = api.open(path, method=method, json=body, headers=bearer(secret))
        assert response.status_code == 403, (method, path, response.get_json())
        assert response.mimetype == "application/problem+json"
    upload = api.post(
        f"{url}/images",
        data={"images": [(io.BytesIO(image_bytes()), "x.png")]},
        headers=bearer(secret),
        content_type="multipart/form-data",
    )
    assert upload.status_code == 403
    db.session.refresh(product)
    assert product.title != "Mine" and product.stock_total == 3


def test_anonymous_writes_are_401(app):
    product = ProductFactory()
    anonymous = app.test_client()
    assert anonymous.post("/api/v1/shops", json={"name": "x"}).status_code in (400, 401)
    response = anonymous.patch(
        f"/api/v1/products/{product.id}", json={"title": "x"}, headers=bearer("kdr_nope")
    )
    assert response.status_code == 401


def test_upload_reorder_and_remove_images_through_the_api(app, client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    secret = make_token(client, shop.owner)
    api = app.test_client()
    url = f"/api/v1/products/{product.id}/images"
    response = api.post(
        url,
        data={
            "images": [
                (io.BytesIO(image_bytes(colour=(200, 0, 0))), "a.jpg"),
                (io.BytesIO(image_bytes(colour=(0, 200, 0), fmt="WEBP")), "b.webp"),
            ],
            "alt_text": "Front",
        },
        headers=bearer(secret),
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    first, second = (image["id"] for image in response.get_json())
    assert response.get_json()[0]["alt_text"] == "Front"
    order = api.put(f"{url}/order", json={"image_ids": [second, first]}, headers=bearer(secret))
    assert [i["id"] for i in order.get_json()] == [second, first]
    wrong = api.put(f"{url}/order", json={"image_ids": [second]}, headers=bearer(secret))
    assert wrong.status_code == 422
    product_json = api.get(f"/api/v1/products/{product.id}").get_json()
    assert product_json["cover_url"] == product_json["images"][0]["thumb_url"]
    alt = api.patch(f"{url}/{first}", json={"alt_text": "Back"}, headers=bearer(secret))
    assert alt.get_json()["alt_text"] == "Back"
    assert api.delete(f"{url}/{second}", headers=bearer(secret)).status_code == 204
    assert db.session.scalar(select(db.func.count(ProductImage.id))) == 1
    bad = api.post(
        url,
        data={"images": [(io.BytesIO(b"<svg onload=alert(1)>"), "a.png")]},
        headers=bearer(secret),
        content_type="multipart/form-data",
    )
    assert bad.status_code == 422 and "images" in bad.get_json()["errors"]


def test_delete_through_the_api_reports_the_outcome(app, client):
    shop = ShopFactory()
    product = ProductFactory(shop=shop)
    login(client, shop.owner)
    response = client.api("DELETE", f"/api/v1/products/{product.id}")
    assert response.get_json() == {"outcome": "deleted"}


def test_pause_through_the_api(app, client):
    shop = ShopFactory()
    ProductFactory(shop=shop)
    login(client, shop.owner)
    response = client.api("PATCH", f"/api/v1/shops/{shop.id}", json={"status": "paused"})
    assert response.status_code == 200 and response.get_json()["status"] == "paused"
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/shops/{shop.id}").status_code == 404
    assert anonymous.get("/api/v1/products").get_json()["items"] == []
    assert client.get(f"/api/v1/shops/{shop.id}").status_code == 200  # the owner still sees it


def test_lists_paginate(client):
    shop = ShopFactory()
    for n in range(5):
        ProductFactory(shop=shop, title=f"Item {n}")
    first = client.get("/api/v1/products?per_page=2").get_json()
    assert len(first["items"]) == 2 and first["has_next"] and not first["has_prev"]
    last = client.get("/api/v1/products?per_page=2&page=3").get_json()
    assert len(last["items"]) == 1 and not last["has_next"] and last["has_prev"]
    assert client.get("/api/v1/products?per_page=500").status_code == 422


def test_openapi_documents_the_catalogue(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/shops",
        "/api/v1/shops/{shop_id}",
        "/api/v1/products",
        "/api/v1/products/{product_id}",
        "/api/v1/products/{product_id}/variants",
        "/api/v1/products/{product_id}/images",
        "/api/v1/search",
        "/api/v1/categories",
    ):
        assert path in spec["paths"], path
    upload = spec["paths"]["/api/v1/products/{product_id}/images"]["post"]
    assert "multipart/form-data" in upload["requestBody"]["content"]
    assert "ProductSchema" in str(spec["components"]["schemas"]) or "Product" in str(
        spec["components"]["schemas"]
    )
