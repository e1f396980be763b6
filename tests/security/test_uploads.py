"""Uploads: every surface that takes a picture, by page and by API, against hostile files.

- Polyglots that are not really pictures (a JPEG header followed by HTML and script, a
  GIF that is also JavaScript, an SVG with a script named .png, PHP behind PNG magic) are
  refused with the form's or the API's "not a JPEG, PNG or WebP image" error;
- a file over 10 MB and pixel bombs (a small file declaring tens of millions of pixels) are
  refused with their own clear error, before anything is decoded; so is a real picture of more
  than 4096 x 4096 pixels (the site shows 2400 at most): a flat 6000 x 6000 PNG is ~100 KB on
  disk and took seconds of CPU to decode and resample;
- a request decodes a bounded number of pixels in all, and each person a bounded number of
  pictures per hour: past those, a clear 413 or 429 (a form error on pages), not a worker
  timing out;
- a refused upload leaves nothing half-saved: no row changed, and no file left on disk, even
  when a good picture came in the same request as a bad one;
- a real picture carrying a payload (HTML after the JPEG's end, script in a comment segment)
  is accepted only as its pixels: what is stored and served is a re-encoded WebP, without it.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import itertools
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from PIL import Image, ImageDraw

from app import media
from tests.conftest import login
from tests.factories import ProductFactory, UserFactory
from tests.security.access import Sender
from tests.security.world import World, build_world, changes, png

NOT_AN_IMAGE = "not a JPEG, PNG or WebP image"
TOO_LARGE = "larger than 10 MB"
TOO_MANY_PIXELS = "too many pixels"
TOO_MUCH_AT_ONCE = "That upload is too large."
SLOW_DOWN = "Too many attempts. Please wait a moment and try again."
SCRIPT = b"<script>alert(document.cookie)</script>"


# --- hostile files -------------------------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(width: int, height: int, *, full: bool) -> bytes:
    """A PNG declaring width x height 1-bit pixels: with `full`, every row really there
    (zeros compress ~1000:1, so a few KB decode into hundreds of MB); else the header only."""
    header = _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
    squeeze = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    rows = height if full else 4
    data = b"".join(squeeze.compress(row) for _ in range(rows)) + squeeze.flush()
    return b"\x89PNG\r\n\x1a\n" + header + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b"")


_colours = itertools.count(1)


def _unique(size: tuple[int, int], fmt: str) -> bytes:
    """A picture no one stored yet (files are named by their content's hash): the bits of a
    counter drawn as black and white squares in the middle, which crops and JPEG keep."""
    n = next(_colours)
    image = Image.new("RGB", size, (30, 120, 200))
    draw = ImageDraw.Draw(image)
    left, top = size[0] // 2 - 16, size[1] // 2 - 16
    for bit in range(16):
        x, y = left + (bit % 4) * 8, top + (bit // 4) * 8
        draw.rectangle((x, y, x + 7, y + 7), fill=(255, 255, 255) if n >> bit & 1 else (0, 0, 0))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


@functools.cache
def flat_png(width: int, height: int) -> bytes:
    """A real picture of one colour (and a dark square): tiny on disk, however large."""
    image = Image.new("RGB", (width, height), (200, 200, 200))
    ImageDraw.Draw(image).rectangle((10, 10, 200, 200), fill=(10, 20, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def unique_png() -> bytes:
    return _unique((64, 48), "PNG")


def jpeg() -> bytes:
    return _unique((64, 48), "JPEG")


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (8, 8)).save(out, "GIF")
    return out.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    """A valid JPEG with a COM segment (where payloads hide) right after its start marker."""
    data = jpeg()
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


@dataclass(frozen=True)
class Payload:
    name: str
    filename: str
    data: Callable[[], bytes]
    error: str


REFUSED = [
    Payload(
        "JPEG header then HTML",
        "photo.jpg",
        lambda: (
            b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            + b"<html><body>"
            + SCRIPT
            + b"</body></html>"
        ),
        NOT_AN_IMAGE,
    ),
    Payload(
        "GIF that is also JavaScript",
        "photo.gif",
        lambda: b"GIF89a/*" + gif()[8:] + b"*/=1;alert(document.domain);//",
        NOT_AN_IMAGE,
    ),
    Payload("a real GIF (not accepted)", "photo.gif", gif, NOT_AN_IMAGE),
    Payload(
        "SVG with a script, named .png",
        "photo.png",
        lambda: b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">' + SCRIPT + b"</svg>",
        NOT_AN_IMAGE,
    ),
    Payload(
        "PHP behind PNG magic",
        "shell.php.png",
        lambda: b"\x89PNG\r\n\x1a\n<?php system($_GET['c']); ?>",
        NOT_AN_IMAGE,
    ),
    Payload(
        "over 10 MB",
        "huge.png",
        lambda: png()[:-12] + b"\x00" * (10 * 1024 * 1024 + 1),
        TOO_LARGE,
    ),
    Payload(
        "pixel bomb: 8000 x 6000 in a few KB",
        "bomb.png",
        lambda: png_bomb(8000, 6000, full=True),
        TOO_MANY_PIXELS,
    ),
    Payload(
        "pixel bomb: 100000 x 100000 header",
        "bomb.png",
        lambda: png_bomb(100_000, 100_000, full=False),
        TOO_MANY_PIXELS,
    ),
    Payload(
        "a real 6000 x 6000 PNG of ~100 KB, beyond what the site shows",
        "poster.png",
        lambda: flat_png(6000, 6000),
        TOO_MANY_PIXELS,
    ),
]
# Real pictures with something riding along: stored as their pixels only.
CARRIERS = [
    Payload("JPEG then HTML after its end", "photo.jpg", lambda: jpeg() + SCRIPT, ""),
    Payload("JPEG with script in a comment", "photo.jpg", lambda: jpeg_with_comment(SCRIPT), ""),
    Payload(
        "PNG with PHP in a text chunk",
        "photo.png",
        lambda: (lambda p: p[:-12] + _png_chunk(b"tEXt", b"Comment\x00<?php ?>") + p[-12:])(
            unique_png()
        ),
        "",
    ),
]


# --- where pictures go in -------------------------------------------------------------------------


@dataclass(frozen=True)
class Surface:
    """One way to upload a picture: the URL, the file field, the rest of a valid request."""

    name: str
    method: str
    url: Callable[[dict[str, Any]], str]
    field: str
    form: Callable[[dict[str, Any]], dict[str, Any]] = lambda o: {}
    who: str = "owner"  # or "newcomer": someone new for each request (no shop yet)
    multiple: bool = False  # the field takes several files

    @property
    def api(self) -> bool:
        return self.name.endswith("(API)")


def _shop_form(o: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": o.get("shop_name", "Olivia's"),
        "slug": o["shop_slug"],
        "shipping_flat": "5.00",
        "processing_days": "3",
        "curator_commission": "10",
    }


SURFACES = [
    Surface("avatar (page)", "POST", lambda o: "/account/", "avatar", lambda o: {"locale": ""}),
    Surface("shop logo (page)", "POST", lambda o: "/account/shop/", "logo", _shop_form),
    Surface("shop banner (page)", "POST", lambda o: "/account/shop/", "banner", _shop_form),
    Surface(
        "new shop's logo (page)",
        "POST",
        lambda o: "/account/shop/open",
        "logo",
        _shop_form,
        who="newcomer",
    ),
    Surface(
        "new product's pictures (page)",
        "POST",
        lambda o: "/account/shop/products/new",
        "images",
        lambda o: {
            "title": "A new vase",
            "category": "home/ceramics",
            "condition": "new",
            "status": "active",
            "price": "30.00",
            "stock": "2",
        },
        multiple=True,
    ),
    Surface(
        "product pictures (page)",
        "POST",
        lambda o: f"/account/shop/products/{o['product_id']}/images",
        "images",
        multiple=True,
    ),
    Surface(
        "new pick's photo (page)",
        "POST",
        lambda o: "/picks/new",
        "photo",
        # A product she has not picked yet, each time.
        lambda o: {"product_id": ProductFactory().id, "note": "Love it."},
    ),
    Surface(
        "pick photo (page)",
        "POST",
        lambda o: f"/picks/{o['pick_id']}/edit",
        "photo",
        lambda o: {"note": "Still love it."},
    ),
    Surface(
        "new collection's cover (page)",
        "POST",
        lambda o: "/collections/new",
        "cover",
        lambda o: {"title": "Blue things", "is_public": "y"},
    ),
    Surface(
        "collection cover (page)",
        "POST",
        lambda o: f"/collections/{o['collection_id']}/edit",
        "cover",
        lambda o: {"title": "Renamed", "is_public": "y"},
    ),
    Surface(
        "new idea's pictures (page)",
        "POST",
        lambda o: f"/shops/{o['seller_shop_slug']}/ideas/new",
        "images",
        lambda o: {"call": o["seller_call_id"], "title": "A deeper bowl", "description": "Ramen."},
        multiple=True,
    ),
    Surface(
        "idea pictures (page)",
        "POST",
        lambda o: f"/ideas/{o['own_idea_id']}/edit",
        "images",
        lambda o: {"title": "A deeper bowl", "description": "For ramen, and soup."},
        multiple=True,
    ),
    Surface("shop logo (API)", "PUT", lambda o: f"/api/v1/shops/{o['shop_id']}/logo", "image"),
    Surface("shop banner (API)", "PUT", lambda o: f"/api/v1/shops/{o['shop_id']}/banner", "image"),
    Surface(
        "product pictures (API)",
        "POST",
        lambda o: f"/api/v1/products/{o['product_id']}/images",
        "images",
        multiple=True,
    ),
    Surface("pick photo (API)", "PUT", lambda o: f"/api/v1/picks/{o['pick_id']}/photo", "image"),
    Surface(
        "collection cover (API)",
        "PUT",
        lambda o: f"/api/v1/collections/{o['collection_id']}/cover",
        "image",
    ),
    Surface(
        "idea picture (API)", "POST", lambda o: f"/api/v1/ideas/{o['own_idea_id']}/images", "image"
    ),
]


# --- the checks ---------------------------------------------------------------------------------


def stored_files(app: Any) -> set[str]:
    root = Path(app.config["UPLOAD_DIR"])
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


class Uploader:
    def __init__(self, world: World):
        self.world = world
        self.senders: dict[str, Sender] = {}

    def sender(self, who: str) -> tuple[Sender, dict[str, Any]]:
        """Who sends, and the objects the request names."""
        if who == "newcomer":
            client = self.world.app.test_client()
            newcomer = UserFactory()
            assert login(client, newcomer).status_code == 302
            slug = f"shop-of-{newcomer.handle}"
            return Sender(client), {"shop_slug": slug, "shop_name": slug}  # type: ignore[arg-type]
        if who not in self.senders:
            self.senders[who] = Sender(self.world.client(who))
        return self.senders[who], dict(self.world.shared)

    def send(
        self, surface: Surface, files: list[tuple[bytes, str]], **more: tuple[bytes, str]
    ) -> Any:
        """Upload `files` through the surface (and `more` files in other fields)."""
        sender, objects = self.sender(surface.who)
        body: dict[str, Any] = dict(surface.form(objects))
        body.update({name: (io.BytesIO(data), filename) for name, (data, filename) in more.items()})
        attached = [(io.BytesIO(data), name) for data, name in files]
        body[surface.field] = attached if surface.multiple else attached[0]
        url = surface.url(objects)
        headers = {"X-CSRFToken": sender.csrf_token()} if surface.api else {}
        if not surface.api:
            body["csrf_token"] = sender.csrf_token()
        response = sender.client.open(url, method=surface.method, data=body, headers=headers)
        sender.take_error_flash()
        return response


def refused_clearly(surface: Surface, response: Any, message: str) -> str | None:
    """Why the answer is not a clear refusal, or None when it is."""
    text = response.get_data(as_text=True)
    if surface.api:
        if response.status_code not in (413, 422):
            return f"status {response.status_code}"
        if response.mimetype != "application/problem+json":
            return f"not problem+json: {response.mimetype}"
        errors = (response.get_json() or {}).get("errors") or {}
        if not any(message in m for ms in errors.values() for m in ms):
            return f"no field error saying {message!r}: {errors}"
        return None
    if response.status_code not in (413, 422):
        return f"status {response.status_code}"
    if message not in text:
        return f"the page does not say {message!r}"
    return None


@pytest.fixture
def app_config(app_config):
    # These tests send hundreds of pictures as one person; the per-person limit has its own.
    app_config["RATELIMIT_UPLOADS"] = ""
    return app_config


@pytest.fixture
def uploader(app) -> Uploader:
    return Uploader(build_world(app, purchases=False))


def test_hostile_and_oversized_files_are_refused_everywhere_and_nothing_is_kept(app, uploader):
    failures = []
    for surface in SURFACES:
        rows, files = uploader.world.fingerprint(), stored_files(app)
        for payload in REFUSED:
            response = uploader.send(surface, [(payload.data(), payload.filename)])
            why = refused_clearly(surface, response, payload.error)
            if why:
                failures.append(f"{surface.name}: {payload.name}: {why}")
            if stored_files(app) != files:
                failures.append(f"{surface.name}: {payload.name}: files left on disk")
                files = stored_files(app)
        failures += [f"{surface.name}: {c}" for c in changes(rows, uploader.world.fingerprint())]
    assert not failures, "\n".join(failures)


def test_a_good_picture_with_a_bad_one_keeps_neither(app, uploader):
    """Requests with several pictures (several files, or a shop's logo and banner): the
    first is fine, the other is not."""
    failures = []
    bad = REFUSED[0]
    shop_forms = [s for s in SURFACES if s.field == "logo" and not s.api]
    for surface in [s for s in SURFACES if s.multiple] + shop_forms:
        rows, files = uploader.world.fingerprint(), stored_files(app)
        if surface.multiple:
            response = uploader.send(surface, [(unique_png(), "a.png"), (bad.data(), "b.png")])
        else:
            response = uploader.send(
                surface, [(unique_png(), "logo.png")], banner=(bad.data(), bad.filename)
            )
        why = refused_clearly(surface, response, bad.error)
        if why:
            failures.append(f"{surface.name}: {why}")
        failures += [f"{surface.name}: {c}" for c in changes(rows, uploader.world.fingerprint())]
        left = stored_files(app) - files
        if left:
            failures.append(f"{surface.name}: {len(left)} files of the good picture left on disk")
    assert not failures, "\n".join(failures)


def test_real_pictures_are_kept_as_their_pixels_only(app, client, uploader):
    """The control for the refusals above (each surface takes a real picture), and proof that
    whatever rode along is gone: every stored file is a re-encoded WebP without it."""
    failures = []
    for surface in SURFACES:
        for payload in CARRIERS:
            files = stored_files(app)
            response = uploader.send(surface, [(payload.data(), payload.filename)])
            if not 200 <= response.status_code < 400:
                failures.append(f"{surface.name}: {payload.name}: {response.status_code}")
                continue
            new = sorted(stored_files(app) - files)
            if not new:
                failures.append(f"{surface.name}: {payload.name}: nothing stored")
            for key in new:
                data = (Path(app.config["UPLOAD_DIR"]) / key).read_bytes()
                if not (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
                    failures.append(f"{surface.name}: {payload.name}: {key} is not a WebP")
                if b"<script" in data or b"<?php" in data:
                    failures.append(f"{surface.name}: {payload.name}: {key} kept the payload")
                served = client.get(f"/media/{key}")
                if served.headers["Content-Type"] != "image/webp" or (
                    served.headers.get("X-Content-Type-Options") != "nosniff"
                ):
                    failures.append(f"{surface.name}: {key} served as {served.headers}")
    assert not failures, "\n".join(failures)


@pytest.fixture
def small_requests(app_config):
    app_config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    return app_config


def test_a_request_over_the_size_limit_is_refused_before_it_is_read(small_requests, app):
    """Beyond MAX_CONTENT_LENGTH (64 MB by default; 2 MB here) the request is cut off with a
    clear 413, on pages and API alike."""
    uploader = Uploader(build_world(app, purchases=False))
    for surface in (SURFACES[0], SURFACES[-1]):
        response = uploader.send(surface, [(b"\x00" * (3 * 1024 * 1024), "big.png")])
        assert response.status_code == 413, surface.name
        if surface.api:
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["title"] == "Too large"
        else:
            assert "That upload is too large." in response.get_data(as_text=True)


# --- what a request and a person may spend --------------------------------------------------------


def test_a_request_decodes_a_bounded_number_of_pixels(app, uploader, monkeypatch):
    """Past the request's pixel budget (20 phone photos' worth; two small pictures' here) the
    next picture is refused with a clear 413, and none of the request's pictures is kept."""
    monkeypatch.setattr(media, "PIXELS_PER_REQUEST", 2 * 64 * 48)
    failures = []
    for surface in [s for s in SURFACES if s.multiple]:
        rows, files = uploader.world.fingerprint(), stored_files(app)
        response = uploader.send(surface, [(unique_png(), f"{n}.png") for n in range(3)])
        why = refused_clearly(surface, response, TOO_MUCH_AT_ONCE)
        if why:
            failures.append(f"{surface.name}: {why}")
        failures += [f"{surface.name}: {c}" for c in changes(rows, uploader.world.fingerprint())]
        if stored_files(app) != files:
            failures.append(f"{surface.name}: files left on disk")
    assert not failures, "\n".join(failures)


@pytest.fixture
def few_uploads(app_config) -> Iterator[Any]:
    app_config["RATELIMIT_UPLOADS"] = "2 per hour"
    with time_machine.travel(datetime(2030, 1, 1, 12, tzinfo=UTC), tick=False) as clock:
        yield clock


def test_each_person_sends_a_bounded_number_of_pictures(few_uploads, app):
    """Two pictures an hour here: the third is refused, on pages with the form's error and in
    the API with a 429 problem; another person (from the same address) is not held back; an
    hour later the first person may send again."""
    uploader = Uploader(build_world(app, purchases=False))
    avatar, pick_api = SURFACES[0], next(s for s in SURFACES if s.name == "pick photo (API)")
    for _ in range(2):
        assert uploader.send(avatar, [(unique_png(), "me.png")]).status_code == 302
    refused = uploader.send(avatar, [(unique_png(), "me.png")])
    assert refused_clearly(avatar, refused, SLOW_DOWN) is None
    refused = uploader.send(pick_api, [(unique_png(), "pick.png")])
    assert refused.status_code == 429, refused.get_data(as_text=True)
    assert refused.mimetype == "application/problem+json"
    assert list(refused.get_json()["errors"].values()) == [[SLOW_DOWN]]

    someone_else = dataclasses.replace(avatar, who="newcomer")
    assert uploader.send(someone_else, [(unique_png(), "me.png")]).status_code == 302

    few_uploads.shift(3601)
    assert uploader.send(pick_api, [(unique_png(), "pick.png")]).status_code == 200
