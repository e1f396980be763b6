"""Pages: the feed, picks, collections, likes, follows, comments, share links, notifications,
settings, a curator's statistics, reports and the moderators' queue."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from app import page_cache, page_parts
from app.accounts.forms import ConfirmForm
from app.accounts.models import User
from app.accounts.services import current_person, user_by_handle
from app.extensions import db, limiter
from app.forms import apply_violation, int_arg, render_form
from app.rules import Forbidden, NotFound, RuleViolation
from app.security import safe_next
from app.uow import writes
from app.web import upload, viewer
from marketplace.models import Product
from social import (
    feed,
    follows,
    moderation,
    notifications,
    posts,
    reactions,
    return_news,
    saved,
    sharing,
)
from social.forms import (
    AddToCollectionForm,
    CollectionForm,
    CommentForm,
    ItemNoteForm,
    PickForm,
    ReportForm,
    SettingsForm,
)
from social.models import Collection, Pick, Target
from social.rules import is_moderator, is_suspended

social = Blueprint(
    "social",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/social",
)


def rate_key() -> str:
    # Per person when logged in (an automated account behind many addresses is still one).
    if current_user.is_authenticated:
        return f"user:{current_user.id}"
    return request.remote_addr or "unknown"


def likes_limit():
    return limiter.shared_limit(
        lambda: current_app.config.get("RATELIMIT_LIKES", "60 per minute"),
        scope="social-likes",
        key_func=rate_key,
        methods=["POST", "PUT", "DELETE"],
    )


def follows_limit():
    return limiter.shared_limit(
        lambda: current_app.config.get("RATELIMIT_FOLLOWS", "30 per minute"),
        scope="social-follows",
        key_func=rate_key,
        methods=["POST", "PUT", "DELETE"],
    )


def back(fallback: str) -> str:
    return safe_next(request.form.get("next") or request.args.get("next"), fallback)


def pick_link(pick: Pick) -> str:
    """Where a pick's product link goes: through its author's share link, so a visit from
    inside the site attributes a sale like one from outside."""
    if pick.share_link is not None:
        return url_for("social.visit", code=pick.share_link.code, p=pick.product_id)
    return url_for("catalogue.product", product_id=pick.product_id)


def collection_product_link(collection: Collection, product_id: int) -> str:
    if collection.share_link is not None:
        return url_for("social.visit", code=collection.share_link.code, p=product_id)
    return url_for("catalogue.product", product_id=product_id)


@social.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"pick_link": pick_link, "collection_product_link": collection_product_link}


# --- the feed --------------------------------------------------------------------------------


@social.get("/feed")
@login_required
def home_feed() -> str:
    user = current_person()
    size = int(current_app.config.get("SOCIAL_FEED_PAGE", feed.PAGE_SIZE))
    page = feed.home_feed(user, request.args.get("cursor"), size)

    @functools.cache
    def following() -> set[int]:  # for the empty state and new suggestions: asked once
        return follows.followee_ids(user)

    trending = [] if page.items else posts.trending_picks(8)
    return render_template(
        "social/feed.html",
        page=page,
        items_html=page_parts.fill(user, kept_feed_items(page.cards)),
        liked=reactions.liked_ids(user, Target.PICK, [p.id for p in trending]),
        follows_anyone=bool(following()) if not page.items else True,
        trending=trending,
        suggestions=follows.kept_suggestions(user, 6, following),
        first_page=not request.args.get("cursor"),
    )


def kept_feed_items(cards: Sequence[feed.FeedCard]) -> list[page_parts.Fragment]:
    """Each card rendered once for everyone (kept until anything public changes), its like
    button a hole filled for each viewer: a feed is twenty items, most of them already in
    the feeds of others who follow the same people."""
    locale = str(get_locale() or "")
    keys = [f"feed-card:{locale}:{card.key}" for card in cards]

    def render(missing: list[int]) -> list[page_parts.Fragment]:
        contexts = [{"card": cards[index], "item": cards[index].lead} for index in missing]
        return page_parts.render_fragments("social/_feed_item.html", contexts)

    return page_cache.kept_many(keys, render, seconds=600)


def likes(who: User | None, calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `like` part's data for every like button on a page: one query per kind."""
    wanted: dict[str, list[int]] = {}
    for call in calls:
        wanted.setdefault(str(call["target_type"]), []).append(int(call["target_id"]))
    liked = {kind: reactions.liked_ids(who, kind, ids) for kind, ids in wanted.items()}
    return [{"liked": int(call["target_id"]) in liked[str(call["target_type"])]} for call in calls]


# --- share links ---------------------------------------------------------------------------


@social.get("/s/<code>")
@writes
def visit(code: str) -> Response:
    link = sharing.by_code(code)
    who = viewer()
    product_id = int_arg("p", min=1)
    try:
        where = sharing.destination(link, who, product_id)
    except NotFound:
        if link.product_id is None:
            raise
        # The pick is gone but its product is still for sale: go there, credit kept.
        where = sharing.Destination("catalogue.product", {"product_id": link.product_id}, None)
    cookie = sharing.record_visit(link, who)
    response = redirect(url_for(where.endpoint, **where.values))
    if cookie is not None:
        sharing.set_cookie(response, cookie)
    return response


@social.post("/share")
@login_required
def share() -> Any:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    link = sharing.share(
        current_person(),
        request.form.get("target_type", ""),
        int_arg("target_id", 0, values=request.form),
    )
    return redirect(url_for("social.share_link", code=link.code))


@social.get("/share/<code>")
@login_required
def share_link(code: str) -> str:
    link = sharing.by_code(code)
    if not sharing.can_see_stats(current_person(), link):
        raise NotFound(_("That link is not valid."))
    full = current_app.config["BASE_URL"] + url_for("social.visit", code=link.code)
    return render_template(
        "social/share.html", link=link, full_url=full, label=sharing.target_labels([link])[link.id]
    )


@social.get("/account/stats")
@login_required
def stats() -> str:
    user = current_person()
    links = sharing.links_of(user)
    return render_template("social/stats.html", links=links, labels=sharing.target_labels(links))


# --- picks ---------------------------------------------------------------------------------


@social.get("/picks/<int:pick_id>")
def pick(pick_id: int) -> str:
    who = viewer()
    found = posts.visible_pick(pick_id, who)
    return render_template(
        "social/pick.html",
        pick=found,
        liked=who is not None and reactions.liked(who, Target.PICK, found.id),
        threads=reactions.comments_on(Target.PICK, found.id),
        comment_form=CommentForm(formdata=None, target_type=Target.PICK, target_id=found.id),
        owner_id=found.author_id,
    )


@social.route("/picks/new", methods=["GET", "POST"])
@login_required
def new_pick() -> Any:
    form = PickForm()
    product_id = int_arg("product_id", values=request.values) or int_arg("product")
    product = db.session.get(Product, product_id) if product_id else None
    if product is None or not product.listed:
        raise NotFound(_("That product is not available."))
    if form.validate_on_submit():
        try:
            created = posts.create_pick(
                current_person(), product.id, form.note.data or "", upload(form.photo, "photo")
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your pick is published."), "success")
            return redirect(url_for("social.pick", pick_id=created.id))
    form.product_id.data = str(product.id)
    return render_form("social/pick_form.html", form, product=product, pick=None)


@social.route("/picks/<int:pick_id>/edit", methods=["GET", "POST"])
@login_required
def edit_pick(pick_id: int) -> Any:
    user = current_person()
    found = posts.own_pick(user, pick_id)
    form = PickForm(obj=found) if request.method == "GET" else PickForm()
    if form.validate_on_submit():
        try:
            posts.update_pick(
                user,
                found,
                form.note.data or "",
                upload(form.photo, "photo"),
                bool(form.remove_photo.data),
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your pick is saved."), "success")
            return redirect(url_for("social.pick", pick_id=found.id))
    return render_form(
        "social/pick_form.html", form, product=found.product, pick=found, confirm=ConfirmForm()
    )


@social.post("/picks/<int:pick_id>/delete")
@login_required
def delete_pick(pick_id: int) -> Response:
    user = current_person()
    found = posts.removable_pick(user, pick_id)
    author = found.author
    if ConfirmForm().validate_on_submit():
        posts.delete_pick(user, found)
        flash(
            _deleted(user, author, _("Your pick is deleted."), _("The pick is deleted.")), "success"
        )
    return redirect(url_for("profiles.show", handle=author.handle))


def _deleted(actor: Any, author: Any, own: str, moderated: str) -> Any:
    """The message after a deletion: a moderator removed someone else's post, or her own."""
    return own if author.id == actor.id else moderated


# --- collections -----------------------------------------------------------------------------


@social.get("/collections/<int:collection_id>")
def collection(collection_id: int) -> str:
    who = viewer()
    found = posts.visible_collection(collection_id, who)
    is_owner = who is not None and who.id == found.owner_id
    items = posts.items_of(found)
    return render_template(
        "social/collection.html",
        collection=found,
        items=items,
        cover_keys=[item.product.cover_key for item in items if item.product.cover_key],
        is_owner=is_owner,
        following=who is not None and follows.is_following(who.id, found.owner_id),
        share_url=(
            current_app.config["BASE_URL"] + url_for("social.visit", code=found.share_link.code)
            if found.share_link is not None and found.is_public
            else None
        ),
        liked=who is not None and reactions.liked(who, Target.COLLECTION, found.id),
        threads=reactions.comments_on(Target.COLLECTION, found.id),
        comment_form=CommentForm(formdata=None, target_type=Target.COLLECTION, target_id=found.id),
        confirm=ConfirmForm(),
        note_form=ItemNoteForm(formdata=None),
        owner_id=found.owner_id,
    )


@social.post("/collections/<int:collection_id>/cart")
def collection_add_to_cart(collection_id: int) -> Response:
    """Add to cart on a collection: the visit counts as a click on the curator's link, as the
    collection's product links do, and the cart's own route then adds the line (a 307 has the
    browser post the same form there), which the click attributes to the curator."""
    who = viewer()
    found = posts.visible_collection(collection_id, who)
    product_id = int_arg("product_id", 0, values=request.form)
    if not posts.collection_has(found.id, product_id):
        raise NotFound(_("That product is not in this collection."))
    response = redirect(url_for("shopping.add_to_cart"), code=307)
    if found.share_link is not None and found.is_public:
        cookie = sharing.record_visit(found.share_link, who)
        if cookie is not None:
            sharing.set_cookie(response, cookie)
    return response


@social.route("/collections/new", methods=["GET", "POST"])
@login_required
def new_collection() -> Any:
    form = CollectionForm()
    if form.validate_on_submit():
        try:
            created = posts.create_collection(
                current_person(),
                form.title.data or "",
                form.description.data or "",
                bool(form.is_public.data),
                upload(form.cover, "cover"),
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your collection is created. Add products from any product page."), "success")
            return redirect(url_for("social.collection", collection_id=created.id))
    return render_form("social/collection_form.html", form, collection=None)


@social.route("/collections/<int:collection_id>/edit", methods=["GET", "POST"])
@login_required
def edit_collection(collection_id: int) -> Any:
    user = current_person()
    found = posts.own_collection(user, collection_id)
    form = CollectionForm(obj=found) if request.method == "GET" else CollectionForm()
    if form.validate_on_submit():
        try:
            posts.update_collection(
                user,
                found,
                title=form.title.data or "",
                description=form.description.data or "",
                is_public=bool(form.is_public.data),
                cover=upload(form.cover, "cover"),
                remove_cover=bool(form.remove_cover.data),
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your collection is saved."), "success")
            return redirect(url_for("social.collection", collection_id=found.id))
    return render_form("social/collection_form.html", form, collection=found, confirm=ConfirmForm())


@social.post("/collections/<int:collection_id>/delete")
@login_required
def delete_collection(collection_id: int) -> Response:
    user = current_person()
    found = posts.removable_collection(user, collection_id)
    owner = found.owner
    if ConfirmForm().validate_on_submit():
        posts.delete_collection(user, found)
        flash(
            _deleted(
                user, owner, _("Your collection is deleted."), _("The collection is deleted.")
            ),
            "success",
        )
    return redirect(url_for("profiles.show", handle=owner.handle))


@social.post("/collections/add")
@login_required
def add_to_collection() -> Any:
    user = current_person()
    form = AddToCollectionForm()
    form.collection_id.choices = [(c.id, c.title) for c in posts.my_collections(user)]
    product_id = int_arg("product_id", 0, values=request.form)
    if not form.validate_on_submit():
        abort(400)
    new_title = (form.new_title.data or "").strip()
    if new_title:
        target = posts.create_collection(user, new_title)
    else:
        target = posts.own_collection(user, form.collection_id.data or 0)
    posts.add_item(user, target, product_id, form.note.data or "")
    flash(_("Added to “%(title)s”.", title=target.title), "success")
    return redirect(back(url_for("social.collection", collection_id=target.id)))


@social.post("/collections/<int:collection_id>/items/<int:product_id>/<any(up, down):direction>")
@login_required
def move_item(collection_id: int, product_id: int, direction: str) -> Response:
    user = current_person()
    found = posts.own_collection(user, collection_id)
    if ConfirmForm().validate_on_submit():
        posts.move_item(user, found, product_id, -1 if direction == "up" else 1)
    return redirect(url_for("social.collection", collection_id=found.id) + f"#item-{product_id}")


@social.post("/collections/<int:collection_id>/items/<int:product_id>/remove")
@login_required
def remove_item(collection_id: int, product_id: int) -> Response:
    user = current_person()
    found = posts.own_collection(user, collection_id)
    if ConfirmForm().validate_on_submit():
        posts.remove_item(user, found, product_id)
        flash(_("The product is removed from the collection."), "success")
    return redirect(url_for("social.collection", collection_id=found.id))


@social.post("/collections/<int:collection_id>/items/<int:product_id>/note")
@login_required
def item_note(collection_id: int, product_id: int) -> Response:
    user = current_person()
    found = posts.own_collection(user, collection_id)
    form = ItemNoteForm()
    if form.validate_on_submit():
        posts.update_item(user, found, product_id, form.note.data or "")
        flash(_("The note is saved."), "success")
    return redirect(url_for("social.collection", collection_id=found.id) + f"#item-{product_id}")


# --- likes and follows -----------------------------------------------------------------------


@social.post("/like/<any(pick, collection, product):target_type>/<int:target_id>")
@login_required
@likes_limit()
def like(target_type: str, target_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        if request.form.get("undo"):
            reactions.unlike(current_person(), target_type, target_id)
        else:
            reactions.like(current_person(), target_type, target_id)
    return redirect(back(url_for("social.home_feed")))


@social.post("/people/<handle>/follow")
@login_required
@follows_limit()
def follow(handle: str) -> Response:
    person = user_by_handle(handle)
    if ConfirmForm().validate_on_submit():
        if request.form.get("undo"):
            follows.unfollow(current_person(), person)
            flash(_("You no longer follow %(name)s.", name=person.name), "info")
        else:
            follows.follow(current_person(), person)
            flash(_("You follow %(name)s.", name=person.name), "success")
    return redirect(back(url_for("profiles.show", handle=person.handle)))


def _visible_person(handle: str) -> User:
    person = user_by_handle(handle)
    if is_suspended(person.id) and not is_moderator(viewer()):
        raise NotFound(_("No one here goes by that name."))
    return person


@social.get("/@<handle>/<any(followers, following):which>")
def people(handle: str, which: str) -> str:
    person = _visible_person(handle)
    listing = follows.followers if which == "followers" else follows.following
    page = listing(person, int_arg("page", 1, min=1))
    ids = [p.id for p in page.items]
    return render_template(
        "social/people.html",
        person=person,
        which=which,
        page=page,
        following=follows.followed_ids(ids, viewer()),
    )


@social.get("/@<handle>/picks")
def person_picks(handle: str) -> str:
    person = _visible_person(handle)
    page = posts.picks_of(person, int_arg("page", 1, min=1), 24)
    return render_template(
        "social/person_picks.html",
        person=person,
        page=page,
        liked=reactions.liked_ids(viewer(), Target.PICK, [p.id for p in page.items]),
    )


@social.get("/@<handle>/collections")
def person_collections(handle: str) -> str:
    person = _visible_person(handle)
    page = posts.collections_of(person, viewer(), int_arg("page", 1, min=1), 24)
    return render_template(
        "social/person_collections.html",
        person=person,
        page=page,
        covers=posts.cover_keys([c.id for c in page.items]),
    )


# --- comments ------------------------------------------------------------------------------


def _comment_page(target_type: str, target_id: int) -> str:
    endpoint, values = reactions.target_page(target_type, target_id)
    return url_for(endpoint, **values)


@social.post("/comments")
@login_required
def add_comment() -> Any:
    form = CommentForm()
    target_type = form.target_type.data or ""
    # The page fills these: anything but a number a column holds is a forged request.
    if not (form.target_id.validate(form) and form.parent_id.validate(form)):
        abort(400)
    target_id = form.target_id.data or 0
    parent_id = form.parent_id.data
    if target_type not in Target.COMMENTABLE:
        abort(404)
    if form.validate_on_submit():
        try:
            created = reactions.add_comment(
                current_person(), target_type, target_id, form.body.data or "", parent_id
            )
        except RuleViolation as violation:
            if violation.status == 404:
                raise
            apply_violation(form, violation)
        else:
            return redirect(_comment_page(target_type, target_id) + f"#comment-{created.id}")
    return render_form(
        "social/comment_form.html",
        form,
        back_url=_comment_page(target_type, target_id),
        comment=None,
    )


@social.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@login_required
def edit_comment(comment_id: int) -> Any:
    found = reactions.recent_comment_of(comment_id)
    if found.author_id != current_person().id or found.removed_at is not None:
        raise NotFound(_("There is no such comment."))
    form = CommentForm(obj=found) if request.method == "GET" else CommentForm()
    page = _comment_page(found.target_type, found.target_id)
    if form.validate_on_submit():
        try:
            reactions.edit_comment(current_person(), comment_id, form.body.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            return redirect(page + f"#comment-{comment_id}")
    return render_form("social/comment_form.html", form, back_url=page, comment=found)


@social.post("/comments/<int:comment_id>/remove")
@login_required
def remove_comment(comment_id: int) -> Response:
    found = reactions.recent_comment_of(comment_id)
    if ConfirmForm().validate_on_submit():
        reactions.remove_comment(current_person(), comment_id)
        flash(_("The comment is removed."), "success")
    return redirect(_comment_page(found.target_type, found.target_id))


# --- notifications and settings ------------------------------------------------------------


def notification_link(notification: Any) -> str:
    if notification.kind == "follow" and notification.actor is not None:
        return url_for("profiles.show", handle=notification.actor.handle)
    if notification.kind == "sale":
        return url_for("social.stats")
    if (return_link := return_news.link(notification)) is not None:
        return return_link
    if notification.target_type == saved.ALERT_TARGET and notification.product_id:
        return url_for("catalogue.product", product_id=notification.product_id)
    if notification.target_type == Target.PICK:
        return url_for("social.pick", pick_id=notification.target_id)
    if notification.target_type == Target.COLLECTION:
        return url_for("social.collection", collection_id=notification.target_id)
    if notification.target_type == Target.IDEA and notification.target_id:
        return url_for("ideas.show", idea_id=notification.target_id)
    if notification.target_type == "conversation" and notification.target_id:
        return url_for("messages.conversation", conversation_id=notification.target_id)
    if notification.target_type == Target.PRODUCT and notification.target_id:
        return url_for("catalogue.product", product_id=notification.target_id)
    return url_for("social.notifications")


@social.get("/notifications", endpoint="notifications")
@login_required
def notifications_page() -> str:
    user = current_person()
    rows = notifications.recent(user.id, int_arg("before"))
    more = len(rows) > notifications.PAGE_SIZE
    rows = rows[: notifications.PAGE_SIZE]
    return render_template(
        "social/notifications.html",
        rows=rows,
        next_before=rows[-1].id if more and rows else None,
        link=notification_link,
        titles=notifications.subject_titles(rows),
        alerts=saved.alerts_for(rows),
        confirm=ConfirmForm(),
    )


@social.post("/notifications/read")
@login_required
def read_notifications() -> Response:
    if ConfirmForm().validate_on_submit():
        notifications.mark_all_read(current_person())
    return redirect(url_for("social.notifications"))


@social.route("/account/social", methods=["GET", "POST"])
@login_required
def settings() -> Any:
    user = current_person()
    current = notifications.settings_for(user.id)
    form = SettingsForm(obj=current) if request.method == "GET" else SettingsForm()
    if form.validate_on_submit():
        notifications.update_settings(
            user,
            share_purchases=bool(form.share_purchases.data),
            email_follows=bool(form.email_follows.data),
            email_reactions=bool(form.email_reactions.data),
            email_sales=bool(form.email_sales.data),
            email_saved=bool(form.email_saved.data),
            email_messages=bool(form.email_messages.data),
        )
        flash(_("Your settings are saved."), "success")
        return redirect(url_for("social.settings"))
    return render_form("social/settings.html", form)


# --- reports and moderation ------------------------------------------------------------------


@social.route("/report", methods=["GET", "POST"])
@login_required
def report() -> Any:
    form = ReportForm(request.args) if request.method == "GET" else ReportForm()
    if request.method == "GET" and form.target_type.data and form.target_id.data:
        try:
            moderation.check_reportable(
                current_person(), form.target_type.data, int(form.target_id.data)
            )
        except Forbidden as refused:
            # One's own pick, collection, comment or profile: say so rather than offer a form.
            return render_template("social/report.html", form=form, refused=refused.message), 403
        except (RuleViolation, ValueError):
            raise NotFound(_("There is nothing to report there.")) from None
    if request.method == "POST" and form.validate_on_submit():
        try:
            moderation.report(
                current_person(),
                form.target_type.data or "",
                int(form.target_id.data or 0),
                form.reason.data or "",
                form.details.data or "",
            )
        except (RuleViolation, ValueError) as violation:
            if isinstance(violation, RuleViolation) and violation.status != 404:
                apply_violation(form, violation)
            else:
                raise NotFound(_("There is nothing to report there.")) from None
        else:
            flash(_("Thank you. A moderator will look at your report."), "success")
            return redirect(url_for("social.home_feed"))
    return render_form("social/report.html", form)


@social.get("/admin/reports")
@login_required
def admin_reports() -> str:
    user = current_person()
    hidden, suspended = moderation.taken_down(user)
    return render_template(
        "social/admin_reports.html",
        entries=moderation.open_reports(user),
        hidden=hidden,
        suspended=suspended,
        confirm=ConfirmForm(),
    )


@social.post("/admin/<any(hide, unhide, suspend, unsuspend):action>")
@login_required
def moderate(action: str) -> Response:
    user = current_person()
    if not is_moderator(user):
        abort(403)
    if ConfirmForm().validate_on_submit():
        target_type = request.form.get("target_type", "")
        target_id = int_arg("target_id", 0, values=request.form)
        if action in ("hide", "unhide"):
            (moderation.hide if action == "hide" else moderation.unhide)(
                user, target_type, target_id
            )
            if action == "hide":
                flash(_("The content is hidden."), "success")
            else:
                flash(_("The content is shown again."), "success")
        else:
            person = moderation.author_of(target_type, target_id)
            if person is None:
                raise NotFound(_("No one here goes by that name."))
            if action == "suspend":
                moderation.suspend(user, person, request.form.get("reason", ""))
                flash(_("%(name)s is suspended.", name=person.name), "success")
            else:
                moderation.unsuspend(user, person)
                flash(_("%(name)s can post again.", name=person.name), "success")
    return redirect(back(url_for("social.admin_reports")))


@social.post("/admin/reports/<int:report_id>/dismiss")
@login_required
def dismiss_report(report_id: int) -> Response:
    if ConfirmForm().validate_on_submit():
        moderation.dismiss(current_person(), report_id)
    return redirect(url_for("social.admin_reports"))


# --- sections other pages show -----------------------------------------------------------


def profile_follow_section(person: User) -> Any:
    who = viewer()
    if is_suspended(person.id):
        return Markup(render_template("social/_profile_suspended.html", person=person))  # noqa: S704
    followers_count, following_count = follows.counts(person.id)
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template(
            "social/_profile_follow.html",
            person=person,
            followers_count=followers_count,
            following_count=following_count,
            is_following=who is not None and follows.is_following(who.id, person.id),
            is_me=who is not None and who.id == person.id,
        )
    )


def profile_posts_section(person: User) -> Any:
    if is_suspended(person.id):
        return ""
    who = viewer()
    picks = posts.picks_of(person, 1, 6)
    collections = posts.collections_of(person, who, 1, 6)
    if not picks.items and not collections.items and (who is None or who.id != person.id):
        return ""
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template(
            "social/_profile_posts.html",
            person=person,
            picks=picks,
            collections=collections,
            covers=posts.cover_keys([c.id for c in collections.items]),
            liked=reactions.liked_ids(who, Target.PICK, [p.id for p in picks.items]),
            is_me=who is not None and who.id == person.id,
        )
    )


def product_section(product: Product) -> Any:
    """On a product page: who picked it and the collections it is in (the same for every
    visitor); the visitor's own like and collections are a viewer part (`product_actions`)."""
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template(
            "social/_product_section.html",
            product=product,
            picks=posts.picks_of_product(product.id),
            collections=posts.collections_with_product(product.id),
            like_count=reactions.product_like_count(product.id),
        )
    )


def product_actions(who: User | None, calls: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The `product_actions` part's data for every product on a page: the visitor's likes
    and their collections, in one query."""
    if who is None:
        return [{"liked": False, "add_form": None} for _call in calls]
    product_ids = [int(call["product_id"]) for call in calls]
    liked, choices = posts.likes_and_collections(who, product_ids)
    found = []
    for product_id in product_ids:
        add_form = AddToCollectionForm(formdata=None, product_id=str(product_id))
        add_form.collection_id.choices = choices
        found.append({"liked": product_id in liked, "add_form": add_form})
    return found
