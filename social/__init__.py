"""The social layer: follows, picks, collections, likes, comments, the feed, share links and
attribution, notifications, reports and moderation.

`init_app` wires it into the app: pages, the JSON API, navigation (the feed, notifications
with their unread count), profile and product page sections, the attribution receivers of
the marketplace's signals, the guard that keeps suspended people out, and the demo seeder.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user

from app import hooks as app_hooks
from app import page_parts
from app.hooks import NavLink, ViewerFact
from marketplace.shops import has_shop


def _logged_in() -> bool:
    return bool(current_user.is_authenticated)


def _is_admin() -> bool:
    return bool(current_user.is_authenticated and current_user.is_admin)


def _unread() -> Any:
    # The navigation's badge: read with the page's other badges, in one query.
    from social import notifications

    if not current_user.is_authenticated:
        return None
    return notifications.unread_count_query(current_user.id)


def _keep_suspended(user_id: int, value: Any) -> None:
    # Where social.rules.is_suspended looks first: the check on every request costs no query.
    g.setdefault("social_suspended", {})[user_id] = bool(value)


def _suspended_at_login(sender: Flask, user: Any, **_extra: Any) -> None:
    from app.rules import Forbidden
    from social.rules import is_suspended

    if is_suspended(user.id):
        logout_user()
        session.clear()
        raise Forbidden(_("This account is suspended."))


def _keep_suspended_out() -> Any:
    """A suspended person's existing sessions and API tokens stop working."""
    from app.accounts.services import names_someone
    from app.errors import problem
    from social.rules import is_suspended

    if not names_someone() or not current_user.is_authenticated:
        return None
    if not is_suspended(current_user.id):
        return None
    if g.get("api_token_user") or request.path.startswith("/api/"):
        return problem(403, _("This account is suspended."))
    logout_user()
    session.clear()
    # Flask-Login deletes the remember-me cookie when the session says so (logout_user wrote
    # it, the clear removed it): without it the cookie signs them in again on the next page.
    session["_remember"] = "clear"
    flash(_("This account is suspended."), "error")
    return redirect(url_for("core.home"))


def _hide_suspended_profiles() -> Any:
    if request.endpoint != "profiles.show":
        return None
    from app.accounts.models import User
    from app.extensions import db
    from app.rules import NotFound
    from social.models import Suspension
    from social.rules import is_moderator, is_suspended

    handle = (request.view_args or {}).get("handle", "")
    # One query for the person and their suspension; the answer is kept for the sections.
    row = db.session.execute(
        db.select(User.id, Suspension.user_id)
        .outerjoin(Suspension, Suspension.user_id == User.id)
        .where(User.handle == str(handle).lower())
    ).first()
    if row is None:
        return None
    g.setdefault("social_suspended", {})[row[0]] = row[1] is not None
    viewer = current_user if current_user.is_authenticated else None
    if is_suspended(row[0]) and not is_moderator(viewer):
        raise NotFound(_("No one here goes by that name."))
    return None


def init_app(app: Flask) -> None:
    from app.accounts import signals as account_signals
    from marketplace.hooks import add_commission_guard, add_product_section, add_shop_section
    from social import (  # noqa: F401
        api,
        attribution,
        idea_api,
        idea_views,
        ideas,
        messages,
        models,
        return_news,
        rules,
        saved,
        saved_api,
        timeline,
        views,
    )
    from social.polls import wiring as polls_wiring
    from social.seed import seed_social

    app.config.setdefault("ATTRIBUTION_WINDOW_DAYS", 7)
    app.config.setdefault("RATELIMIT_LIKES", "60 per minute")
    app.config.setdefault("RATELIMIT_FOLLOWS", "30 per minute")
    # Vote-stuffing: accounts younger than this cannot vote for ideas.
    app.config.setdefault("IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS", 72)
    app.register_blueprint(views.social)
    return_news.connect(app)
    app.register_blueprint(idea_views.blueprint)
    api.register()
    idea_api.register()

    registry = app_hooks.hooks(app)
    # Whether the person making a request is suspended is read with them (one query).
    registry.viewer_facts.append(ViewerFact(rules.suspended, _keep_suspended))
    registry.nav.extend(
        [
            NavLink(5, "social.home_feed", _l("Feed"), visible=_logged_in),
            NavLink(8, "ideas.index", _l("Ideas")),
            NavLink(
                60, "social.notifications", _l("Notifications"), visible=_logged_in, badge=_unread
            ),
            NavLink(70, "social.admin_reports", _l("Moderation"), visible=_is_admin),
        ]
    )
    registry.account_nav.extend(
        [
            NavLink(30, "social.settings", _l("Sharing and notifications")),
            NavLink(35, "social.stats", _l("My share links")),
            NavLink(36, "ideas.mine", _l("My ideas")),
            NavLink(37, "ideas.manage", _l("Co-creation"), visible=has_shop),
        ]
    )
    # The follow bar first (under the profile's head), picks and collections after the shop.
    registry.profile_sections.insert(0, views.profile_follow_section)
    registry.profile_sections.append(views.profile_posts_section)
    add_product_section(app, views.product_section)
    page_parts.register(
        app, "product_actions", "social/_product_actions.html", views.product_actions
    )
    page_parts.register(app, "like", "social/_like.html", views.likes, macro=True)
    add_product_section(app, idea_views.product_section)
    add_shop_section(app, idea_views.shop_section)
    add_commission_guard(app, ideas.check_commission)

    attribution.connect(app)
    timeline.init_app(app)
    saved.init_app(app)
    saved_api.register()
    polls_wiring.init_app(app)
    account_signals.logged_in.connect(_suspended_at_login, app)
    app.before_request(_keep_suspended_out)
    app.before_request(_hide_suspended_profiles)
    app_hooks.add_seeder(app, 30, "follows, picks and collections", seed_social)
    messages.init_app(app)
