"""What one uploaded picture costs the server's CPU, as a ratio to an ordinary photo.

    .venv/bin/python -m bench.uploads              # 5 runs of each picture
    .venv/bin/python -m bench.uploads --runs 9

Each picture goes through `app.media.prepare_image` (the checks, decoding, re-encoding and
thumbnails every upload route runs) with a product's thumbnail sizes, in this process, and the
CPU time of each run is read with `time.process_time`. The baseline is a 1200 x 1200 photo-like
JPEG (the size a product page shows), measured in the same run: on a machine shared with other
work the seconds move, the ratios much less. The pictures:

* the hostile PNG of issue #16: 6320 x 6320 pixels of one colour, about 130 KB on disk, which
  decodes into 40 million pixels;
* the largest PNG still accepted (a PNG cannot be decoded at a reduced size, so this is the
  worst single picture the site takes), flat like the hostile one;
* a 12-megapixel phone photo (4032 x 3024 JPEG), too close to the stored size (2400 on a
  side) to be decoded smaller, and a 24-megapixel one (6000 x 4000), decoded at half size;
* computed from those: the worst request (as many of the largest accepted PNGs as one request
  may carry, by its count and pixel budget) and a product's 20 pictures as 12-megapixel photos.

A refused picture is timed too (refusing it is its whole cost) and marked "refused".
"""

from __future__ import annotations

import argparse
import io
import math
import statistics
import time
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFilter

from app import media
from app.rules import RuleViolation

PRODUCT_SIZES = (1200, 400)  # marketplace.products.IMAGE_SIZES


def photo_jpeg(width: int, height: int) -> bytes:
    """Something like a photo: smooth gradients under fine noise, which JPEG cannot flatten."""
    noise = Image.effect_noise((width, height), 48).filter(ImageFilter.GaussianBlur(1))
    ramp = Image.linear_gradient("L").resize((width, height))
    across = Image.linear_gradient("L").transpose(Image.Transpose.ROTATE_90).resize((width, height))
    image = Image.merge("RGB", (noise, ramp, across))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=88)
    return out.getvalue()


def flat_png(side: int) -> bytes:
    """A picture of one colour but for one small square: a few hundred KB at most."""
    image = Image.new("RGB", (side, side), (200, 200, 200))
    ImageDraw.Draw(image).rectangle((10, 10, 200, 200), fill=(10, 20, 30))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def largest_accepted_side() -> int:
    """The side of the largest square PNG the site takes."""
    return math.isqrt(media.MAX_DECODED_PIXELS)


def per_request_images() -> int:
    """How many of the largest accepted pictures one request may carry."""
    side = largest_accepted_side()
    return max(1, min(media.IMAGES_PER_REQUEST, media.PIXELS_PER_REQUEST // (side * side)))


def cpu_seconds(work: Callable[[], object], runs: int) -> tuple[float, bool]:
    """The median CPU time of `work`, and whether it was refused."""
    times = []
    refused = False
    for _ in range(runs):
        start = time.process_time()
        try:
            work()
        except RuleViolation:
            refused = True
        times.append(time.process_time() - start)
    return statistics.median(times), refused


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each picture (median)")
    args = parser.parse_args()

    side = largest_accepted_side()
    baseline = photo_jpeg(1200, 1200)
    hostile = flat_png(6320)
    largest = flat_png(side)
    phone = photo_jpeg(4032, 3024)
    big_phone = photo_jpeg(6000, 4000)
    per_request = per_request_images()

    def prepare(data: bytes) -> Callable[[], object]:
        return lambda: media.prepare_image(data, thumbnail_sizes=PRODUCT_SIZES)

    cases = [
        ("baseline: 1200 x 1200 photo JPEG", baseline),
        ("hostile 6320 x 6320 flat PNG", hostile),
        (f"largest accepted PNG, {side} x {side}", largest),
        ("4032 x 3024 phone photo JPEG", phone),
        ("6000 x 4000 phone photo JPEG", big_phone),
    ]
    print(f"{'picture':<44}{'KB':>8}{'CPU s':>9}{'ratio':>9}")
    base = largest_seconds = phone_seconds = 0.0
    for name, data in cases:
        seconds, refused = cpu_seconds(prepare(data), args.runs)
        base = base or seconds
        if data is largest and not refused:
            largest_seconds = seconds
        if data is phone:
            phone_seconds = seconds
        note = "  refused" if refused else ""
        print(f"{name:<44}{len(data) // 1024:>8}{seconds:>9.3f}{seconds / base:>8.1f}x{note}")
    computed = [(f"worst request: {per_request} x largest accepted", largest_seconds * per_request)]
    computed.append(("a product's 20 pictures, 12 MP phone photos", phone_seconds * 20))
    for name, total in computed:
        print(f"{name:<44}{'':>8}{total:>9.3f}{total / base:>8.1f}x  (computed)")


if __name__ == "__main__":
    main()
