"""Anonymous pages from the shared cache: served without work, never stale, never someone
else's (app/page_cache.py)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sqlalchemy import update

from app import create_app, page_cache
from app.extensions import db
from marketplace import products
from marketplace.models import Product, ProductVariant, ShopStatus
from tests.conftest import CSRF_RE, KindredClient, login
from tests.factories import CollectionFactory, ProductFactory, UserFactory
from tests.marketplace.helpers import count_queries


def text_of(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return str(response.get_data(as_text=True))


def test_a_second_visitor_gets_the_page_without_a_query(client):
    path = f"/products/{ProductFactory(title='Speckled mug').id}"
    first = client.get(path)
    assert "Speckled mug" in text_of(first)
    other = KindredClient(client.application, client.response_wrapper)
    with count_queries() as seen:
        again = other.get(path)
    assert "Speckled mug" in text_of(again)
    assert seen == [], seen


@pytest.mark.parametrize("path", ["/", "/search?q=mug", "/new", "/categories/home/ceramics"])
def test_a_price_change_is_on_every_page_at_once(client, path):
    product = ProductFactory(title="Speckled mug", price_minor=1200, category="home/ceramics")
    assert "12.00" in text_of(client.get(path))
    assert "12.00" in text_of(client.get(path))  # now from the cache
    # As the seller's quick edit does it: the variant and the product's kept lowest price.
    edit = products.QuickEdit(status=None)
    edit.variants[product.variants[0].id] = (1850, None)
    products.quick_edit(product.shop.owner, product, edit)
    db.session.commit()
    html = text_of(client.get(path))
    assert "18.50" in html and "12.00" not in html


def test_a_sell_out_written_as_one_statement_is_shown_at_once(client):
    product = ProductFactory(title="Last teapot", stock=1)
    assert "Sold out" not in text_of(client.get(f"/products/{product.id}"))
    db.session.execute(
        update(ProductVariant).where(ProductVariant.product_id == product.id).values(stock=0)
    )
    db.session.commit()
    assert "Sold out" in text_of(client.get(f"/products/{product.id}"))


def test_a_change_rolled_back_leaves_the_cache_alone_and_a_savepoint_does_not_hide_one(client):
    product = ProductFactory(title="Linen apron")
    client.get(f"/products/{product.id}")
    version = page_cache.current_version()
    db.session.execute(update(Product).where(Product.id == product.id).values(title="Nope"))
    db.session.rollback()
    db.session.commit()
    assert page_cache.current_version() == version
    # A public write, then a savepoint rolled back, then the commit: the write is still there.
    db.session.execute(update(Product).where(Product.id == product.id).values(title="Apron"))
    try:
        with db.session.begin_nested():
            db.session.execute(update(Product).where(Product.id == -1).values(title="x"))
            raise RuntimeError
    except RuntimeError:
        pass
    db.session.commit()
    assert page_cache.current_version() > version
    assert "Apron" in text_of(client.get(f"/products/{product.id}"))


def test_a_cart_or_a_sign_in_does_not_empty_the_cache(client):
    product = ProductFactory(title="Oak board")
    shopper = UserFactory()
    client.get(f"/products/{product.id}")
    version = page_cache.current_version()
    login(client, shopper)
    client.post_form("/cart/add", {"variant_id": product.variants[0].id, "quantity": 1})
    assert page_cache.current_version() == version


def test_signed_in_people_get_their_own_page_and_never_share_it(client):
    product = ProductFactory(title="Wool throw")
    client.get(f"/products/{product.id}")
    person = UserFactory(display_name="Zoé Signed-In")
    login(client, person)
    mine = client.get(f"/products/{product.id}")
    assert "Zoé Signed-In" in text_of(mine) or person.handle in text_of(mine)
    assert mine.headers.get("ETag") is None
    client.post_form("/logout")
    anonymous = text_of(client.get(f"/products/{product.id}"))
    assert "Zoé Signed-In" not in anonymous and f"@{person.handle}" not in anonymous


def test_a_guest_with_a_cart_sees_it_in_the_header(client):
    product = ProductFactory(title="Ash spoon", stock=5)
    stranger = KindredClient(client.application, client.response_wrapper)
    stranger.get("/")  # the empty-cart page is cached
    client.post_form("/cart/add", {"variant_id": product.variants[0].id, "quantity": 2})
    header = re.search(r'href="/cart"[^>]*>(.*?)</a>', text_of(client.get("/")), re.S)
    assert header is not None and "2" in header.group(1)


def test_a_message_waiting_is_shown_not_skipped(client):
    user = UserFactory()
    client.get("/")
    login(client, user)
    response = client.post_form("/logout", follow_redirects=True)
    assert "logged out" in text_of(response).lower() or "signed out" in text_of(response).lower()


def test_each_visitor_gets_a_working_csrf_token_of_their_own(app, client):
    product = ProductFactory(title="Clay bowl", stock=5)
    first = text_of(client.get(f"/products/{product.id}"))
    stranger = KindredClient(app, client.response_wrapper)
    second = stranger.get(f"/products/{product.id}")
    html = text_of(second)
    assert second.headers["Cache-Control"] == "private, no-cache"
    token = CSRF_RE.search(html)
    assert token is not None and token.group(1) not in first
    added = stranger.post(
        "/cart/add",
        data={"variant_id": product.variants[0].id, "quantity": 1, "csrf_token": token.group(1)},
    )
    assert added.status_code == 302, added.get_data(as_text=True)[:500]
    assert "Clay bowl" in text_of(stranger.get("/cart"))


def test_validators_give_a_304_and_a_proxy_may_keep_a_page(client):
    ProductFactory(title="Birch tray")
    page = client.get("/")
    assert page.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert {"Cookie", "Accept-Language"} <= {v.strip() for v in page.headers["Vary"].split(",")}
    etag = page.headers["ETag"]
    assert page.headers["Last-Modified"]
    unchanged = client.get("/", headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.get_data() == b""
    ProductFactory(title="Elm tray")
    db.session.commit()
    changed = client.get("/", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "Elm tray" in text_of(changed)


def test_each_language_has_its_own_copy(client):
    ProductFactory(title="Cup")
    english = text_of(client.get("/", headers={"Accept-Language": "en"}))
    french = text_of(client.get("/", headers={"Accept-Language": "fr"}))
    assert "New arrivals" in english and "New arrivals" not in french
    assert 'lang="fr"' in french


def test_errors_and_odd_queries_are_not_kept(client):
    bad = client.get("/search?min_price=abc")
    assert bad.status_code == 422
    assert "ETag" not in bad.headers
    assert client.get("/products/999999").status_code == 404


def test_off_means_off(app, app_config):
    app_config["PAGE_CACHE"] = "off"
    app = create_app(app_config)
    with app.app_context():
        assert not page_cache.enabled()
        ProductFactory(title="Pine box")
        db.session.commit()
        response = app.test_client().get("/")
        assert "ETag" not in response.headers
        db.session.remove()


@pytest.fixture
def redis_url() -> str:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis is part of every machine this suite runs on (127.0.0.1:6379)")
    return url


def test_on_redis_a_change_through_one_process_is_seen_by_another(app, app_config, redis_url):
    # Two apps stand for two workers; they share only Redis (and the database).
    prefix = f"test-{uuid.uuid4().hex}"
    config = {**app_config, "REDIS_URL": redis_url, "PAGE_CACHE": "redis", "JOBS_INLINE": True}
    one, two = create_app(config), create_app(config)
    for each in (one, two):
        each.config["CACHE_KEY_PREFIX"] = prefix
        each.extensions["cache"][page_cache.cache].key_prefix = prefix
    with one.app_context():
        assert type(page_cache.cache.cache).__name__ == "RedisCache"
        product = ProductFactory(title="Walnut spoon", price_minor=900)
        db.session.commit()
        product_id = product.id
        db.session.remove()
    with two.app_context():
        assert "9.00" in text_of(two.test_client().get(f"/products/{product_id}"))
        db.session.remove()
    with one.app_context():
        product = db.session.get(Product, product_id)
        assert product is not None
        edit = products.QuickEdit(status=None)
        edit.variants[product.variants[0].id] = (1100, None)
        products.quick_edit(product.shop.owner, product, edit)
        db.session.commit()
        db.session.remove()
    with two.app_context():
        html = text_of(two.test_client().get(f"/products/{product_id}"))
        assert "11.00" in html and "9.00" not in html
        db.session.remove()


# --- signed-in people: one shared shell, each one's own parts --------------------------------


def _shells() -> list[page_cache.Shell]:
    """Every shell in the process's cache."""
    store = page_cache.cache.cache
    kept = [store.get(key) for key in list(store._cache)]
    return [value for value in kept if isinstance(value, page_cache.Shell)]


def test_signed_in_people_share_the_page_but_each_sees_their_own_parts(app, client):
    from social import reactions
    from social.models import Target

    product = ProductFactory(title="Felted slippers", stock=5)
    ada = UserFactory(handle="ada", display_name="Ada Quill")
    ben = UserFactory(handle="ben", display_name="Ben Ink")
    CollectionFactory(owner=ben, title="Ben's winter list")
    reactions.like(ben, Target.PRODUCT, product.id)
    db.session.commit()
    path = f"/products/{product.id}"

    login(client, ada)
    client.get(path)  # shows "welcome back", so rendered for Ada alone
    first = text_of(client.get(path))
    assert "@ada" in first and "Felted slippers" in first
    assert 'aria-pressed="false"' in first  # Ada has not liked it

    other = KindredClient(app, client.response_wrapper)
    login(other, ben)
    other.post_form(
        "/cart/add", {"variant_id": product.variants[0].id, "quantity": 3}, follow_redirects=True
    )
    with count_queries() as seen:
        second = other.get(path)
    html = text_of(second)
    # Ben's own header, like and collections; nothing of Ada's.
    assert "@ben" in html and "@ada" not in html and "Ada Quill" not in html
    assert 'aria-pressed="true"' in html
    assert "Ben&#39;s winter list" in html or "Ben's winter list" in html
    cart = re.search(r'href="/cart"[^>]*>(.*?)</a>', html, re.S)
    assert cart is not None and "3" in cart.group(1)
    assert second.headers["Cache-Control"] == "private, no-cache"
    assert "kindred-part-" not in html
    # From the shell: the product, its pictures, picks and collections are not read again.
    tables = " ".join(seen)
    assert "FROM products" not in tables and "FROM picks" not in tables, seen
    # What is kept holds nobody's name, handle or token.
    shells = _shells()
    assert shells
    for shell in shells:
        kept = "".join(shell.page.texts)
        for secret in ("@ada", "Ada Quill", "@ben", "Ben Ink", "winter list"):
            assert secret not in kept


def test_each_signed_in_visitor_gets_a_working_token_from_the_shell(app, client):
    product = ProductFactory(title="Rush basket", stock=5)
    login(client, UserFactory())
    client.get(f"/products/{product.id}")
    other = KindredClient(app, client.response_wrapper)
    login(other, UserFactory())
    html = text_of(other.get(f"/products/{product.id}"))
    tokens = set(CSRF_RE.findall(html))
    assert len(tokens) == 1  # the buy box's, the like's and the header's: the visitor's own
    added = other.post(
        "/cart/add",
        data={"variant_id": product.variants[0].id, "quantity": 1, "csrf_token": tokens.pop()},
    )
    assert added.status_code == 302


def test_the_shop_owner_gets_their_own_page_after_the_shell_is_made(app, client):
    product = ProductFactory(title="Hand-thrown jug", stock=5)
    owner = product.shop.owner
    login(client, UserFactory())
    shared = text_of(client.get(f"/products/{product.id}"))
    assert "Edit product" not in shared and "Add to cart" in shared
    mine = KindredClient(app, client.response_wrapper)
    login(mine, owner)
    html = text_of(mine.get(f"/products/{product.id}"))
    assert "Edit product" in html and "you cannot buy from it" in html
    # And the other way round: the owner first, then someone else.
    again = ProductFactory(title="Glazed jug", shop=product.shop, stock=5)
    assert "Edit product" in text_of(mine.get(f"/products/{again.id}"))
    assert "Edit product" not in text_of(client.get(f"/products/{again.id}"))


def test_a_draft_is_shown_to_its_owner_only(app, client):
    product = ProductFactory(title="Secret teapot", stock=5)
    product.listed = False
    product.status = "draft"
    db.session.commit()
    login(client, UserFactory())
    client.get("/")  # "welcome back" shown: the next pages may come from shells
    assert client.get(f"/products/{product.id}").status_code == 404
    mine = KindredClient(app, client.response_wrapper)
    login(mine, product.shop.owner)
    mine.get("/")
    assert "Secret teapot" in text_of(mine.get(f"/products/{product.id}"))
    # A paused shop likewise: its page is its owner's.
    product.shop.status = ShopStatus.PAUSED
    db.session.commit()
    assert client.get(f"/shops/{product.shop.slug}").status_code == 404
    assert product.shop.name in text_of(mine.get(f"/shops/{product.shop.slug}"))


def test_a_like_is_on_the_likers_next_page(client):
    product = ProductFactory(title="Wicker lamp")
    person = UserFactory()
    login(client, person)
    path = f"/products/{product.id}"
    assert 'aria-pressed="false"' in text_of(client.get(path))
    client.post_form(f"/like/product/{product.id}", {"next": path})
    html = text_of(client.get(path))
    assert 'aria-pressed="true"' in html and "(1)" in html


def test_a_message_waiting_for_a_signed_in_person_is_shown(client):
    product = ProductFactory(title="Cork mat", stock=5)
    login(client, UserFactory())
    client.get(f"/products/{product.id}")
    added = client.post_form(
        "/cart/add",
        {"variant_id": product.variants[0].id, "quantity": 1, "next": f"/products/{product.id}"},
        follow_redirects=True,
    )
    assert "flash" in text_of(added)


def test_administrators_get_their_own_page(app, client):
    product = ProductFactory(title="Slate coaster")
    login(client, UserFactory())
    client.get(f"/products/{product.id}")
    admin = KindredClient(app, client.response_wrapper)
    login(admin, UserFactory(is_admin=True, handle="boss"))
    html = text_of(admin.get(f"/products/{product.id}"))
    assert "@boss" in html and "Moderation" in html


@pytest.mark.parametrize(
    "path", ["/", "/new", "/trending", "/categories", "/categories/home/ceramics", "/search?q=mug"]
)
def test_listings_are_shared_by_signed_in_people_too(app, client, path):
    ProductFactory(title="Speckled mug", category="home/ceramics")
    first, second = UserFactory(handle="first"), UserFactory(handle="second")
    login(client, first)
    client.get(path)
    assert "@first" in text_of(client.get(path))
    other = KindredClient(app, client.response_wrapper)
    login(other, second)
    other.get(path)
    with count_queries() as seen:
        html = text_of(other.get(path))
    assert "@second" in html and "@first" not in html
    assert not any("FROM products" in statement for statement in seen), seen


def test_a_shop_page_is_shared_but_its_owner_gets_their_own(app, client):
    product = ProductFactory(title="Oak ladle")
    login(client, UserFactory())
    path = f"/shops/{product.shop.slug}"
    client.get(path)
    shared = text_of(client.get(path))
    assert "Oak ladle" in shared and "Edit shop" not in shared
    owner = KindredClient(app, client.response_wrapper)
    login(owner, product.shop.owner)
    owner.get(path)
    assert "Edit shop" in text_of(owner.get(path))


def test_a_shared_page_that_would_save_its_nobody_is_refused(app, client):
    from app import page_parts
    from social.models import Collection

    with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="nobody"), page_parts.as_nobody():
            from flask_login import current_user

            db.session.add(Collection(owner=current_user._get_current_object(), title="x"))
        assert not any(isinstance(o, type(page_parts.nobody())) for o in db.session.new)
        db.session.rollback()
