"""Extension points of the social pages that later features fill at start-up.

* `idea_manage_sections`: callables `(shop) -> Markup | ""` rendered on the shop's co-creation
  page, in order, below its terms (payouts shows the rewards the shop owes and its pool).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from marketplace.models import Shop

Section = Callable[["Shop"], Any]


def add_idea_manage_section(app: Flask, renderer: Section) -> None:
    app.extensions.setdefault("kindred_idea_manage_sections", []).append(renderer)


def idea_manage_sections() -> list[Section]:
    return list(current_app.extensions.get("kindred_idea_manage_sections", []))
