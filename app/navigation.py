"""What every page's layout needs: the site name, navigation, banners."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, has_request_context
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import select

from app.extensions import db
from app.hooks import NavLink, hooks


class OnFirstUse:
    """A list worked out the first time a template reads it, at most once.

    The layout's lists are offered to every template, but a fragment (a page section, a mail)
    never reads them and the account links show on account pages only: what they cost (a
    `visible` check may ask the database) is then never paid for nothing.
    """

    def __init__(self, compute: Callable[[], list[Any]]) -> None:
        self._compute: Callable[[], list[Any]] | None = compute
        self._items: list[Any] = []

    def _get(self) -> list[Any]:
        if self._compute is not None:
            self._items = self._compute()
            self._compute = None
        return self._items

    def __iter__(self) -> Iterator[Any]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())

    def __getitem__(self, index: int) -> Any:
        return self._get()[index]


@dataclass
class ShownLink:
    endpoint: str
    label: Any
    count: int = 0  # its badge's number (none shown at 0)
    pinned: bool = False  # in the header's bar on a phone, not in its menu
    icon: str = ""
    badge_label: str = ""  # what a screen reader says for the badge ("3 unread")


def shown_links(links: list[NavLink]) -> list[ShownLink]:
    """The visible links, in order, with their badges' numbers read in one query."""
    visible = [link for link in sorted(links) if link.visible()]
    counted: dict[int, Any] = {}
    for index, link in enumerate(visible):
        expression = link.badge() if link.badge is not None else None
        if expression is not None:
            counted[index] = expression
    counts: dict[int, int] = {}
    if counted:
        row = db.session.execute(select(*counted.values())).one()
        counts = {index: int(value or 0) for index, value in zip(counted, row, strict=True)}
    shown = []
    for index, link in enumerate(visible):
        count = counts.get(index, 0)
        label = ""
        if count:
            label = (
                link.badge_label(count)
                if link.badge_label is not None
                else ngettext("%(num)d unread", "%(num)d unread", count)
            )
        shown.append(ShownLink(link.endpoint, link.label, count, link.pinned, link.icon, label))
    return shown


def init_app(app: Flask) -> None:
    # Turns a filtered list of (key, value) pairs back into keyword arguments (forms macro).
    app.jinja_env.filters["items2dict"] = dict
    registry = hooks(app)
    registry.account_nav.extend(
        [
            NavLink(10, "account.profile", _l("Profile")),
            NavLink(80, "account.password", _l("Password")),
            NavLink(90, "account.tokens", _l("API tokens")),
        ]
    )

    @app.context_processor
    def _layout() -> dict[str, Any]:
        # Mail is also rendered by jobs and commands, with no request and no visitor.
        if not has_request_context():
            return {"site_name": current_app.config["SITE_NAME"]}
        return {
            "site_name": current_app.config["SITE_NAME"],
            "nav_links": OnFirstUse(lambda: shown_links(registry.nav)),
            "account_links": OnFirstUse(lambda: shown_links(registry.account_nav)),
            "banners": OnFirstUse(lambda: [banner() for banner in registry.banners]),
        }
