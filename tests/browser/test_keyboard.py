"""Using the site with the keyboard alone: the first Tab offers to skip to the content, and
whatever has the focus shows it (an outline or a ring), on the pages a visitor starts from."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import LAPTOP
from tests.factories import ProductFactory

FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const box = el.getBoundingClientRect();
  const ring = (style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0)
    || style.boxShadow !== "none";
  const label = (el.getAttribute("aria-label") || el.textContent || el.name || el.id || "")
    .trim().slice(0, 30);
  return {tag: el.tagName.toLowerCase(), label, ring,
          shown: box.width > 0 && box.height > 0 && box.right > 0 && box.bottom > 0};
}
"""


def tab_through(page: Any, presses: int) -> list[dict[str, Any]]:
    stops = []
    for _ in range(presses):
        page.keyboard.press("Tab")
        stop = page.evaluate(FOCUSED)
        if stop is None:  # past the last control: the focus went back to the page
            break
        stops.append(stop)
    return stops


@pytest.mark.parametrize("viewport", [LAPTOP], ids=["laptop"])
def test_the_keyboard_reaches_everything_and_always_shows_where_it_is(app, live_server, open_as):
    product = ProductFactory(title="Speckled bowl")
    guest = open_as(None)
    for path in ["/", f"/products/{product.id}", "/search?q=bowl", "/login", "/signup", "/cart"]:
        guest.goto(f"{live_server}{path}")
        stops = tab_through(guest, 40)
        assert len(stops) >= 5, (path, stops)
        first = stops[0]
        assert first["tag"] == "a" and first["label"] == "Skip to content", (path, first)
        assert first["shown"], f"{path}: the skip link stays off screen when focused"
        hidden = [stop for stop in stops if not stop["ring"] or not stop["shown"]]
        assert not hidden, f"{path}: focus not visible on {hidden}"


def test_the_focus_check_sees_a_missing_ring(page):
    page.set_content(
        "<style>:focus-visible { outline: 3px solid orange; }"
        " .bare:focus { outline: none; }</style>"
        "<a href='#a'>ringed</a><button class='bare'>bare</button>"
        "<a href='#b' style='position:absolute; left:-999px'>away</a>"
    )
    stops = tab_through(page, 5)
    assert [(s["label"], s["ring"], s["shown"]) for s in stops] == [
        ("ringed", True, True),
        ("bare", False, True),
        ("away", True, False),
    ]
