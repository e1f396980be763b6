"""Uploaded images: checked by decoding, re-encoded, stored with thumbnails.

A file is accepted only when Pillow decodes it as JPEG, PNG or WebP, whatever its name or
declared type says. It is re-encoded from its pixels (so nothing hidden in the file survives:
no EXIF location, no appended payload), turned upright by its EXIF orientation first, and
refused when its pixel count would make decoding a memory bomb. Stored files are named by the
hash of their content under the upload folder and served at /media/<key>.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from flask import Blueprint, Flask, abort, current_app, send_from_directory
from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from app import urls
from app.rules import RuleViolation

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000  # e.g. 8000 by 5000; beyond that decoding is refused outright
MAX_SIDE = 2400  # stored originals are scaled down to fit this box
WEBP_QUALITY = 85


@dataclass
class StoredImage:
    key: str
    width: int
    height: int
    thumbnails: dict[int, str] = field(default_factory=dict)


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


def decode_image(data: bytes, *, field_name: str = "image") -> Image.Image:
    """Decode untrusted bytes into an upright RGB(A) image, or refuse them."""
    not_an_image = RuleViolation(_("That file is not a JPEG, PNG or WebP image."), field=field_name)
    too_big = RuleViolation(_("That image has too many pixels."), field=field_name)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            probe = Image.open(io.BytesIO(data))
            if probe.format not in ACCEPTED_FORMATS:
                raise not_an_image
            width, height = probe.size
            if width * height > MAX_PIXELS or width < 1 or height < 1:
                raise too_big
            probe.verify()  # structural check; the object is unusable afterwards
            opened = Image.open(io.BytesIO(data))
            opened.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise too_big from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise not_an_image from None
    if getattr(opened, "n_frames", 1) > 1:
        opened.seek(0)
    image: Image.Image = ImageOps.exif_transpose(opened) or opened
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    return image.convert("RGBA" if has_alpha else "RGB")


def prepare_image(
    data: bytes,
    *,
    thumbnail_sizes: tuple[int, ...] = (),
    square: bool = False,
    field_name: str = "image",
) -> PreparedImage:
    """Check and re-encode an upload (and its thumbnails) in memory; nothing is written."""
    image = decode_image(data, field_name=field_name)
    if square:
        side = min(image.size)
        image = ImageOps.fit(image, (side, side))
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    prepared = PreparedImage(StoredImage(key="", width=image.width, height=image.height))
    prepared.stored.key = prepared.add(_encode(image), ".webp")
    for size in thumbnail_sizes:
        thumb = ImageOps.fit(image, (size, size)) if square else image.copy()
        thumb.thumbnail((size, size), Image.Resampling.LANCZOS)
        prepared.stored.thumbnails[size] = prepared.add(_encode(thumb), ".webp")
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
