"""Uploaded images: checked by decoding, re-encoded, stored with thumbnails.

A file is accepted only when Pillow decodes it as JPEG, PNG or WebP, whatever its name or
declared type says. It is re-encoded from its pixels (so nothing hidden in the file survives:
no EXIF location, no appended payload), turned upright by its EXIF orientation first, and
stored files are named by the hash of their content under the upload folder and served at
/media/<key>.

What a picture may cost is bounded before it is decoded, from its header alone (Pillow opens
lazily: the size is known before any pixel is). The site never shows more than MAX_SIDE pixels
on a side, so a picture may decode into at most MAX_DECODED_PIXELS (4096 x 4096, 1.7 times
that on a side: a 12-megapixel phone photo fits). A JPEG may declare four times as many,
because it is decoded at a half, a quarter or an eighth of its size when that still covers
what is stored (`draft`); PNG and WebP cannot be, so what they declare is what they cost. (Below
that cap a picture is never twice what is stored on both sides, so there is nothing for
`Image.reduce` to do before resampling it; thumbnails, made from what is stored, are reduced
first by `thumbnail`'s reducing gap.)

A request decodes at most IMAGES_PER_REQUEST pictures and PIXELS_PER_REQUEST pixels in all,
and each person at most RATELIMIT_UPLOADS pictures (a moving window, in the rate limiter's
storage): past those, an upload is refused with a clear error, never a worker timing out.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    has_request_context,
    request,
    send_from_directory,
)
from flask_babel import gettext as _
from flask_login import current_user
from limits import parse_many
from limits.storage import MovingWindowSupport
from limits.strategies import MovingWindowRateLimiter
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from app import urls
from app.extensions import limiter
from app.rules import RuleViolation

ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2400  # stored originals are scaled down to fit this box; thumbnails are smaller
# What one picture may decode into: about 1.7 x MAX_SIDE on a side (2.6 x the widest
# thumbnail shown, a shop's 1600-pixel banner). Beyond it, refused before decoding.
MAX_DECODED_PIXELS = 4096 * 4096
# What a JPEG may declare: `draft` decodes it at half size (or less) into MAX_DECODED_PIXELS.
MAX_DECLARED_PIXELS = 4 * MAX_DECODED_PIXELS
# One request: the most pictures any form takes (a product's 20), and the pixels decoded in
# all: enough for those 20 to be 12-megapixel phone photos (4032 x 3024, too close to what is
# stored to be decoded smaller), which is 14 pictures at the cap. The work after decoding
# (resampling, encoding) is bounded by the same count, so this bounds a request's CPU.
IMAGES_PER_REQUEST = 20
PIXELS_PER_REQUEST = IMAGES_PER_REQUEST * 4032 * 3024
WEBP_QUALITY = 85

# EXIF orientation -> the transposition that turns the picture upright.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class UploadRateLimited(RuleViolation):
    """A person sent more pictures than RATELIMIT_UPLOADS allows: a 429, with the seconds until
    the next one is taken in `retry_after` (for a Retry-After header)."""

    status = 429

    def __init__(self, message: str, *, field: str | None, retry_after: int) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


@dataclass
class StoredImage:
    key: str
    width: int
    height: int
    thumbnails: dict[int, str] = field(default_factory=dict)
    # Each thumbnail's real width (a small upload is never enlarged to the size asked for).
    widths: dict[int, int] = field(default_factory=dict)

    def by_width(self) -> dict[str, str]:
        """Each distinct thumbnail by its real width, as `media_srcset` takes them."""
        return {str(self.widths[size]): key for size, key in self.thumbnails.items()}


def _upload_dir() -> Path:
    return Path(current_app.config["UPLOAD_DIR"])


@dataclass
class PreparedImage:
    """An image checked and encoded, with its files not written yet (see `save`)."""

    stored: StoredImage
    files: dict[str, bytes] = field(default_factory=dict)

    def add(self, data: bytes, suffix: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = f"{digest[:2]}/{digest}{suffix}"
        self.files[key] = data
        return key


def _write(key: str, data: bytes) -> None:
    path = _upload_dir() / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue()


def read_upload(stream: IO[bytes], *, field_name: str = "image") -> bytes:
    data = stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise RuleViolation(
            _("That image is larger than %(mb)d MB.", mb=MAX_UPLOAD_BYTES // (1024 * 1024)),
            field=field_name,
            status=413,
        )
    if not data:
        raise RuleViolation(_("That file is empty."), field=field_name)
    return data


# --- what a request and a person may spend ----------------------------------------------------


def _too_much_for_one_request(field_name: str) -> RuleViolation:
    return RuleViolation(_("That upload is too large."), field=field_name, status=413)


@dataclass
class _RequestSpend:
    images: int = 0
    pixels: int = 0


def _spent() -> _RequestSpend:
    # Kept on the request itself: `g` lives as long as the app context, which a request may
    # share with the code around it (a test, a command making requests).
    spend: _RequestSpend = request.environ.setdefault("kindred.media_spend", _RequestSpend())
    return spend


def _uploader() -> str:
    if current_user and current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    return f"address:{request.remote_addr or 'unknown'}"


def _take_upload_slot(field_name: str) -> None:
    """Count one more picture against this request and its sender, or refuse it."""
    if not has_request_context():
        return  # the command line (seeding), not a person
    spent = _spent()
    if spent.images >= IMAGES_PER_REQUEST:
        raise _too_much_for_one_request(field_name)
    spent.images += 1
    rule = current_app.config.get("RATELIMIT_UPLOADS") or ""
    if not rule or not limiter.enabled:
        return
    storage = limiter.storage
    if not isinstance(storage, MovingWindowSupport):  # pragma: no cover (memory and Redis do)
        return
    window = MovingWindowRateLimiter(storage)
    who = _uploader()
    items = parse_many(rule)
    for item in items:
        if not window.test(item, "uploads", who):
            reset_at = window.get_window_stats(item, "uploads", who).reset_time
            raise UploadRateLimited(
                _("Too many attempts. Please wait a moment and try again."),
                field=field_name,
                retry_after=max(1, math.ceil(reset_at - time.time())),
            )
    for item in items:
        window.hit(item, "uploads", who)


def _spend_pixels(pixels: int, field_name: str) -> None:
    if not has_request_context():
        return
    spent = _spent()
    if spent.pixels + pixels > PIXELS_PER_REQUEST:
        raise _too_much_for_one_request(field_name)
    spent.pixels += pixels


# --- decoding ---------------------------------------------------------------------------------


def _stored_size(width: int, height: int, *, square: bool = False) -> tuple[int, int]:
    """The size a picture of width x height is stored at (cropped square first if `square`)."""
    if square:
        side = min(width, height, MAX_SIDE)
        return side, side
    scale = min(1.0, MAX_SIDE / width, MAX_SIDE / height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except (OSError, ValueError, SyntaxError, KeyError, TypeError):
        return 1  # unreadable EXIF: the picture as it is stored


def decode_image(data: bytes, *, field_name: str = "image", square: bool = False) -> Image.Image:
    """Decode untrusted bytes into an upright RGB(A) image, or refuse them.

    A JPEG larger than what is stored of it (`_stored_size`, the same whichever way up the
    picture is) is decoded at the smallest of 1/2, 1/4, 1/8 of its size that still covers it.
    """
    not_an_image = RuleViolation(_("That file is not a JPEG, PNG or WebP image."), field=field_name)
    too_big = RuleViolation(_("That image has too many pixels."), field=field_name)
    _take_upload_slot(field_name)
    try:
        probe = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        width, height = probe.size
        declared_cap = MAX_DECLARED_PIXELS if probe.format == "JPEG" else MAX_DECODED_PIXELS
        if width < 1 or height < 1 or width * height > declared_cap:
            raise too_big
        probe.verify()  # structural check; the object is unusable afterwards
        opened = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        target = _stored_size(width, height, square=square)
        opened.draft(None, target)  # JPEG: decode at 1/2, 1/4 or 1/8 if that still covers it
        decoded = opened.width * opened.height
        if decoded > MAX_DECODED_PIXELS:
            raise too_big
        _spend_pixels(decoded, field_name)
        if getattr(opened, "n_frames", 1) > 1:
            opened.seek(0)
        opened.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        # Pillow's own, far higher limit (Image.MAX_IMAGE_PIXELS), met when opening: an error
        # past twice it; a warning past it, raised only where warnings are made errors. Not
        # turned into errors here: warnings.catch_warnings is not safe in threaded workers.
        raise too_big from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise not_an_image from None
    upright = _UPRIGHT.get(_orientation(opened))
    has_alpha = "A" in opened.mode or (opened.mode == "P" and "transparency" in opened.info)
    mode = "RGBA" if has_alpha else "RGB"
    image: Image.Image = opened.transpose(upright) if upright is not None else opened
    return image.convert(mode) if image.mode != mode else image


def prepare_image(
    data: bytes,
    *,
    thumbnail_sizes: tuple[int, ...] = (),
    square: bool = False,
    field_name: str = "image",
) -> PreparedImage:
    """Check and re-encode an upload (and its thumbnails) in memory; nothing is written."""
    image = decode_image(data, field_name=field_name, square=square)
    if square:
        side = min(image.size)
        image = ImageOps.fit(image, (side, side))
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    prepared = PreparedImage(StoredImage(key="", width=image.width, height=image.height))
    prepared.stored.key = prepared.add(_encode(image), ".webp")
    for size in thumbnail_sizes:
        if not square and max(image.size) <= size:  # fits already: the stored picture is it
            prepared.stored.thumbnails[size] = prepared.stored.key
            prepared.stored.widths[size] = image.width
            continue
        thumb = ImageOps.fit(image, (size, size)) if square else image.copy()
        thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
        prepared.stored.thumbnails[size] = prepared.add(_encode(thumb), ".webp")
        prepared.stored.widths[size] = thumb.width
    return prepared


def save(*prepared: PreparedImage) -> list[StoredImage]:
    """Write prepared images. Prepare every image of a request first, then save them all, so
    a refused one leaves no file of the others behind."""
    for image in prepared:
        for key, data in image.files.items():
            _write(key, data)
    return [image.stored for image in prepared]


def store_image(
    data: bytes,
    *,
    thumbnail_sizes: tuple[int, ...] = (),
    square: bool = False,
    field_name: str = "image",
) -> StoredImage:
    """Check, re-encode and store one image."""
    prepared = prepare_image(
        data, thumbnail_sizes=thumbnail_sizes, square=square, field_name=field_name
    )
    return save(prepared)[0]


def store_images(
    uploads: Sequence[bytes], *, thumbnail_sizes: tuple[int, ...] = (), field_name: str = "image"
) -> list[StoredImage]:
    """Store several images, all or none: each is checked before any file is written."""
    return save(
        *[
            prepare_image(data, thumbnail_sizes=thumbnail_sizes, field_name=field_name)
            for data in uploads
        ]
    )


def read_stored(key: str) -> bytes:
    """The bytes of an image stored before (to make another image from it)."""
    if ".." in key or key.startswith("/"):
        raise ValueError(f"not a media key: {key!r}")
    return (_upload_dir() / key).read_bytes()


def media_url(key: str | None) -> str | None:
    # Remembered: a page of product cards asks for dozens of these.
    return urls.url_for("media.file", key=key) if key else None


def media_srcset(widths: Mapping[str, str] | None) -> str:
    """A `srcset` from stored thumbnails keyed by their width ({"400": key, ...}): each URL
    with its width, narrowest first, so the browser fetches the one the layout needs."""
    if not widths:
        return ""
    ordered = sorted(widths.items(), key=lambda item: int(item[0]))
    return ", ".join(f"{media_url(key)} {width}w" for width, key in ordered)


blueprint = Blueprint("media", __name__)


@blueprint.get("/media/<path:key>")
def file(key: str):
    if ".." in key or key.startswith("/"):
        abort(404)
    response = send_from_directory(_upload_dir(), key, max_age=31536000)
    response.headers["Content-Type"] = "image/webp"
    return response


def init_app(app: Flask) -> None:
    app.register_blueprint(blueprint)
    app.jinja_env.globals["media_url"] = media_url
    app.jinja_env.globals["media_srcset"] = media_srcset
