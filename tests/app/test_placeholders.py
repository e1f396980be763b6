"""The demo's generated pictures: products drawn as what they are, in every view, the same
every time for a seed; initials measured to fit their disc."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from app import placeholders
from app.placeholders import (
    KINDS,
    MARGIN,
    banner_png,
    initials,
    initials_png,
    kind_for,
    label_layout,
    placeholder_png,
    product_pictures,
    product_png,
)
from marketplace.seed import DEMO_SHOPS

LONG_TITLE = (
    "Hand-thrown stoneware serving bowl with speckled oatmeal glaze, large family size, "
    "dishwasher and microwave safe, made to order in our little workshop by the sea"
)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        (LONG_TITLE, (800, 800)),
        ("Atelier de la Grande Céramique Contemporaine du Sud-Ouest", (1600, 400)),
        ("Mug", (800, 800)),
    ],
)
def test_the_label_wraps_and_shrinks_to_fit_the_width(text, size):
    width, height = size
    layout = label_layout(text, size)
    assert 1 <= len(layout.lines) <= 3
    for left, top, right, bottom in layout.boxes:
        assert width * MARGIN <= left and right <= width * (1 - MARGIN)
        assert top >= 0 and bottom <= height
    shown = " ".join(layout.lines)
    assert shown == text or shown.endswith("…")


def test_a_short_title_keeps_its_size_and_an_endless_word_ends_in_an_ellipsis():
    assert label_layout("Mug").font_size == int(800 * 0.09)
    endless = label_layout("W" * 400, (120, 120))
    assert endless.lines[-1].endswith("…")
    assert all(
        left >= 120 * MARGIN and right <= 120 * (1 - MARGIN)
        for left, _t, right, _b in endless.boxes
    )


def _image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return image.convert("RGB")


def _colours(image: Image.Image) -> int:
    return len(image.getcolors(maxcolors=1 << 20) or ())


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_drawn_as_something_on_a_soft_background(kind):
    image = _image(product_png(f"demo-{kind}", kind, (400, 400)))
    assert image.size == (400, 400)
    assert _colours(image) > 200  # shaded, not a flat square
    corner = image.getpixel((2, 2))
    assert sum(corner) / 3 > 170  # a pale background
    # The thing itself stands out from the background near the middle of the picture.
    middle = image.crop((100, 100, 300, 300))
    background = Image.new("RGB", middle.size, corner)
    differs = (
        ImageChops.difference(middle, background).convert("L").point(lambda v: 255 if v > 24 else 0)
    )
    assert differs.histogram()[255] > 200 * 200 * 0.08


@pytest.mark.parametrize("size", [(800, 800), (256, 256), (1200, 800), (300, 500)])
def test_pictures_come_at_the_size_asked_for(size):
    assert _image(product_png("sizes", "mug", size)).size == size
    assert _image(initials_png("sizes", "Ana Duarte", size)).size == size
    assert _image(banner_png("sizes", size)).size == size


def test_a_seed_always_gives_the_same_picture_and_another_seed_another():
    assert product_png("ana-1", "bowl") == product_png("ana-1", "bowl")
    assert product_png("ana-1", "bowl") != product_png("ana-2", "bowl")
    assert initials_png("ana", "Ana Duarte") == initials_png("ana", "Ana Duarte")
    assert banner_png("shop") == banner_png("shop") != banner_png("other shop")


def test_a_gallery_has_different_views_of_the_same_thing():
    views = product_pictures("atelier-0", "Speckled stoneware mug", "home/ceramics", 4, (200, 200))
    assert len(views) == 4 and len(set(views)) == 4
    front = _image(views[0])
    for other in views[1:]:
        assert ImageChops.difference(front, _image(other)).getbbox() is not None


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown kind"):
        product_png("x", "spaceship")


@pytest.mark.parametrize(
    ("title", "category", "kind"),
    [
        ("Speckled stoneware mug", "home/ceramics", "mug"),
        ("Hand-thrown serving bowl", "home/ceramics", "bowl"),
        ("Set of four dinner plates", "home/ceramics", "plates"),
        ("Ribbed bud vase", "home/decor", "vase"),
        ("Espresso cups, pair", "home/ceramics", "cups"),
        ("Olive oil pourer", "home/kitchen", "bottle"),
        ("Ceramic planter with saucer", "home/decor", "planter"),
        ("Levi's type III trucker jacket", "clothing/outerwear", "jacket"),
        ("Denim chore shirt, light wash", "clothing/tops", "shirt"),
        ("Denim patchwork tote", "accessories/bags", "tote"),
        ("Sweater pattern: The Fjord", "craft/patterns", "pattern"),
        ("Ribbed wool socks", "clothing/knitwear", "socks"),
        ("Levi's 501 from the 90s, stonewash", "clothing/jeans-trousers", "jeans"),
        ("Soy candle, fig and cedar", "home/decor", "candle"),
        ("Silver ring with a moonstone", "accessories/jewellery", "ring"),
        ("Something nobody names", "clothing/knitwear", "jumper"),
        ("Something nobody names", "clothing/hats", "jacket"),
        ("Something nobody names", "", "box"),
    ],
)
def test_the_kind_comes_from_the_title_then_the_category(title, category, kind):
    assert kind_for(title, category) == kind


def test_every_demo_product_is_drawn_as_what_it_is():
    for spec in DEMO_SHOPS:
        for title, category, *_rest in spec["products"]:
            kind = kind_for(title, category)
            assert kind != "box", title
            # Not only its category's fallback: its own words chose it (or agree with it).
            fallback = placeholders.CATEGORY_KINDS.get(category)
            assert kind == fallback or any(
                word in title.lower() for word, k in placeholders.TITLE_WORDS if k == kind
            ), title


def test_denim_is_blue_and_leather_brown():
    denim = _image(
        product_png("j", "jacket", (200, 200), tint=placeholders.tint_for("Denim jacket"))
    )
    r, _g, b = denim.getpixel((70, 125))
    assert b > r + 30


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Ana Duarte", "AD"),
        ("Kindred Team", "KT"),
        ("emma", "E"),
        ("Atelier de la Mer", "AD"),
        ("", ""),
    ],
)
def test_initials_are_the_first_letters_of_two_words(name, expected):
    assert initials(name) == expected


def _ink(data: bytes, without: bytes) -> tuple[int, int, int, int]:
    box = ImageChops.difference(_image(data), _image(without)).getbbox()
    assert box is not None, "no initials drawn"
    return box


@pytest.mark.parametrize("size", [(256, 256), (96, 96), (64, 64)])
@pytest.mark.parametrize("name", ["Wu Wei", "Mmmmmmmm Wwwwwwww", "Ana Duarte"])
def test_initials_stay_inside_their_disc(monkeypatch, name, size):
    drawn = initials_png("ana", name, size)
    monkeypatch.setattr(placeholders, "_draw_label", lambda *args: None)
    left, top, right, bottom = _ink(drawn, initials_png("ana", name, size))
    w, h = size
    assert left > w * 0.12 and right < w * 0.88 and top > h * 0.12 and bottom < h * 0.88


def test_a_logo_fills_its_square_and_an_avatar_sits_in_a_disc():
    logo = _image(initials_png("shop", "Atelier Duarte", (96, 96), shape="tile"))
    avatar = _image(initials_png("shop", "Atelier Duarte", (96, 96)))
    assert max(sum(logo.getpixel((x, y))) / 3 for x in (1, 94) for y in (1, 94)) < 180
    assert sum(avatar.getpixel((1, 1))) / 3 > 200  # the pale ground around the disc


def test_the_older_entry_point_draws_initials_or_a_product():
    assert placeholder_png("ana", "Ana Duarte", (128, 128), shape="circle") == initials_png(
        "ana", "Ana Duarte", (128, 128)
    )
    assert placeholder_png("m", "Speckled mug", (128, 128)) == product_png("m", "mug", (128, 128))
