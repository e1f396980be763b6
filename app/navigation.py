"""What every page's layout needs: the site name, navigation, banners."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_request_context
from flask_babel import lazy_gettext as _l

from app.hooks import NavLink, hooks


def init_app(app: Flask) -> None:
    # Turns a filtered list of (key, value) pairs back into keyword arguments (forms macro).
    app.jinja_env.filters["items2dict"] = dict
    hooks(app).account_nav.extend(
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
        registry = hooks()
        return {
            "site_name": current_app.config["SITE_NAME"],
            "nav_links": [link for link in sorted(registry.nav) if link.visible()],
            "account_links": [link for link in sorted(registry.account_nav) if link.visible()],
            "banners": [banner() for banner in registry.banners],
        }
