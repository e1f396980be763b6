"""Text contrast on the pages people use, measured in Chromium as they are drawn.

For every element holding text, the colour of the text is laid over the background it really
sits on (its own and its ancestors' background colours, composited, with their opacity) and
the contrast ratio is computed as WCAG 2 defines it: at least 4.5:1, or 3:1 for large text
(24 px, or 18.66 px bold). Text over a picture or a gradient is left out: its background is
not one colour. The pages are those of a seller who also buys, curates and runs calls for
ideas (tests/security/world.py), so every kind of page is filled as in real use.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LAPTOP
from tests.security.world import build_world

CONTRAST = """
() => {
  const parse = (c) => {
    const m = c.match(/rgba?\\(([^)]+)\\)/);
    if (!m) return null;
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, bottom) =>
    [0, 1, 2].map((i) => top[i] * top[3] + bottom[i] * (1 - top[3])).concat(1);
  const luminance = (c) => {
    const s = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2];
  };
  const background = (el) => {
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const style = getComputedStyle(node);
      if (style.backgroundImage !== "none") return null;
      const c = parse(style.backgroundColor);
      if (c && c[3] > 0) {
        layers.push(c);
        if (c[3] >= 1) break;
      }
    }
    let colour = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) colour = over(layers[i], colour);
    return colour;
  };
  const problems = [];
  let measured = 0;
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest("[aria-hidden='true'], option, script, style, noscript, :disabled")) continue;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    if (style.visibility === "hidden" || box.width < 2 || box.height < 2) continue;
    const bg = background(el);
    if (!bg) continue;
    measured += 1;
    let opacity = 1;
    for (let node = el; node; node = node.parentElement) {
      opacity *= parseFloat(getComputedStyle(node).opacity);
    }
    const ink = parse(style.color);
    const fg = over([ink[0], ink[1], ink[2], ink[3] * opacity], bg);
    const [light, dark] = [luminance(fg), luminance(bg)].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && parseInt(style.fontWeight, 10) >= 700);
    const needed = large ? 3 : 4.5;
    if (ratio < needed - 0.005) {
      const where = el.tagName.toLowerCase() + (el.className ? "." + el.className : "");
      problems.push(`${ratio.toFixed(2)}:1 < ${needed}:1 "${text.slice(0, 40)}" (${where})`);
    }
  }
  return {problems, measured};
}
"""


def low_contrast(page: Any) -> tuple[list[str], int]:
    """The texts below the contrast they need, and how many texts were measured."""
    result = page.evaluate(CONTRAST)
    return list(result["problems"]), int(result["measured"])


def test_the_contrast_check_measures(live_server, page):
    """The check itself: grey on white fails, dark ink passes, large text needs less."""
    page.set_content(
        "<body style='background:#fff'>"
        "<p style='color:#999'>faint</p>"
        "<p style='color:#333'>clear</p>"
        "<p style='color:#888;font-size:30px'>large and faint enough</p>"
        "<p style='color:#767676'>just enough</p>"
        "<div style='background:#000'><p style='color:#333'>dark on black</p></div>"
        "<div style='opacity:0.3'><p style='color:#000'>faded</p></div>"
        "</body>"
    )
    found, measured = low_contrast(page)
    assert [line.split('"')[1] for line in found] == ["faint", "dark on black", "faded"], found
    assert measured == 6


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_every_kind_of_page_has_readable_text(app, live_server, open_as):
    world = build_world(app)
    ids = world.objects("owner")
    guest = open_as(None)
    owner = open_as(world.owner)
    pages = {
        guest: ["/login", "/signup", "/password/forgot", "/no-such-page"],
        owner: [
            "/",
            "/new",
            "/categories/home",
            "/search?q=product",
            f"/products/{ids['product_id']}",
            "/shops/olivias",
            "/@olivia",
            f"/picks/{ids['pick_id']}",
            f"/collections/{ids['collection_id']}",
            "/feed",
            "/notifications",
            "/cart",
            "/checkout",
            "/orders",
            f"/orders/{ids['order_id']}",
            "/account/",
            "/account/shop/",
            "/account/shop/products",
            f"/account/shop/products/{ids['product_id']}",
            f"/account/shop/products/{ids['product_id']}/variants",
            "/account/shop/orders/",
            f"/account/shop/orders/{ids['sold_order_id']}",
            "/account/shop/deals",
            f"/account/shop/deals/coupons/{ids['coupon_id']}",
            "/account/earnings",
            "/account/payouts",
            "/account/stats",
            "/account/tokens",
            "/account/security",
            "/account/two-step",
            "/ideas",
            f"/ideas/{ids['idea_id']}",
            f"/ideas/calls/{ids['call_id']}",
            "/shop/ideas",
            "/api/docs",
        ],
    }
    problems = []
    opened = 0
    for page, paths in pages.items():
        for path in paths:
            page.goto(f"{live_server}{path}")
            page.wait_for_load_state()
            if path == "/api/docs":  # Swagger UI draws the operations once it has the spec
                page.locator(".opblock").first.wait_for()
            opened += 1
            found, measured = low_contrast(page)
            assert measured >= 10, f"{path}: only {measured} texts measured"
            problems += [f"{path}: {line}" for line in found]
    assert opened == 39
    assert not problems, "\n".join(problems)
