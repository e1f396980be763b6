"""Extension points that feature packages fill at start-up.

The app knows no feature's rules; features announce what they add (navigation links,
sections of a profile page, banners, demo data) by registering here in their `init_app`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app


@dataclass(order=True)
class NavLink:
    order: int
    endpoint: str = field(compare=False)
    label: Any = field(compare=False)  # a lazy_gettext string
    # Shown only when this returns true (e.g. only for people who have a shop).
    visible: Callable[[], bool] = field(compare=False, default=lambda: True)
    # What its badge counts: SQL for the number (a scalar subquery), or None when there is
    # nothing to count. The badges of a page are read together, in one query.
    badge: Callable[[], Any] | None = field(compare=False, default=None)
    # Kept in the header's bar on a phone, beside the menu button rather than inside its
    # menu (the cart, with its count); it is drawn as its icon there ("bag", "search").
    pinned: bool = field(compare=False, default=False)
    icon: str = field(compare=False, default="")
    # How a screen reader reads its badge, from the number ("3 unread" when not given).
    badge_label: Callable[[int], str] | None = field(compare=False, default=None)


@dataclass
class ViewerFact:
    """Something a feature reads about the person making a request on every request (e.g.
    whether they are suspended), read in the same query that loads them: `expression` makes
    the SQL of it from their id column, `keep(user_id, value)` keeps the answer for the
    request (where the feature's own look-up finds it)."""

    expression: Callable[[Any], Any]
    keep: Callable[[int, Any], None]


@dataclass
class Hooks:
    nav: list[NavLink] = field(default_factory=list)
    account_nav: list[NavLink] = field(default_factory=list)
    # Each returns the HTML (already rendered, Markup) of one section of a profile page.
    profile_sections: list[Callable[[Any], Any]] = field(default_factory=list)
    banners: list[Callable[[], Any]] = field(default_factory=list)
    viewer_facts: list[ViewerFact] = field(default_factory=list)
    # Seeders run in order by `flask seed`; each gets a progress reporter.
    seeders: list[tuple[int, str, Callable[..., None]]] = field(default_factory=list)


def hooks(app: Flask | None = None) -> Hooks:
    app = app or current_app
    return app.extensions.setdefault("kindred_hooks", Hooks())


def add_seeder(app: Flask, order: int, name: str, seeder: Callable[..., None]) -> None:
    hooks(app).seeders.append((order, name, seeder))
    hooks(app).seeders.sort(key=lambda entry: entry[0])
