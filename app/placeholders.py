"""Generated pictures for the demo: no downloads, no files in the repo.

Products are drawn as simple shaded illustrations of what they are (a mug, a jacket, a skein
of yarn…) on a soft background, with no text: `kind_for` reads the kind from a product's title
and category, `product_png` draws it, and `variant` gives a gallery its other views (a closer
detail, another side, another colourway). Colours come from the seed, so the same product is
drawn the same way every time. Shop logos and people's avatars are initials in a disc, measured
so they always fit (`label_layout`); shop banners are soft shapes without words.

Everything is drawn at twice the size asked for and scaled down, which smooths the edges that
Pillow's drawing leaves jagged.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

RGB = tuple[int, int, int]
Point = tuple[float, float]

SUPERSAMPLE = 2

# --- colour -----------------------------------------------------------------------------------


def _digest(seed: str, salt: str = "") -> bytes:
    return hashlib.sha256(f"{seed}\x00{salt}".encode()).digest()


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, max(0.0, min(1.0, s)), max(0.0, min(1.0, v)))
    return round(r * 255), round(g * 255), round(b * 255)


def _shade(colour: RGB, k: float) -> RGB:
    """Lighter towards white for k > 1, darker towards black for k < 1."""
    if k >= 1:
        t = min(1.0, k - 1)
        return tuple(round(c + (255 - c) * t) for c in colour)  # type: ignore[return-value]
    return tuple(round(c * max(0.0, k)) for c in colour)  # type: ignore[return-value]


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


# Words in a title that say what colour the thing is.
TINTS: dict[str, RGB] = {
    "denim": (58, 84, 128),
    "levi's": (62, 90, 136),
    "wrangler": (48, 70, 116),
    "stonewash": (96, 124, 164),
    "jeans": (58, 84, 128),
    "indigo": (52, 66, 120),
    "leather": (120, 72, 40),
    "terracotta": (196, 104, 70),
    "oatmeal": (214, 200, 176),
    "white": (236, 232, 224),
    "charcoal": (70, 72, 76),
    "olive": (120, 126, 70),
    "sea green": (96, 150, 132),
    "brass": (190, 150, 70),
}


def tint_for(title: str) -> RGB | None:
    """The colour a product's title names (denim is blue, leather brown), if any."""
    lowered = title.lower()
    for word, colour in TINTS.items():
        if word in lowered:
            return colour
    return None


@dataclass(frozen=True)
class Palette:
    main: RGB
    accent: RGB
    bg_top: RGB
    bg_bottom: RGB


def _palette(seed: str, variant: int, tint: RGB | None) -> Palette:
    d = _digest(seed, "palette")
    hue = d[0] / 255
    if tint is not None:
        main = tint
        hue = colorsys.rgb_to_hsv(*(c / 255 for c in tint))[0]
    else:
        main = _hsv(hue, 0.35 + d[1] / 255 * 0.3, 0.55 + d[2] / 255 * 0.3)
    if variant % 4 == 3:  # another colourway of the same thing
        h, s, v = colorsys.rgb_to_hsv(*(c / 255 for c in main))
        main = _hsv(h + 0.45, max(s, 0.3), v)
    accent = _hsv(hue + 0.5 + d[3] / 255 * 0.15, 0.45, 0.75)
    bg_hue = hue + (0.08 if variant % 2 == 0 else 0.55) + d[4] / 255 * 0.1
    bg_top = _hsv(bg_hue, 0.08 + d[5] / 255 * 0.06, 0.97)
    bg_bottom = _hsv(bg_hue, 0.14 + d[5] / 255 * 0.06, 0.88)
    return Palette(main, accent, bg_top, bg_bottom)


# --- the canvas -------------------------------------------------------------------------------


class Scene:
    """A square picture drawn in unit coordinates (0..1, y down), with a view transform:
    `zoom` about `focus` (a detail), `mirror` (the other side)."""

    def __init__(
        self,
        side: int,
        palette: Palette,
        *,
        zoom: float = 1.0,
        focus: Point = (0.5, 0.5),
        mirror: bool = False,
    ) -> None:
        self.side = side * SUPERSAMPLE
        self.palette = palette
        self.zoom = zoom
        self.focus = focus
        self.mirror = mirror
        background = Image.linear_gradient("L").resize(
            (self.side, self.side), Image.Resampling.BILINEAR
        )
        self.image = Image.composite(
            Image.new("RGB", (self.side, self.side), palette.bg_bottom),
            Image.new("RGB", (self.side, self.side), palette.bg_top),
            background,
        )

    # geometry
    def xy(self, x: float, y: float) -> Point:
        if self.mirror:
            x = 1 - x
        fx, fy = (1 - self.focus[0], self.focus[1]) if self.mirror else self.focus
        return (
            ((x - fx) * self.zoom + 0.5) * self.side,
            ((y - fy) * self.zoom + 0.5) * self.side,
        )

    def d(self, length: float) -> float:
        return length * self.zoom * self.side

    def mask(self) -> tuple[Image.Image, ImageDraw.ImageDraw]:
        layer = Image.new("L", (self.side, self.side), 0)
        return layer, ImageDraw.Draw(layer)

    def poly(self, draw: ImageDraw.ImageDraw, points: Sequence[Point], fill: int = 255) -> None:
        draw.polygon([self.xy(x, y) for x, y in points], fill=fill)

    def ellipse(
        self,
        draw: ImageDraw.ImageDraw,
        cx: float,
        cy: float,
        rx: float,
        ry: float,
        fill: int | None = 255,
        outline: int | None = None,
        width: float = 0,
    ) -> None:
        x, y = self.xy(cx, cy)
        draw.ellipse(
            (x - self.d(rx), y - self.d(ry), x + self.d(rx), y + self.d(ry)),
            fill=fill,
            outline=outline,
            width=max(1, round(self.d(width))) if outline is not None else 0,
        )

    def line(
        self, draw: ImageDraw.ImageDraw, points: Sequence[Point], width: float, fill: int = 255
    ) -> None:
        draw.line(
            [self.xy(x, y) for x, y in points],
            fill=fill,
            width=max(1, round(self.d(width))),
            joint="curve",
        )

    def rect(
        self,
        draw: ImageDraw.ImageDraw,
        box: tuple[float, float, float, float],
        radius: float = 0,
        fill: int = 255,
    ) -> None:
        (x0, y0), (x1, y1) = self.xy(box[0], box[1]), self.xy(box[2], box[3])
        draw.rounded_rectangle(
            (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)),
            radius=self.d(radius),
            fill=fill,
        )

    # painting
    def paint(
        self, mask: Image.Image, colour: RGB, shade: str = "cyl", at: tuple[int, int] = (0, 0)
    ) -> None:
        """Fill `mask` with `colour`, shaded as a cylinder lit from the left ("cyl"), a flat
        surface lit from above ("flat"), a sphere ("sphere") or not at all ("none")."""
        box = mask.getbbox()
        if box is None:
            return
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        light = 0.3 if not self.mirror else 0.7
        fill: Image.Image
        if shade == "cyl":
            row = Image.new("RGB", (w, 1))
            row.putdata(
                [
                    _shade(
                        colour,
                        0.7
                        + 0.5 * math.exp(-((((i / max(1, w - 1)) - light) / 0.2) ** 2))
                        + 0.1 * (1 - abs(i / max(1, w - 1) - 0.5) * 2),
                    )
                    for i in range(w)
                ]
            )
            fill = row.resize((w, h), Image.Resampling.NEAREST)
        elif shade == "flat":
            ramp = Image.linear_gradient("L").resize((w, h))
            fill = Image.composite(
                Image.new("RGB", (w, h), _shade(colour, 0.82)),
                Image.new("RGB", (w, h), _shade(colour, 1.1)),
                ramp,
            )
        elif shade == "sphere":
            ramp = Image.radial_gradient("L")
            cx = round(128 - (0.2 if not self.mirror else -0.2) * 180)
            ramp = ramp.crop((cx - 90, 128 - 126, cx + 90, 128 + 54)).resize((w, h))
            fill = Image.composite(
                Image.new("RGB", (w, h), _shade(colour, 0.62)),
                Image.new("RGB", (w, h), _shade(colour, 1.3)),
                ramp,
            )
        else:
            fill = Image.new("RGB", (w, h), colour)
        self.image.paste(fill, (x0 + at[0], y0 + at[1]), mask.crop(box))

    def shape(self, colour: RGB, shade: str, draw_fn: Callable[..., object]) -> Image.Image:
        layer, draw = self.mask()
        draw_fn(draw)
        self.paint(layer, colour, shade)
        return layer

    def within(
        self,
        outer: Image.Image,
        colour: RGB,
        draw_fn: Callable[..., object],
        shade: str = "none",
    ) -> None:
        """Paint what `draw_fn` draws, only where `outer` is (a pattern on a garment)."""
        layer, draw = self.mask()
        draw_fn(draw)
        box = layer.getbbox()
        if box is not None:  # only where something was drawn: the rest multiplies to nothing
            clipped = ImageChops.multiply(layer.crop(box), outer.crop(box))
            self.paint(clipped, colour, shade, at=(box[0], box[1]))

    def shadow(self, cx: float, cy: float, rx: float, ry: float, strength: float = 0.3) -> None:
        small = max(8, self.side // 4)
        layer = Image.new("L", (small, small), 0)
        x, y = self.xy(cx, cy)
        k = small / self.side
        ImageDraw.Draw(layer).ellipse(
            (
                (x - self.d(rx)) * k,
                (y - self.d(ry)) * k,
                (x + self.d(rx)) * k,
                (y + self.d(ry)) * k,
            ),
            fill=round(255 * strength),
        )
        layer = layer.filter(ImageFilter.GaussianBlur(max(1.0, self.d(ry) * k * 0.6)))
        layer = layer.resize((self.side, self.side), Image.Resampling.BILINEAR)
        self.image.paste(
            Image.new("RGB", self.image.size, _shade(self.palette.bg_bottom, 0.55)), (0, 0), layer
        )

    def ground(self, y: float) -> None:
        """A table top: the lower part of the picture a touch darker, from y down."""
        top = max(0, round(self.xy(0, y)[1]))
        if top >= self.side:
            return
        surface = Image.new(
            "RGB", (self.side, self.side - top), _shade(self.palette.bg_bottom, 0.95)
        )
        self.image.paste(surface, (0, top))

    def speckle(self, outer: Image.Image, seed: str, colour: RGB, count: int = 220) -> None:
        rng = random.Random(seed)
        box = outer.getbbox()
        if box is None:
            return
        layer = Image.new("L", outer.size, 0)
        draw = ImageDraw.Draw(layer)
        r = max(1.0, self.side / 500)
        for _ in range(count):
            x = rng.uniform(box[0], box[2])
            y = rng.uniform(box[1], box[3])
            s = r * rng.uniform(0.6, 1.6)
            draw.ellipse((x - s, y - s, x + s, y + s), fill=200)
        self.paint(ImageChops.multiply(layer, outer), colour, "none")

    def png(self, size: tuple[int, int]) -> bytes:
        image = self.image
        if size[0] != size[1]:
            from PIL import ImageOps

            image = ImageOps.fit(image, (max(size) * SUPERSAMPLE,) * 2)
            image = ImageOps.fit(image, (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE))
        return _png(
            image.reduce(SUPERSAMPLE)
            if image.size == (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE)
            else image.resize(size, Image.Resampling.LANCZOS)
        )


def _png(image: Image.Image) -> bytes:
    """PNG, quickly: what is stored is re-encoded from the pixels anyway (app/media.py)."""
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)
    return out.getvalue()


# --- shapes -----------------------------------------------------------------------------------


def _smooth(profile: Sequence[Point], steps: int = 6) -> list[Point]:
    """A profile of (y, half width) points, eased between them (cosine interpolation)."""
    out: list[Point] = []
    for (y0, r0), (y1, r1) in itertools.pairwise(profile):
        for i in range(steps):
            t = i / steps
            e = (1 - math.cos(t * math.pi)) / 2
            out.append((y0 + (y1 - y0) * t, r0 + (r1 - r0) * e))
    out.append(profile[-1])
    return out


def _vessel(
    s: Scene,
    cx: float,
    profile: Sequence[Point],
    colour: RGB,
    *,
    open_top: bool = True,
    inside: RGB | None = None,
    tilt: float = 0.2,
) -> Image.Image:
    """A turned object (mug, vase, bowl…): its silhouette from a profile of (y, half width),
    a rounded base, and an opening seen from a little above."""
    points = _smooth(profile)
    (top_y, top_r), (base_y, base_r) = points[0], points[-1]

    def body(draw: ImageDraw.ImageDraw) -> None:
        s.poly(draw, [(cx - r, y) for y, r in points] + [(cx + r, y) for y, r in reversed(points)])
        s.ellipse(draw, cx, base_y, base_r, base_r * tilt)
        s.ellipse(draw, cx, top_y, top_r, top_r * tilt)

    layer = s.shape(colour, "cyl", body)
    rim, draw = s.mask()
    s.ellipse(draw, cx, top_y, top_r, top_r * tilt)
    s.paint(rim, _shade(colour, 1.12), "none")
    if open_top:
        hole, draw = s.mask()
        lip = min(0.012, top_r * 0.15)
        s.ellipse(draw, cx, top_y + lip * 0.25, top_r - lip, (top_r - lip) * tilt)
        s.paint(hole, inside or _shade(colour, 0.62), "flat")
    return layer


def _leaf(base: Point, angle: float, length: float, width: float) -> list[Point]:
    bx, by = base
    dx, dy = math.cos(angle), math.sin(angle)
    nx, ny = -dy, dx
    points = []
    for i in range(13):
        t = i / 12
        w = math.sin(t * math.pi) * width
        points.append((bx + dx * length * t + nx * w, by + dy * length * t + ny * w))
    for i in range(12, -1, -1):
        t = i / 12
        w = math.sin(t * math.pi) * width
        points.append((bx + dx * length * t - nx * w, by + dy * length * t - ny * w))
    return points


def _foliage(s: Scene, base: Point, seed: str, count: int = 7, size: float = 0.22) -> None:
    rng = random.Random(seed + "leaves")
    greens = [(62, 120, 72), (84, 140, 80), (48, 100, 66)]
    for i in range(count):
        angle = -math.pi / 2 + (i - (count - 1) / 2) * (1.9 / count) + rng.uniform(-0.15, 0.15)
        length = size * rng.uniform(0.75, 1.15)
        points = _leaf(base, angle, length, length * 0.22)
        s.shape(greens[i % 3], "flat", lambda draw, p=points: s.poly(draw, p))
        vein, draw = s.mask()
        end = (base[0] + math.cos(angle) * length * 0.85, base[1] + math.sin(angle) * length * 0.85)
        s.line(draw, [base, end], 0.004)
        s.paint(vein, (150, 190, 140), "none")


# Each kind draws itself into a scene: (scene, palette colours, seed) -> None.
Drawer = Callable[[Scene, Palette, str], None]


def _mug(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.72, 0.24, 0.04)
    handle, draw = s.mask()
    s.ellipse(draw, 0.66, 0.5, 0.1, 0.12, fill=None, outline=255, width=0.04)
    s.paint(handle, _shade(p.main, 0.85), "flat")
    body = _vessel(s, 0.47, [(0.3, 0.17), (0.5, 0.175), (0.7, 0.165)], p.main)
    if "speckled" in seed or _digest(seed, "speckle")[0] % 2 == 0:
        s.speckle(body, seed, _shade(p.main, 0.45))


def _cups(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.73, 0.38, 0.05)
    for cx, colour in ((0.34, p.main), (0.64, _shade(p.main, 1.15))):
        saucer, draw = s.mask()
        s.ellipse(draw, cx, 0.7, 0.17, 0.045)
        s.paint(saucer, _shade(colour, 1.05), "flat")
        handle, draw = s.mask()
        s.ellipse(draw, cx + 0.11, 0.55, 0.055, 0.06, fill=None, outline=255, width=0.025)
        s.paint(handle, _shade(colour, 0.85), "flat")
        _vessel(s, cx, [(0.46, 0.11), (0.6, 0.1), (0.68, 0.075)], colour)


def _tumbler(s: Scene, p: Palette, seed: str) -> None:
    wobble = (_digest(seed, "wobble")[0] / 255 - 0.5) * 0.03
    s.shadow(0.5, 0.74, 0.2, 0.04)
    body = _vessel(s, 0.5, [(0.3, 0.15 + wobble), (0.52, 0.145 - wobble), (0.72, 0.125)], p.main)
    s.speckle(body, seed, _shade(p.main, 0.5), count=120)


def _bowl(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.7, 0.3, 0.045)
    _vessel(
        s,
        0.5,
        [(0.42, 0.32), (0.5, 0.3), (0.58, 0.25), (0.64, 0.17), (0.67, 0.12)],
        p.main,
        inside=_shade(p.main, 1.18),
        tilt=0.3,
    )


def _plates(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.7, 0.38, 0.07)
    for i in range(4):
        y = 0.66 - i * 0.035
        edge, draw = s.mask()
        s.ellipse(draw, 0.5, y + 0.012, 0.36, 0.12)
        s.paint(edge, _shade(p.main, 0.78), "cyl")
        top, draw = s.mask()
        s.ellipse(draw, 0.5, y, 0.36, 0.12)
        s.paint(top, _shade((236, 232, 224), 0.98), "flat")
    well, draw = s.mask()
    s.ellipse(draw, 0.5, 0.555 + 0.005, 0.25, 0.082)
    s.paint(well, (226, 222, 214), "flat")
    rim, draw = s.mask()
    s.ellipse(draw, 0.5, 0.555, 0.36, 0.12, fill=None, outline=255, width=0.012)
    s.paint(rim, _shade(p.main, 0.9), "none")


def _vase(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.76, 0.18, 0.035)
    stem, draw = s.mask()
    s.line(draw, [(0.5, 0.26), (0.47, 0.14), (0.44, 0.08)], 0.008)
    s.paint(stem, (70, 110, 70), "none")
    _foliage(s, (0.48, 0.2), seed, count=3, size=0.09)
    bloom, draw = s.mask()
    s.ellipse(draw, 0.44, 0.08, 0.035, 0.035)
    s.paint(bloom, p.accent, "sphere")
    body = _vessel(
        s,
        0.5,
        [(0.24, 0.045), (0.3, 0.04), (0.42, 0.1), (0.56, 0.15), (0.7, 0.11), (0.76, 0.085)],
        p.main,
    )
    for i in range(-5, 6):
        s.within(
            body,
            _shade(p.main, 0.82),
            lambda draw, i=i: s.line(
                draw, [(0.5 + i * 0.024, 0.3), (0.5 + i * 0.028, 0.78)], 0.005
            ),
        )


def _bottle(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.78, 0.16, 0.035)
    cork, draw = s.mask()
    s.rect(draw, (0.465, 0.14, 0.535, 0.23), radius=0.01)
    s.paint(cork, (176, 136, 96), "cyl")
    spout, draw = s.mask()
    s.poly(draw, [(0.53, 0.2), (0.62, 0.16), (0.63, 0.18), (0.54, 0.24)])
    s.paint(spout, _shade(p.main, 0.9), "flat")
    _vessel(
        s,
        0.5,
        [(0.22, 0.04), (0.3, 0.04), (0.42, 0.1), (0.5, 0.15), (0.72, 0.15), (0.78, 0.13)],
        p.main,
        open_top=False,
    )


def _planter(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.78, 0.26, 0.04)
    _foliage(s, (0.5, 0.46), seed, count=9, size=0.3)
    saucer, draw = s.mask()
    s.ellipse(draw, 0.5, 0.75, 0.24, 0.05)
    s.paint(saucer, _shade(p.main, 0.9), "cyl")
    _vessel(s, 0.5, [(0.46, 0.2), (0.62, 0.18), (0.74, 0.15)], p.main, inside=(92, 68, 52))


def _candle(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.74, 0.2, 0.04)
    glow = Image.new("L", s.image.size, 0)
    x, y = s.xy(0.5, 0.3)
    ImageDraw.Draw(glow).ellipse(
        (x - s.d(0.12), y - s.d(0.12), x + s.d(0.12), y + s.d(0.12)), fill=110
    )
    glow = glow.filter(ImageFilter.GaussianBlur(s.d(0.05)))
    s.image.paste(Image.new("RGB", s.image.size, (255, 226, 150)), (0, 0), glow)
    _vessel(s, 0.5, [(0.4, 0.16), (0.7, 0.16)], p.main, inside=(244, 236, 214))
    wick, draw = s.mask()
    s.line(draw, [(0.5, 0.4), (0.5, 0.35)], 0.006)
    s.paint(wick, (60, 50, 40), "none")
    flame, draw = s.mask()
    s.poly(draw, _leaf((0.5, 0.36), -math.pi / 2, 0.1, 0.022))
    s.paint(flame, (255, 196, 80), "sphere")
    label, draw = s.mask()
    s.rect(draw, (0.4, 0.5, 0.6, 0.6), radius=0.01)
    s.paint(label, (246, 240, 228), "cyl")


def _garment(s: Scene, colour: RGB, long_sleeves: bool, length: float = 0.8) -> Image.Image:
    if long_sleeves:
        sleeve = [(0.3, 0.25), (0.16, 0.4), (0.12, 0.74), (0.2, 0.76), (0.26, 0.46), (0.31, 0.43)]
    else:
        sleeve = [(0.3, 0.25), (0.15, 0.38), (0.22, 0.48), (0.31, 0.42)]
    left = [(0.42, 0.2), *sleeve, (0.31, length)]
    right = [(1 - x, y) for x, y in reversed(left)]
    return s.shape(colour, "flat", lambda draw: s.poly(draw, left + right))


def _collar(s: Scene, colour: RGB) -> None:
    neck, draw = s.mask()
    s.ellipse(draw, 0.5, 0.2, 0.08, 0.035)
    s.paint(neck, _shade(colour, 0.6), "none")


def _ribs(
    s: Scene, body: Image.Image, colour: RGB, y0: float, y1: float, x0: float, x1: float
) -> None:
    s.within(body, _shade(colour, 0.88), lambda draw: s.rect(draw, (x0, y0, x1, y1)))
    steps = max(2, round((x1 - x0) / 0.015))
    for i in range(steps + 1):
        x = x0 + (x1 - x0) * i / steps
        s.within(
            body, _shade(colour, 0.75), lambda draw, x=x: s.line(draw, [(x, y0), (x, y1)], 0.003)
        )


def _tshirt(s: Scene, p: Palette, seed: str) -> None:
    body = _garment(s, p.main, long_sleeves=False)
    _collar(s, p.main)
    stripe = _digest(seed, "stripe")[0] % 3 == 0
    if stripe:
        for i in range(5):
            y = 0.48 + i * 0.06
            s.within(
                body, _shade(p.accent, 0.95), lambda draw, y=y: s.rect(draw, (0, y, 1, y + 0.025))
            )


def _shirt(s: Scene, p: Palette, seed: str) -> None:
    body = _garment(s, p.main, long_sleeves=True)
    for x0, x1 in ((0.12, 0.2), (0.8, 0.88)):
        s.within(
            body, _shade(p.main, 0.85), lambda draw, x0=x0, x1=x1: s.rect(draw, (x0, 0.7, x1, 0.76))
        )
    s.shape(
        _shade(p.main, 0.92),
        "flat",
        lambda draw: s.poly(draw, [(0.41, 0.19), (0.5, 0.3), (0.44, 0.33), (0.38, 0.22)]),
    )
    s.shape(
        _shade(p.main, 0.96),
        "flat",
        lambda draw: s.poly(draw, [(0.59, 0.19), (0.5, 0.3), (0.56, 0.33), (0.62, 0.22)]),
    )
    s.within(body, _shade(p.main, 0.8), lambda draw: s.line(draw, [(0.5, 0.3), (0.5, 0.8)], 0.004))
    for i in range(5):
        y = 0.36 + i * 0.09
        s.shape((236, 230, 214), "sphere", lambda draw, y=y: s.ellipse(draw, 0.52, y, 0.009, 0.009))
    pocket, draw = s.mask()
    s.rect(draw, (0.36, 0.36, 0.45, 0.46), radius=0.008)
    s.paint(pocket, _shade(p.main, 0.93), "flat")


def _jacket(s: Scene, p: Palette, seed: str) -> None:
    lining = _shade(p.accent, 0.9)
    inside, draw = s.mask()
    s.poly(draw, [(0.42, 0.2), (0.58, 0.2), (0.56, 0.34), (0.5, 0.46), (0.44, 0.34)])
    s.paint(inside, lining, "flat")
    for i in range(4):
        s.within(
            inside,
            _shade(lining, 0.75),
            lambda draw, i=i: s.line(draw, [(0.4 + i * 0.05, 0.2), (0.4 + i * 0.05, 0.5)], 0.006),
        )
    body = _garment(s, p.main, long_sleeves=True, length=0.76)
    s.paint(ImageChops.multiply(body, inside), lining, "flat")
    for sign in (-1, 1):
        lapel = [
            (0.5 - sign * 0.08, 0.18),
            (0.5 - sign * 0.13, 0.22),
            (0.5 - sign * 0.02, 0.44),
            (0.5, 0.46),
        ]
        s.shape(
            _shade(p.main, 0.88),
            "flat",
            lambda draw, pts=lapel: s.poly(draw, pts),
        )
        px = 0.5 + sign * 0.11
        s.within(
            body,
            _shade(p.main, 0.84),
            lambda draw, px=px: s.rect(draw, (px - 0.055, 0.36, px + 0.055, 0.43), radius=0.01),
        )
        s.within(
            body,
            _shade(p.main, 0.72),
            lambda draw, px=px: s.line(draw, [(px - 0.06, 0.34), (px + 0.06, 0.34)], 0.004),
        )
    s.within(body, _shade(p.main, 0.78), lambda draw: s.rect(draw, (0.3, 0.7, 0.7, 0.76)))
    for i in range(4):
        y = 0.5 + i * 0.06
        s.shape((198, 160, 92), "sphere", lambda draw, y=y: s.ellipse(draw, 0.5, y, 0.012, 0.012))


def _jumper(s: Scene, p: Palette, seed: str) -> None:
    body = _garment(s, p.main, long_sleeves=True)
    _collar(s, p.main)
    _ribs(s, body, p.main, 0.73, 0.8, 0.31, 0.69)
    _ribs(s, body, p.main, 0.68, 0.76, 0.1, 0.22)
    _ribs(s, body, p.main, 0.68, 0.76, 0.78, 0.9)
    fair_isle = "fair isle" in seed or ("cable" not in seed and _digest(seed, "knit")[0] % 2 == 0)
    if fair_isle:  # a Fair Isle yoke
        for row, colour in enumerate((p.accent, (240, 234, 220), p.accent)):
            y = 0.28 + row * 0.05
            for i in range(16):
                x = 0.2 + i * 0.04
                diamond = [(x, y - 0.018), (x + 0.016, y), (x, y + 0.018), (x - 0.016, y)]
                s.within(body, colour, lambda draw, d=diamond: s.poly(draw, d))
    else:  # cables
        for cx in (0.4, 0.5, 0.6):
            for i in range(8):
                y = 0.3 + i * 0.055
                s.within(
                    body,
                    _shade(p.main, 0.78),
                    lambda draw, cx=cx, y=y: s.ellipse(
                        draw, cx, y, 0.025, 0.03, fill=None, outline=255, width=0.008
                    ),
                )


def _cardigan(s: Scene, p: Palette, seed: str) -> None:
    _jumper(s, p, seed + "|cable")
    band, draw = s.mask()
    s.rect(draw, (0.485, 0.22, 0.515, 0.8))
    s.paint(band, _shade(p.main, 0.86), "flat")
    for i in range(5):
        y = 0.3 + i * 0.1
        s.shape(
            _shade(p.accent, 0.8), "sphere", lambda draw, y=y: s.ellipse(draw, 0.5, y, 0.012, 0.012)
        )


def _socks(s: Scene, p: Palette, seed: str) -> None:
    for dx, colour in ((-0.12, p.main), (0.1, _shade(p.main, 1.12))):
        sock = [
            (0.34 + dx, 0.18),
            (0.5 + dx, 0.18),
            (0.5 + dx, 0.56),
            (0.68 + dx, 0.66),
            (0.7 + dx, 0.74),
            (0.62 + dx, 0.8),
            (0.38 + dx, 0.7),
            (0.34 + dx, 0.6),
        ]
        body = s.shape(colour, "flat", lambda draw, pts=sock: s.poly(draw, pts))
        _ribs(s, body, colour, 0.18, 0.3, 0.34 + dx, 0.5 + dx)
        s.within(
            body,
            _shade(p.accent, 0.9),
            lambda draw, dx=dx: s.ellipse(draw, 0.4 + dx, 0.68, 0.07, 0.07),
        )
        s.within(
            body,
            _shade(p.accent, 0.9),
            lambda draw, dx=dx: s.ellipse(draw, 0.67 + dx, 0.76, 0.06, 0.06),
        )


def _jeans(s: Scene, p: Palette, seed: str) -> None:
    legs = [
        (0.3, 0.16), (0.7, 0.16), (0.74, 0.84), (0.56, 0.84), (0.5, 0.4),
        (0.44, 0.84), (0.26, 0.84),
    ]  # fmt: skip
    body = s.shape(p.main, "flat", lambda draw: s.poly(draw, legs))
    s.within(body, _shade(p.main, 0.85), lambda draw: s.rect(draw, (0.3, 0.16, 0.7, 0.22)))
    seams, draw = s.mask()
    s.line(draw, [(0.5, 0.22), (0.5, 0.38)], 0.004)
    s.line(draw, [(0.31, 0.24), (0.4, 0.3), (0.41, 0.22)], 0.004)
    s.line(draw, [(0.69, 0.24), (0.6, 0.3), (0.59, 0.22)], 0.004)
    s.line(draw, [(0.36, 0.45), (0.37, 0.84)], 0.003)
    s.line(draw, [(0.64, 0.45), (0.63, 0.84)], 0.003)
    s.paint(ImageChops.multiply(seams, body), (214, 160, 90), "none")
    fade, draw = s.mask()
    s.ellipse(draw, 0.38, 0.5, 0.05, 0.14)
    s.ellipse(draw, 0.62, 0.5, 0.05, 0.14)
    fade = fade.filter(ImageFilter.GaussianBlur(s.d(0.04))).point(lambda v: v * 2 // 5)
    s.paint(fade, _shade(p.main, 1.35), "none")
    s.shape((196, 156, 72), "sphere", lambda draw: s.ellipse(draw, 0.5, 0.19, 0.012, 0.012))


def _beanie(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.76, 0.3, 0.04)
    s.shape(_shade(p.accent, 1.05), "sphere", lambda draw: s.ellipse(draw, 0.5, 0.2, 0.08, 0.08))

    def dome(draw: ImageDraw.ImageDraw) -> None:
        s.ellipse(draw, 0.5, 0.52, 0.27, 0.3)
        s.rect(draw, (0.23, 0.5, 0.77, 0.62))

    def knit(draw: ImageDraw.ImageDraw) -> None:
        for i in range(-5, 6):
            s.line(draw, [(0.5 + i * 0.045, 0.24), (0.5 + i * 0.05, 0.6)], 0.005)

    crown = s.shape(p.main, "cyl", dome)
    s.within(crown, _shade(p.main, 0.8), knit)
    band = s.shape(
        _shade(p.main, 0.92),
        "cyl",
        lambda draw: s.rect(draw, (0.21, 0.58, 0.79, 0.74), radius=0.03),
    )
    _ribs(s, band, _shade(p.main, 0.92), 0.58, 0.74, 0.21, 0.79)


def _mittens(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.8, 0.34, 0.04)
    for dx, colour in ((-0.14, p.main), (0.14, _shade(p.main, 1.1))):
        cx = 0.5 + dx
        side = -1 if dx < 0 else 1
        thumb = _leaf((cx + side * 0.1, 0.56), -math.pi / 2 + side * 0.45, 0.15, 0.04)

        def hand(draw: ImageDraw.ImageDraw, cx: float = cx, thumb: list[Point] = thumb) -> None:
            s.rect(draw, (cx - 0.11, 0.22, cx + 0.11, 0.66), radius=0.1)
            s.poly(draw, thumb)

        mitt = s.shape(colour, "flat", hand)
        _ribs(s, mitt, colour, 0.62, 0.76, cx - 0.1, cx + 0.1)
        s.within(
            mitt,
            _shade(colour, 0.62),
            lambda draw, cx=cx, colour=colour: s.rect(draw, (cx - 0.1, 0.62, cx + 0.1, 0.76)),
        )
        star = [
            (
                cx + math.cos(a * math.pi / 4) * (0.07 if a % 2 == 0 else 0.025),
                0.42 + math.sin(a * math.pi / 4) * (0.07 if a % 2 == 0 else 0.025),
            )
            for a in range(8)
        ]
        s.within(mitt, (244, 238, 226), lambda draw, star=star: s.poly(draw, star))


def _scarf(s: Scene, p: Palette, seed: str) -> None:
    band = [(0.3, 0.14), (0.46, 0.14), (0.44, 0.5), (0.58, 0.8), (0.42, 0.84), (0.3, 0.5)]
    body = s.shape(p.main, "flat", lambda draw: s.poly(draw, band))
    for i in range(7):
        y = 0.2 + i * 0.09
        s.within(body, _shade(p.accent, 0.95), lambda draw, y=y: s.rect(draw, (0, y, 1, y + 0.025)))
    fringe, draw = s.mask()
    for i in range(9):
        x = 0.43 + i * 0.017
        s.line(draw, [(x, 0.82 + (x - 0.42) * -0.25), (x + 0.01, 0.9)], 0.004)
    s.paint(fringe, _shade(p.main, 0.85), "none")


def _tote(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.82, 0.3, 0.04)
    handles, draw = s.mask()
    for cx in (0.42, 0.58):
        s.ellipse(draw, cx, 0.36, 0.08, 0.17, fill=None, outline=255, width=0.025)
    s.paint(handles, _shade(p.main, 0.7), "flat")
    body = s.shape(
        p.main,
        "flat",
        lambda draw: s.poly(draw, [(0.24, 0.4), (0.76, 0.4), (0.8, 0.82), (0.2, 0.82)]),
    )
    if "patchwork" in seed or _digest(seed, "patch")[0] % 2 == 0:
        rng = random.Random(seed + "patch")
        for row in range(5):
            for col in range(6):
                x, y = 0.2 + col * 0.1, 0.4 + row * 0.085
                tone = _shade(p.main, rng.uniform(0.75, 1.25))
                s.within(
                    body,
                    tone,
                    lambda draw, x=x, y=y: s.rect(draw, (x, y, x + 0.1, y + 0.085)),
                    shade="flat",
                )
    seam, draw = s.mask()
    s.line(draw, [(0.24, 0.44), (0.76, 0.44)], 0.004)
    s.paint(ImageChops.multiply(seam, body), _shade(p.main, 1.3), "none")


def _belt(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.6, 0.4, 0.035)
    strap = s.shape(
        p.main, "flat", lambda draw: s.rect(draw, (0.12, 0.47, 0.88, 0.55), radius=0.04)
    )
    for i in range(5):
        x = 0.62 + i * 0.045
        s.within(
            strap, _shade(p.main, 0.45), lambda draw, x=x: s.ellipse(draw, x, 0.51, 0.007, 0.007)
        )
    stitch, draw = s.mask()
    for y in (0.478, 0.542):
        s.line(draw, [(0.15, y), (0.85, y)], 0.002)
    s.paint(ImageChops.multiply(stitch, strap), _shade(p.main, 1.3), "none")
    buckle, draw = s.mask()
    s.rect(draw, (0.12, 0.43, 0.24, 0.59), radius=0.015)
    s.rect(draw, (0.14, 0.45, 0.22, 0.57), radius=0.008, fill=0)
    s.paint(buckle, (196, 156, 72), "cyl")
    prong, draw = s.mask()
    s.line(draw, [(0.16, 0.51), (0.27, 0.51)], 0.008)
    s.paint(prong, (176, 140, 64), "none")


def _yarn(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.76, 0.26, 0.04)
    tail, draw = s.mask()
    s.line(draw, [(0.62, 0.7), (0.72, 0.74), (0.82, 0.7), (0.88, 0.74)], 0.01)
    s.paint(tail, p.main, "none")
    ball = s.shape(p.main, "sphere", lambda draw: s.ellipse(draw, 0.5, 0.5, 0.25, 0.25))
    rng = random.Random(seed + "strands")
    for i in range(14):
        angle = i / 14 * math.pi + rng.uniform(-0.1, 0.1)
        rx, ry = 0.25, 0.25 * rng.uniform(0.25, 0.6)
        pts = []
        for k in range(40):
            t = k / 39 * 2 * math.pi
            x, y = rx * math.cos(t), ry * math.sin(t)
            pts.append(
                (
                    0.5 + x * math.cos(angle) - y * math.sin(angle),
                    0.5 + x * math.sin(angle) + y * math.cos(angle),
                )
            )
        s.within(ball, _shade(p.main, 0.72), lambda draw, pts=pts: s.line(draw, pts, 0.004))
    shine, draw = s.mask()
    s.ellipse(draw, 0.5, 0.5, 0.25, 0.25)
    glow = Image.radial_gradient("L").resize(shine.size)
    s.paint(
        ImageChops.multiply(shine, ImageChops.invert(glow).point(lambda v: max(0, v - 150))),
        (255, 255, 255),
        "none",
    )


def _blanket(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.74, 0.36, 0.05)
    for i, (y0, y1) in enumerate(((0.58, 0.72), (0.46, 0.6), (0.34, 0.48))):
        colour = _shade(p.main, 1 - i * 0.04)
        fold = s.shape(
            colour,
            "cyl",
            lambda draw, y0=y0, y1=y1: s.rect(draw, (0.16, y0, 0.84, y1), radius=0.05),
        )
        for k in range(9):
            x = 0.2 + k * 0.075
            s.within(
                fold,
                _shade(p.accent, 0.9),
                lambda draw, x=x, y0=y0, y1=y1: s.line(draw, [(x, y0), (x, y1)], 0.008),
            )
        s.within(
            fold,
            _shade(p.accent, 0.9),
            lambda draw, y0=y0, y1=y1: s.line(
                draw, [(0.16, (y0 + y1) / 2), (0.84, (y0 + y1) / 2)], 0.008
            ),
        )
    fringe, draw = s.mask()
    for k in range(12):
        y = 0.6 + k * 0.01
        s.line(draw, [(0.84, y), (0.9, y + 0.004)], 0.003)
    s.paint(fringe, _shade(p.main, 0.8), "none")


def _book(s: Scene, p: Palette, seed: str, motif: str = "shapes") -> None:
    s.shadow(0.52, 0.8, 0.28, 0.04)
    pages, draw = s.mask()
    s.rect(draw, (0.3, 0.2, 0.74, 0.8), radius=0.01)
    s.paint(pages, (244, 240, 230), "flat")
    cover = s.shape(
        p.main, "flat", lambda draw: s.rect(draw, (0.27, 0.18, 0.71, 0.78), radius=0.012)
    )
    s.within(cover, _shade(p.main, 0.78), lambda draw: s.rect(draw, (0.27, 0.18, 0.31, 0.78)))
    if motif == "sweater":
        icon = [
            (0.45, 0.34),
            (0.39, 0.37),
            (0.35, 0.5),
            (0.39, 0.51),
            (0.42, 0.42),
            (0.42, 0.62),
            (0.6, 0.62),
            (0.6, 0.42),
            (0.63, 0.51),
            (0.67, 0.5),
            (0.63, 0.37),
            (0.57, 0.34),
        ]
        s.within(cover, (244, 238, 224), lambda draw: s.poly(draw, icon))
    else:
        s.within(
            cover, p.accent, lambda draw: s.ellipse(draw, 0.51, 0.42, 0.1, 0.1), shade="sphere"
        )
        s.within(cover, _shade(p.accent, 0.8), lambda draw: s.rect(draw, (0.38, 0.6, 0.64, 0.62)))


def _pattern(s: Scene, p: Palette, seed: str) -> None:
    _book(s, p, seed, motif="sweater")


def _print(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.84, 0.28, 0.03)
    frame, draw = s.mask()
    s.rect(draw, (0.24, 0.14, 0.76, 0.82))
    s.paint(frame, (52, 46, 42), "flat")
    mat, draw = s.mask()
    s.rect(draw, (0.27, 0.17, 0.73, 0.79))
    s.paint(mat, (246, 242, 234), "none")
    art, draw = s.mask()
    s.rect(draw, (0.33, 0.24, 0.67, 0.72))
    s.paint(art, _shade(p.accent, 1.4), "flat")
    s.within(art, _shade(p.main, 1.1), lambda draw: s.ellipse(draw, 0.56, 0.4, 0.06, 0.06))
    s.within(
        art,
        p.main,
        lambda draw: s.poly(
            draw,
            [
                (0.33, 0.72),
                (0.33, 0.56),
                (0.44, 0.46),
                (0.54, 0.58),
                (0.6, 0.52),
                (0.67, 0.6),
                (0.67, 0.72),
            ],
        ),
    )


def _necklace(s: Scene, p: Palette, seed: str) -> None:
    gold = (200, 160, 80)
    for k in range(34):
        t = k / 33
        angle = math.pi * (0.1 + 0.8 * t)
        x, y = 0.5 - 0.3 * math.cos(angle), 0.22 + 0.36 * math.sin(angle)
        s.shape(gold, "sphere", lambda draw, x=x, y=y: s.ellipse(draw, x, y, 0.011, 0.011))
    s.shape(
        p.main,
        "sphere",
        lambda draw: s.poly(draw, [(0.5, 0.6), (0.55, 0.66), (0.5, 0.76), (0.45, 0.66)]),
    )


def _ring(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.72, 0.24, 0.04)
    band, draw = s.mask()
    s.ellipse(draw, 0.5, 0.56, 0.22, 0.14, fill=None, outline=255, width=0.035)
    s.paint(band, (206, 168, 84), "cyl")
    s.shape(
        p.main,
        "sphere",
        lambda draw: s.poly(draw, [(0.5, 0.3), (0.58, 0.38), (0.5, 0.46), (0.42, 0.38)]),
    )
    s.shape((206, 168, 84), "flat", lambda draw: s.rect(draw, (0.46, 0.44, 0.54, 0.47)))


def _plant(s: Scene, p: Palette, seed: str) -> None:
    _planter(s, p, seed)


def _box(s: Scene, p: Palette, seed: str) -> None:
    s.shadow(0.5, 0.78, 0.3, 0.04)
    s.shape(
        _shade(p.main, 0.85),
        "cyl",
        lambda draw: s.poly(draw, [(0.24, 0.42), (0.76, 0.42), (0.76, 0.78), (0.24, 0.78)]),
    )
    s.shape(
        _shade(p.main, 1.1),
        "flat",
        lambda draw: s.poly(draw, [(0.24, 0.42), (0.76, 0.42), (0.68, 0.3), (0.32, 0.3)]),
    )
    s.shape(p.accent, "cyl", lambda draw: s.rect(draw, (0.47, 0.3, 0.53, 0.78)))
    s.shape(p.accent, "flat", lambda draw: s.ellipse(draw, 0.45, 0.27, 0.06, 0.035))
    s.shape(p.accent, "flat", lambda draw: s.ellipse(draw, 0.55, 0.27, 0.06, 0.035))


DRAWERS: dict[str, Drawer] = {
    "mug": _mug,
    "cups": _cups,
    "tumbler": _tumbler,
    "bowl": _bowl,
    "plates": _plates,
    "vase": _vase,
    "bottle": _bottle,
    "planter": _planter,
    "plant": _plant,
    "candle": _candle,
    "tshirt": _tshirt,
    "shirt": _shirt,
    "jacket": _jacket,
    "jumper": _jumper,
    "cardigan": _cardigan,
    "socks": _socks,
    "jeans": _jeans,
    "scarf": _scarf,
    "beanie": _beanie,
    "mittens": _mittens,
    "tote": _tote,
    "belt": _belt,
    "yarn": _yarn,
    "blanket": _blanket,
    "book": _book,
    "pattern": _pattern,
    "print": _print,
    "necklace": _necklace,
    "ring": _ring,
    "box": _box,
}
KINDS = tuple(DRAWERS)

# Words of a title that name its kind, looked for in this order (so "mug tree" is a mug,
# "pattern: sweater" a pattern).
TITLE_WORDS: tuple[tuple[str, str], ...] = (
    ("pattern", "pattern"),
    ("book", "book"),
    ("print", "print"),
    ("poster", "print"),
    ("candle", "candle"),
    ("planter", "planter"),
    ("yarn", "yarn"),
    ("skein", "yarn"),
    ("plant", "plant"),
    ("mug", "mug"),
    ("espresso", "cups"),
    ("cup", "cups"),
    ("tumbler", "tumbler"),
    ("bowl", "bowl"),
    ("plate", "plates"),
    ("vase", "vase"),
    ("pourer", "bottle"),
    ("bottle", "bottle"),
    ("jug", "bottle"),
    ("t-shirt", "tshirt"),
    ("tee", "tshirt"),
    ("jacket", "jacket"),
    ("coat", "jacket"),
    ("shirt", "shirt"),
    ("cardigan", "cardigan"),
    ("jumper", "jumper"),
    ("sweater", "jumper"),
    ("sock", "socks"),
    ("jeans", "jeans"),
    ("501", "jeans"),
    ("trousers", "jeans"),
    ("scarf", "scarf"),
    ("beanie", "beanie"),
    ("hat", "beanie"),
    ("mitten", "mittens"),
    ("glove", "mittens"),
    ("tote", "tote"),
    ("bag", "tote"),
    ("belt", "belt"),
    ("blanket", "blanket"),
    ("throw", "blanket"),
    ("necklace", "necklace"),
    ("pendant", "necklace"),
    ("ring", "ring"),
)
# When the title says nothing, the category does.
CATEGORY_KINDS: dict[str, str] = {
    "home/ceramics": "mug",
    "home/kitchen": "bottle",
    "home/decor": "vase",
    "home/textiles": "blanket",
    "clothing/outerwear": "jacket",
    "clothing/tops": "tshirt",
    "clothing/jeans-trousers": "jeans",
    "clothing/knitwear": "jumper",
    "accessories/bags": "tote",
    "accessories/hats-scarves": "beanie",
    "accessories/jewellery": "necklace",
    "craft/yarn": "yarn",
    "craft/patterns": "pattern",
    "art": "print",
    "books": "book",
}


def kind_for(title: str, category: str = "") -> str:
    """The kind of thing a product is, for its picture: from its title's words, else its
    category (or the category's root), else a gift box."""
    lowered = title.lower()
    words = set(lowered.replace(",", " ").replace(":", " ").split())
    for word, kind in TITLE_WORDS:
        if word in words or f"{word}s" in words or (len(word) > 4 and word in lowered):
            return kind
    if category in CATEGORY_KINDS:
        return CATEGORY_KINDS[category]
    root = category.split("/")[0]
    for known, kind in CATEGORY_KINDS.items():
        if known.split("/")[0] == root:
            return kind
    return "box"


# The views a gallery gets, in order: (zoom, focus, mirror). The fourth is another colourway.
VIEWS: tuple[tuple[float, Point, bool], ...] = (
    (1.12, (0.5, 0.5), False),
    (1.8, (0.46, 0.42), False),
    (0.9, (0.5, 0.52), True),
    (1.12, (0.5, 0.5), False),
)


def product_png(
    seed: str,
    kind: str,
    size: tuple[int, int] = (800, 800),
    variant: int = 0,
    tint: RGB | None = None,
    style: str = "",
) -> bytes:
    """A picture of a `kind` of product (see KINDS) for `seed`; `variant` 0 is the main view,
    1 a closer detail, 2 the other side, 3 another colourway (and so on, round again).
    `style`, words of the title, may choose a pattern ("fair isle", "cable", "speckled")."""
    if kind not in DRAWERS:
        raise ValueError(f"unknown kind of product: {kind!r}")
    palette = _palette(seed, variant, tint)
    zoom, focus, mirror = VIEWS[variant % len(VIEWS)]
    scene = Scene(max(size), palette, zoom=zoom, focus=focus, mirror=mirror)
    if variant % len(VIEWS) == 2:
        scene.ground(0.74)
    DRAWERS[kind](scene, palette, f"{seed}|{style.lower()}" if style else seed)
    return scene.png(size)


def product_pictures(
    seed: str, title: str, category: str, count: int, size: tuple[int, int] = (800, 800)
) -> list[bytes]:
    """`count` views of one product, as a gallery shows them."""
    kind = kind_for(title, category)
    tint = tint_for(title)
    return [product_png(seed, kind, size, variant, tint, title) for variant in range(count)]


def banner_png(seed: str, size: tuple[int, int] = (1600, 400)) -> bytes:
    """A shop's banner: soft overlapping discs on a pale ground, no words."""
    palette = _palette(seed, 0, None)
    width, height = size
    image = Image.linear_gradient("L").rotate(90).resize(size)
    image = Image.composite(
        Image.new("RGB", size, palette.bg_top), Image.new("RGB", size, palette.bg_bottom), image
    )
    layer = Image.new("RGB", size, palette.bg_top)
    draw = ImageDraw.Draw(layer)
    d = _digest(seed, "banner")
    for i in range(7):
        x = d[i * 3] / 255 * width
        y = d[i * 3 + 1] / 255 * height
        r = (0.25 + d[i * 3 + 2] / 255 * 0.5) * height
        colour = _mix(palette.main if i % 2 else palette.accent, palette.bg_top, 0.55 + i * 0.05)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    shapes = Image.new("L", size, 0)
    ImageDraw.Draw(shapes).rectangle((0, 0, width, height), fill=150)
    image.paste(layer.filter(ImageFilter.GaussianBlur(height / 40)), (0, 0), shapes)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


# --- initials: logos and avatars --------------------------------------------------------------


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


def initials(name: str) -> str:
    """ "Ana Duarte" -> "AD", "Kindred" -> "K": the first letters of the first two words."""
    words = [word for word in name.replace("-", " ").split() if word[:1].isalnum()]
    return "".join(word[0] for word in words[:2]).upper()


def label_layout(
    text: str, size: tuple[int, int] = (800, 800), shape: str = "blobs"
) -> LabelLayout:
    """Fit the label inside the picture: wrapped onto up to three lines, in the largest size
    that fits. At the smallest size, what still does not fit ends in an ellipsis. In a circle
    the label is the name's initials, inside the square inscribed in the circle."""
    width, height = size
    if shape != "blobs":
        words = [initials(text)] if initials(text) else []
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


def _draw_label(image: Image.Image, text: str, shape: str, fill: RGB) -> None:
    layout = label_layout(text, image.size, shape)
    font = _font(layout.font_size)
    draw = ImageDraw.Draw(image)
    for line, (left, top, _right, _bottom) in zip(layout.lines, layout.boxes, strict=True):
        bbox_left, bbox_top, _r, bbox_bottom = font.getbbox(line)
        # Centre the ink itself, not the line box (the default font sits low in its box).
        ink_top = top + (_line_height(font, layout.font_size) - (bbox_bottom - bbox_top)) / 2
        draw.text((left - bbox_left, ink_top - bbox_top), line, font=font, fill=fill)


def initials_png(
    seed: str, name: str, size: tuple[int, int] = (256, 256), shape: str = "disc"
) -> bytes:
    """An avatar (`shape="disc"`: the name's initials, white on a shaded disc of the seed's
    colour, on a pale ground, so a round crop and a square one both look finished) or a shop's
    logo (`shape="tile"`: the same initials on the whole square, which pages round off)."""
    d = _digest(seed, "initials")
    hue = d[0] / 255
    strong = _hsv(hue, 0.5 + d[1] / 255 * 0.2, 0.5 + d[2] / 255 * 0.15)
    big = (size[0] * SUPERSAMPLE, size[1] * SUPERSAMPLE)
    image = Image.new("RGB", big, _hsv(hue, 0.1, 0.96))
    disc = Image.new("L", big, 0 if shape == "disc" else 255)
    ImageDraw.Draw(disc).ellipse((0, 0, big[0] - 1, big[1] - 1), fill=255)
    ramp = Image.linear_gradient("L").resize(big)
    shaded = Image.composite(
        Image.new("RGB", big, _shade(strong, 0.8)),
        Image.new("RGB", big, _shade(strong, 1.15)),
        ramp,
    )
    image.paste(shaded, (0, 0), disc)
    _draw_label(image, name, "circle", (255, 255, 255))
    out = io.BytesIO()
    image.resize(size, Image.Resampling.LANCZOS).save(out, "PNG")
    return out.getvalue()


def placeholder_png(
    seed: str, text: str, size: tuple[int, int] = (800, 800), shape: str = "blobs"
) -> bytes:
    """A picture for `seed`: initials in a disc (`shape="circle"`), else a product of the kind
    `text` names (a title), without the text."""
    if shape != "blobs":
        return initials_png(seed, text, size)
    return product_png(seed, kind_for(text), size, tint=tint_for(text))
