"""The demo's generated pictures: their label always fits inside the picture."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops

from app.placeholders import MARGIN, label_layout, placeholder_png

LONG_TITLE = (
    "Hand-thrown stoneware serving bowl with speckled oatmeal glaze, large family size, "
    "dishwasher and microwave safe, made to order in our little workshop by the sea"
)


def _ink(seed: str, text: str, size: tuple[int, int], shape: str = "blobs") -> tuple[int, ...]:
    """Where the label's pixels are: the picture with it against the same picture without."""
    with_text = Image.open(io.BytesIO(placeholder_png(seed, text, size, shape))).convert("RGB")
    without = Image.open(io.BytesIO(placeholder_png(seed, "", size, shape))).convert("RGB")
    box = ImageChops.difference(with_text, without).getbbox()
    assert box is not None, "no label drawn"
    return tuple(box)


@pytest.mark.parametrize("size", [(800, 800), (1600, 400), (256, 256)])
def test_a_long_title_is_drawn_inside_the_picture(size):
    width, height = size
    left, top, right, bottom = _ink("bowl", LONG_TITLE, size)
    assert left > 0 and top > 0 and right < width and bottom < height


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


def test_initials_stay_inside_the_circle():
    left, top, right, bottom = _ink("ana", "Wu Wei", (256, 256), shape="circle")
    assert left > 256 * 0.1 and right < 256 * 0.9 and top > 256 * 0.1 and bottom < 256 * 0.9
