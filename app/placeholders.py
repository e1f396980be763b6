"""Generated placeholder images for the demo: no downloads, no files in the repo."""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw, ImageFont

PALETTE = [
    ((31, 92, 74), (230, 240, 236)),
    ((180, 71, 44), (252, 236, 228)),
    ((52, 74, 140), (230, 235, 250)),
    ((138, 90, 0), (252, 243, 220)),
    ((110, 46, 110), (244, 232, 244)),
    ((20, 110, 130), (226, 243, 246)),
    ((150, 40, 70), (250, 230, 236)),
    ((70, 100, 40), (236, 244, 226)),
]


def _colours(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(seed.encode()).digest()
    return PALETTE[digest[0] % len(PALETTE)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # older Pillow without sized default fonts
        return ImageFont.load_default()


def placeholder_png(
    seed: str, text: str, size: tuple[int, int] = (800, 800), shape: str = "blobs"
) -> bytes:
    """A pleasant, deterministic picture for `seed`: soft shapes and a short label."""
    strong, soft = _colours(seed)
    width, height = size
    image = Image.new("RGB", size, soft)
    draw = ImageDraw.Draw(image)
    digest = hashlib.sha256((seed + "shapes").encode()).digest()
    if shape == "blobs":
        for i in range(4):
            x = digest[i * 3] / 255 * width
            y = digest[i * 3 + 1] / 255 * height
            r = (0.15 + digest[i * 3 + 2] / 255 * 0.3) * min(width, height)
            tint = tuple(
                int(s + (w - s) * (0.35 + 0.15 * i)) for s, w in zip(strong, soft, strict=True)
            )
            draw.ellipse((x - r, y - r, x + r, y + r), fill=tint)
    else:
        draw.ellipse((0, 0, width, height), fill=strong)
    label = text[:2].upper() if shape != "blobs" else text
    font = _font(int(min(width, height) * (0.42 if shape != "blobs" else 0.09)))
    box = draw.textbbox((0, 0), label, font=font)
    tw, th = box[2] - box[0], box[3] - box[1]
    fill = (255, 255, 255) if shape != "blobs" else strong
    draw.text(((width - tw) / 2 - box[0], (height - th) / 2 - box[1]), label, font=font, fill=fill)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
