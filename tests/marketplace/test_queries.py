"""No N+1: every catalogue page and API list runs the same number of queries whatever the
page size (counted at 2 and at 20 items per page)."""

from __future__ import annotations

import io

import pytest

from marketplace import products as product_services
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory
from tests.marketplace.helpers import count_queries, image_bytes


@pytest.fixture
def app_config(app_config):
    # What building a page costs: the shared page cache would answer the second request.
    return {**app_config, "PAGE_CACHE": "off"}


@pytest.fixture
def big_shop(app):
    shop = ShopFactory(slug="big", name="Big Shop")
    for n in range(22):
        ProductFactory(
            shop=shop,
            title=f"Stoneware piece {n}",
            tags="stoneware",
            option1_name="Size",
            variants=[
                product_services.VariantInput(price_minor=1000 + n, stock=2, option1="S"),
                product_services.VariantInput(price_minor=1200 + n, stock=1, option1="M"),
            ],
        )
    return shop


PAGES = [
    "/",
    "/new",
    "/trending",
    "/categories/home",
    "/categories/home/ceramics",
    "/shops/big",
    "/search?q=stoneware",
    "/search?q=stone&sort=price_asc&in_stock=y&category=home",
    "/search?sort=newest",
    "/@{handle}",
    "/api/v1/products?per_page={n}",
    "/api/v1/products?sort=trending&per_page={n}",
    "/api/v1/search?q=stoneware&per_page={n}",
    "/api/v1/shops/{shop_id}/products?per_page={n}",
    "/api/v1/shops?per_page={n}",
]


def queries_for(app, client, url: str) -> int:
    with count_queries() as statements:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(statements)


@pytest.mark.parametrize("template", PAGES)
def test_public_pages_run_a_constant_number_of_queries(app, client, big_shop, template):
    url_small = template.format(handle=big_shop.owner.handle, shop_id=big_shop.id, n=2)
    url_large = template.format(handle=big_shop.owner.handle, shop_id=big_shop.id, n=20)
    app.config["CATALOGUE_PAGE_SIZE"] = 2
    small = queries_for(app, client, url_small)
    app.config["CATALOGUE_PAGE_SIZE"] = 20
    large = queries_for(app, client, url_large)
    assert small == large, (template, small, large)
    assert large <= 8, (template, large)


def test_product_page_is_constant_whatever_its_variants_and_images(app, client, big_shop):
    few = ProductFactory(shop=big_shop, title="Few")
    many = ProductFactory(
        shop=big_shop,
        title="Many",
        option1_name="Size",
        variants=[
            product_services.VariantInput(price_minor=100 + n, stock=1, option1=f"S{n}")
            for n in range(12)
        ],
    )
    login(client, big_shop.owner)
    client.post_form(
        f"/account/shop/products/{many.id}/images",
        {"images": [(io.BytesIO(image_bytes(colour=(n, 9, 9))), f"{n}.png") for n in range(6)]},
        content_type="multipart/form-data",
    )
    client.post_form("/logout")
    assert queries_for(app, client, f"/products/{few.id}") == queries_for(
        app, client, f"/products/{many.id}"
    )
    assert queries_for(app, client, f"/api/v1/products/{few.id}") == queries_for(
        app, client, f"/api/v1/products/{many.id}"
    )


def test_seller_dashboard_is_constant(app, client, big_shop):
    login(client, big_shop.owner)
    client.get("/account/shop/products")  # warm the session's user
    first_page = queries_for(app, client, "/account/shop/products")
    filtered = queries_for(app, client, "/account/shop/products?page=2")
    assert first_page == filtered
    small = queries_for(app, client, "/api/v1/me/shop/products?per_page=2")
    large = queries_for(app, client, "/api/v1/me/shop/products?per_page=20")
    assert small == large
