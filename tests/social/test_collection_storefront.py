"""A collection is its curator's storefront: a cover, the curator, notes on the items, "Add to
cart" that credits the curator, share links; and a person's collections are a grid of covers."""

from __future__ import annotations

import re

from app.extensions import db
from marketplace import products as product_services
from marketplace.order_models import CartLine
from social import posts
from social.models import CartAttribution, Collection, ShareLink
from tests.factories import CollectionFactory, ProductFactory, UserFactory
from tests.social.helpers import as_user, page_text


def with_picture(product, key: str):
    product.cover_key = key
    db.session.commit()
    return product


def storefront(client, collection) -> str:
    response = client.get(f"/collections/{collection.id}")
    assert response.status_code == 200
    return page_text(response)


def grid(html: str) -> str:
    return html[html.index('class="storefront-grid"') : html.index("</ol>")]


def post_through(client, url: str, fields: dict) -> object:
    """Post the form, then post it again where the 307 says, as a browser does (the test
    client's own redirect following sends the second request without its body)."""
    fields = {**fields, "csrf_token": client.csrf_token()}
    response = client.post(url, data=fields)
    # The click on the curator's link is recorded, and the same form goes to the cart's route.
    assert response.status_code == 307 and response.headers["Location"].endswith("/cart/add")
    return client.post(response.headers["Location"], data=fields)


def test_the_cover_is_a_mosaic_of_the_first_four_pictures_or_the_first_one(app, client):
    products = [with_picture(ProductFactory(), f"covers/p{n}.webp") for n in range(5)]
    many = CollectionFactory(products=products)
    html = storefront(client, many)
    cover = html[html.index('class="collection-cover') : html.index('class="storefront-intro"')]
    assert 'class="collection-mosaic"' in cover
    assert re.findall(r"covers/p(\d)\.webp", cover) == ["0", "1", "2", "3"]
    # Fewer than four pictures: the first product's.
    few = CollectionFactory(products=[ProductFactory(), products[3], products[4]])
    html = storefront(client, few)
    cover = html[html.index('class="collection-cover') : html.index('class="storefront-intro"')]
    assert "collection-mosaic" not in cover and re.findall(r"covers/p(\d)", cover) == ["3"]
    # A cover the owner chose wins over the products' pictures.
    db.session.get(Collection, many.id).cover_key = "covers/chosen.webp"
    db.session.commit()
    html = storefront(client, many)
    cover = html[html.index('class="collection-cover') : html.index('class="storefront-intro"')]
    assert "covers/chosen.webp" in cover and "collection-mosaic" not in cover


def test_the_storefront_shows_the_curator_notes_and_count(app, client):
    curator = UserFactory(display_name="Chloé Martin")
    collection = CollectionFactory(owner=curator, title="Calm mornings", description="Slow starts.")
    mug, bowl = ProductFactory(title="Stoneware mug"), ProductFactory(title="Oak bowl")
    posts.add_item(curator, collection, mug.id, "I drink from it every day.")
    posts.add_item(curator, collection, bowl.id)
    db.session.commit()
    shopper = UserFactory()
    as_user(client, shopper)
    html = storefront(client, collection)
    assert "Calm mornings" in html and "Slow starts." in html and "2 products" in html
    # The curator, with a follow button.
    head = html[html.index('class="storefront-curator"') :]
    assert "Chloé Martin" in head[:2000]
    assert f'action="/people/{curator.handle}/follow"' in head[:2000]
    items = grid(html)
    assert items.index("Stoneware mug") < items.index("I drink from it every day.")
    assert items.index("I drink from it every day.") < items.index("Oak bowl")
    assert items.count('class="store-note"') == 1


def test_add_to_cart_from_a_collection_credits_the_curator(app, client):
    curator = UserFactory()
    mug = ProductFactory(title="Stoneware mug", price_minor=3200)
    collection = CollectionFactory(owner=curator, products=[mug])
    shopper = UserFactory()
    as_user(client, shopper)
    html = storefront(client, collection)
    form = re.search(
        r'<form method="post" action="(/collections/\d+/cart)"[^>]*>(.*?)</form>', html, re.S
    )
    assert form is not None and "Add to cart" in form.group(2)
    fields = dict(re.findall(r'name="(\w+)" value="([^"]*)"', form.group(2)))
    assert fields["product_id"] == str(mug.id)
    assert fields["variant_id"] == str(mug.variants[0].id)
    response = post_through(client, form.group(1), fields)
    assert response.status_code == 302 and response.headers["Location"].endswith("/cart")
    assert "Stoneware mug" in page_text(client.get("/cart"))
    db.session.commit()
    (line,) = db.session.scalars(db.select(CartLine)).all()
    assert line.product_id == mug.id and line.quantity == 1
    attribution = db.session.get(CartAttribution, line.id)
    assert attribution is not None and attribution.curator_id == curator.id
    link = db.session.get(ShareLink, collection.share_link_id)
    assert attribution.share_link_id == link.id and link.clicks == 1 and link.add_to_carts >= 1


def test_a_guest_adds_to_cart_from_a_collection_too(app, client):
    curator = UserFactory()
    mug = ProductFactory()
    collection = CollectionFactory(owner=curator, products=[mug])
    fields = {"product_id": mug.id, "variant_id": mug.variants[0].id, "quantity": 1}
    assert post_through(client, f"/collections/{collection.id}/cart", fields).status_code == 302
    db.session.commit()
    (line,) = db.session.scalars(db.select(CartLine)).all()
    assert db.session.get(CartAttribution, line.id).curator_id == curator.id


def test_a_product_not_in_the_collection_is_refused(app, client):
    collection = CollectionFactory(products=[ProductFactory()])
    other = ProductFactory()
    response = client.post_form(
        f"/collections/{collection.id}/cart",
        {"product_id": other.id, "variant_id": other.variants[0].id},
    )
    assert response.status_code == 404
    assert client.post_form(f"/collections/{collection.id}/cart", {}).status_code == 404
    db.session.commit()
    assert db.session.scalars(db.select(CartLine)).all() == []


def test_a_product_with_options_links_out_to_choose_them(app, client):
    tee = ProductFactory(
        title="Linen tee",
        option1_name="Size",
        variants=[
            product_services.VariantInput(price_minor=2500, stock=3, option1="S"),
            product_services.VariantInput(price_minor=2500, stock=3, option1="M"),
        ],
    )
    sold_out = ProductFactory(title="Gone vase", stock=0)
    collection = CollectionFactory(products=[tee, sold_out])
    html = storefront(client, collection)
    card = grid(html)
    tee_card = card[card.index("Linen tee") : card.index("Gone vase")]
    code = collection.share_link.code
    # Through the curator's link, as the collection's product links go.
    assert f'href="/s/{code}?p={tee.id}"' in tee_card and "Choose options" in tee_card
    assert "/cart" not in tee_card
    gone_card = card[card.index("Gone vase") :]
    assert "Sold out" in gone_card and "/cart" not in gone_card


def test_share_links_for_everyone(app, client):
    collection = CollectionFactory(products=[ProductFactory()])
    code = collection.share_link.code
    # A visitor not signed in gets the curator's link to copy.
    html = storefront(client, collection)
    assert re.search(rf'id="share-url"[^>]*value="https?://[^"]+/s/{code}"', html)
    # Someone signed in makes a link of their own (social.sharing).
    sharer = UserFactory()
    as_user(client, sharer)
    html = storefront(client, collection)
    assert 'action="/share"' in html and 'name="target_type" value="collection"' in html
    response = client.post_form("/share", {"target_type": "collection", "target_id": collection.id})
    assert response.status_code == 302
    db.session.commit()
    own = db.session.scalars(db.select(ShareLink).where(ShareLink.sharer_id == sharer.id)).one()
    assert own.target_type == "collection" and own.target_id == collection.id


def test_an_empty_collection_says_so(app, client):
    owner = UserFactory(display_name="Dev Patel")
    collection = CollectionFactory(owner=owner, title="Soon")
    html = storefront(client, collection)
    assert "This collection is empty." in html and "Dev Patel has not added anything yet." in html
    assert 'class="storefront-grid"' not in html
    as_user(client, owner)
    html = storefront(client, collection)
    assert "Add products from any product page." in html
    assert f'href="/collections/{collection.id}/edit"' in html


def test_the_owner_keeps_the_edit_controls(app, client):
    owner = UserFactory()
    mug, bowl = ProductFactory(title="Mug one"), ProductFactory(title="Bowl two")
    collection = CollectionFactory(owner=owner, products=[mug, bowl])
    as_user(client, owner)
    html = storefront(client, collection)
    assert f"/collections/{collection.id}/items/{bowl.id}/up" in html
    assert f"/collections/{collection.id}/items/{mug.id}/note" in html
    assert f"/collections/{collection.id}/items/{mug.id}/remove" in html
    as_user(client, UserFactory())
    assert "/remove" not in grid(storefront(client, collection))


def test_a_persons_collections_are_a_grid_of_covers(app, client):
    owner = UserFactory()
    pictured = [with_picture(ProductFactory(), f"covers/q{n}.webp") for n in range(4)]
    CollectionFactory(owner=owner, title="Four pictures", products=pictured)
    CollectionFactory(owner=owner, title="One picture", products=[ProductFactory(), pictured[2]])
    CollectionFactory(owner=owner, title="No picture")
    html = page_text(client.get(f"/@{owner.handle}/collections"))
    grid_html = html[html.index('class="collection-grid"') :]
    cards = {
        re.search(r'collection-card-title">([^<]+)<', card).group(1): card
        for card in grid_html.split('class="collection-card"')[1:]
    }
    assert sorted(cards) == ["Four pictures", "No picture", "One picture"]
    assert "collection-mosaic" in cards["Four pictures"]
    assert re.findall(r"covers/q(\d)", cards["Four pictures"]) == ["0", "1", "2", "3"]
    assert re.findall(r"covers/q(\d)", cards["One picture"]) == ["2"]
    assert "<img" not in cards["No picture"] and "social-noimage" in cards["No picture"]
