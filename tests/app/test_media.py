"""What one picture, one request and one person may cost the server (issue #16, finding 4).

A 130 KB PNG of 6320 x 6320 pixels decodes into 40 million of them. These tests bound the work
without timing it: they count the pixels Pillow is asked to decode (the size of an image when
its pixels are loaded) and check where the refusals fall. The speed itself is measured by
`bench/uploads.py`, against an ordinary photo in the same run.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine
from PIL import Image, ImageDraw, ImageFile

from app import media
from app.rules import RuleViolation

TOO_MANY_PIXELS = "That image has too many pixels."
TOO_LARGE = "That upload is too large."
SLOW_DOWN = "Too many attempts. Please wait a moment and try again."


def picture(size: tuple[int, int], fmt: str, **options: Any) -> bytes:
    """One colour and a dark square: small on disk however many pixels it has."""
    image = Image.new("RGB", size, (200, 200, 200))
    ImageDraw.Draw(image).rectangle((10, 10, 200, 200), fill=(10, 20, 30))
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height RGB pixels, and whose pixels do not decompress."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    return b"\x89PNG\r\n\x1a\n" + header + chunk(b"IDAT", b"not zlib") + chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """A small JPEG whose frame header is made to declare width x height."""
    data = bytearray(picture((16, 16), "JPEG"))
    frame = data.index(b"\xff\xc0")  # SOF0: length (2), precision (1), height (2), width (2)
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The size of every image Pillow decodes, taken as its pixels are loaded (after `draft`
    has made a JPEG smaller, so it is what the decoder really produces)."""
    sizes: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        if self.tile:  # pixels not loaded yet: this call decodes them
            sizes.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    return sizes


# --- one picture ---------------------------------------------------------------------------


def test_the_pixel_cap_is_what_the_site_shows_not_forty_million(decoded):
    """The largest picture the site shows is the stored original, MAX_SIDE (2400) on a side;
    a picture may decode into 4096 x 4096 at most. The issue's file is 40 million pixels, and
    a 6000 x 6000 one (36 million, ~100 KB) was under the old cap: both are refused from their
    header, before a single pixel is decoded, even where warnings are errors."""
    for data in (picture((6000, 6000), "PNG"), png_header(6320, 6320), png_header(4097, 4096)):
        with pytest.raises(RuleViolation, match=TOO_MANY_PIXELS) as refused:
            media.prepare_image(data, thumbnail_sizes=(1200, 400), field_name="images")
        assert refused.value.errors == {"images": [TOO_MANY_PIXELS]}
    # Past Pillow's own bomb limit (a warning, an error at twice it): the same clear refusal.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for data in (png_header(10_000, 10_000), png_header(100_000, 100_000)):
            with pytest.raises(RuleViolation, match=TOO_MANY_PIXELS):
                media.prepare_image(data)
    assert decoded == []
    assert media.MAX_DECODED_PIXELS == 4096 * 4096 <= (2 * media.MAX_SIDE) ** 2


def test_a_png_at_the_cap_is_taken():
    stored = media.prepare_image(picture((4096, 4096), "PNG"), thumbnail_sizes=(400,)).stored
    assert (stored.width, stored.height) == (2400, 2400)


def test_a_large_jpeg_is_decoded_at_the_smallest_size_that_covers_what_is_stored(decoded):
    """A 24-megapixel photo is stored at 2400 x 1600: it is decoded at half size (6 million
    pixels, not 24), still larger than what is stored. Turned by its EXIF orientation, the
    same: what is stored is the same size whichever way up."""
    photo = picture((6000, 4000), "JPEG")
    stored = media.prepare_image(photo, thumbnail_sizes=(1200, 400)).stored
    assert (stored.width, stored.height) == (2400, 1600)
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: turn 90 degrees clockwise to view
    turned = picture((6000, 4000), "JPEG", exif=exif.tobytes())
    stored = media.prepare_image(turned, thumbnail_sizes=(1200,)).stored
    assert (stored.width, stored.height) == (1600, 2400)
    assert decoded == [(3000, 2000), (3000, 2000)]


def test_a_jpeg_may_declare_four_times_the_cap_since_it_decodes_at_half(decoded):
    stored = media.prepare_image(picture((8192, 8192), "JPEG"), thumbnail_sizes=(400,)).stored
    assert (stored.width, stored.height) == (2400, 2400)
    assert decoded == [(4096, 4096)]
    with pytest.raises(RuleViolation, match=TOO_MANY_PIXELS):
        media.prepare_image(jpeg_header(8193, 8192))
    # A picture cropped square (an avatar) needs its short side whole: not made smaller.
    media.prepare_image(picture((4000, 2400), "JPEG"), thumbnail_sizes=(256,), square=True)
    assert decoded[1:] == [(4000, 2400)]


# --- one request ---------------------------------------------------------------------------


def test_a_request_decodes_at_most_twenty_pictures(app):
    """As many as the largest form takes (a product's pictures); each picture counts, the
    ones refused too. Outside a request (seeding the demo) there is no such count."""
    tiny = picture((24, 24), "PNG")
    with app.test_request_context("/", method="POST"):
        for _ in range(20):
            media.prepare_image(tiny)
        with pytest.raises(RuleViolation, match=TOO_LARGE) as refused:
            media.prepare_image(tiny, field_name="images")
        assert refused.value.status == 413
        assert refused.value.errors == {"images": [TOO_LARGE]}
    with app.test_request_context("/", method="POST"):
        media.prepare_image(tiny)  # the next request starts afresh
    for _ in range(21):
        media.prepare_image(tiny)


def test_a_request_decodes_at_most_its_pixel_budget(app, decoded):
    """The budget is spent before decoding, by what the decoder would produce: fourteen
    pictures at the cap (here declared only, so each then fails to decode) use it up."""
    at_cap = png_header(4096, 4096)
    fit = 14  # twenty 12-megapixel phone photos
    with app.test_request_context("/", method="POST"):
        for _ in range(fit):
            with pytest.raises(RuleViolation, match="not a JPEG, PNG or WebP image"):
                media.prepare_image(at_cap)
        with pytest.raises(RuleViolation, match=TOO_LARGE):
            media.prepare_image(at_cap)
    assert decoded == [(4096, 4096)] * fit
    assert fit == media.PIXELS_PER_REQUEST // media.MAX_DECODED_PIXELS


# --- one person ----------------------------------------------------------------------------


@pytest.fixture
def clock() -> Iterator[Any]:
    with time_machine.travel(datetime(2030, 1, 1, 12, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def test_a_person_sends_at_most_the_configured_pictures_in_a_moving_window(app, clock):
    app.config["RATELIMIT_UPLOADS"] = "3 per hour"
    tiny = picture((24, 24), "PNG")

    def upload() -> None:
        with app.test_request_context("/", method="POST"):
            media.prepare_image(tiny, field_name="photo")

    upload()
    clock.shift(600)
    upload()
    upload()
    with pytest.raises(RuleViolation, match=SLOW_DOWN) as refused:
        upload()
    assert isinstance(refused.value, media.UploadRateLimited)
    assert refused.value.status == 429
    assert refused.value.errors == {"photo": [SLOW_DOWN]}
    assert refused.value.retry_after == 3000  # when the first of the three leaves the window
    clock.shift(3001)
    upload()  # the first has left the window; the other two have not
    with pytest.raises(RuleViolation, match=SLOW_DOWN):
        upload()
    app.config["RATELIMIT_UPLOADS"] = ""  # turned off
    upload()


def test_thumbnails_keep_their_real_width_and_a_picture_that_fits_is_not_encoded_twice(app):
    with app.app_context():
        stored = media.store_image(
            picture((600, 300), "PNG"), thumbnail_sizes=(1200, 800, 400, 200)
        )
    assert stored.widths == {1200: 600, 800: 600, 400: 400, 200: 200}
    # Already small enough for 1200 and 800: those thumbnails are the stored picture itself.
    assert stored.thumbnails[1200] == stored.thumbnails[800] == stored.key
    assert stored.by_width() == {
        "600": stored.key,
        "400": stored.thumbnails[400],
        "200": stored.thumbnails[200],
    }


def test_a_srcset_lists_each_width_narrowest_first(app):
    with app.test_request_context("/"):
        srcset = media.media_srcset(
            {"800": "ab/big.webp", "200": "ab/small.webp", "400": "ab/mid.webp"}
        )
        assert (
            srcset == "/media/ab/small.webp 200w, /media/ab/mid.webp 400w, /media/ab/big.webp 800w"
        )
        assert media.media_srcset({}) == "" and media.media_srcset(None) == ""
