"""Generated placeholder images for the demo: no downloads, no files in the repo."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

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


# The label keeps clear of the picture's edges by this share of its width (and height).
MARGIN = 0.08
# A circle's label (initials) stays inside the square inscribed in it.
CIRCLE_SPAN = 0.7
MAX_LINES = 3
MIN_FONT_SIZE = 10


@dataclass(frozen=True)
class LabelLayout:
    """Where a placeholder's label goes: its font size, its lines, and each line's box
    (left, top, right, bottom) in the picture's pixels."""

    font_size: int
    lines: tuple[str, ...]
    boxes: tuple[tuple[int, int, int, int], ...]


def _wrap(words: list[str], font: Any, width: float) -> list[str]:
    """Words into lines no wider than `width`; a word too long on its own is cut into pieces."""
    lines: list[str] = []
    current = ""
    for word in words:
        while font.getlength(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            if current:
                lines.append(current)
                current = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{current} {word}" if current else word
        if current and font.getlength(candidate) > width:
            lines.append(current)
            current = word
        else:
            current = candidate
    if current:
        lines.append(current)
    return lines


def _shortened(line: str, font: Any, width: float) -> str:
    """The last line that can be shown, ending in an ellipsis when the text goes on."""
    while line and font.getlength(line + "…") > width:
        line = line[:-1].rstrip()
    return line + "…"


def label_layout(
    text: str, size: tuple[int, int] = (800, 800), shape: str = "blobs"
) -> LabelLayout:
    """Fit the label inside the picture: wrapped onto up to three lines, in the largest size
    that fits (a long shop or product name used to run off both edges). At the smallest size,
    what still does not fit ends in an ellipsis."""
    width, height = size
    if shape != "blobs":
        words = [text[:2].upper()] if text.strip() else []
        start = int(min(width, height) * 0.42)
        span_x = span_y = min(width, height) * CIRCLE_SPAN
        max_lines = 1
    else:
        words = text.split()
        start = int(min(width, height) * 0.09)
        span_x, span_y = width * (1 - 2 * MARGIN), height * (1 - 2 * MARGIN)
        max_lines = MAX_LINES
    font_size = max(start, 1)
    floor = min(MIN_FONT_SIZE, font_size)
    while True:
        font = _font(font_size)
        lines = _wrap(words, font, span_x)
        line_height = _line_height(font, font_size)
        fits = len(lines) <= max_lines and len(lines) * line_height <= span_y
        if fits or font_size <= floor:
            break
        font_size = max(floor, int(font_size * 0.9))
    if not fits:
        room = max(1, min(max_lines, int(span_y // line_height)))
        lines = [*lines[: room - 1], _shortened(lines[room - 1], font, span_x)]
    top = (height - len(lines) * line_height) / 2
    boxes = []
    for index, line in enumerate(lines):
        left, _top, right, _bottom = font.getbbox(line)
        x = (width - (right - left)) / 2 - left
        y = top + index * line_height
        boxes.append((int(x + left), int(y), int(x + right), int(y + line_height)))
    return LabelLayout(font_size, tuple(lines), tuple(boxes))


def _line_height(font: Any, font_size: int) -> int:
    if hasattr(font, "getmetrics"):
        ascent, descent = font.getmetrics()
        return int(ascent + descent)
    return font_size


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
    layout = label_layout(text, size, shape)
    font = _font(layout.font_size)
    fill = (255, 255, 255) if shape != "blobs" else strong
    for line, (left, top, _right, _bottom) in zip(layout.lines, layout.boxes, strict=True):
        bbox_left = font.getbbox(line)[0]
        draw.text((left - bbox_left, top), line, font=font, fill=fill)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()
