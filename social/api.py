"""/api/v1: the feed, people and follows, picks, collections, likes, comments, share links,
notifications, settings and reports."""

from __future__ import annotations

from typing import Any

from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from app import api, media
from app.accounts.models import User
from app.accounts.services import current_person, user_by_handle
from app.extensions import db
from app.rules import NotFound, RuleViolation
from app.web import viewer
from marketplace.models import Product
from marketplace.pagination import Page
from social import feed, follows, moderation, notifications, posts, reactions, sharing
from social.models import Collection, Comment, Pick, ShareLink, Target
from social.rules import is_moderator, is_suspended
from social.schemas import (
    CollectionItemSchema,
    CollectionPageSchema,
    CollectionSchema,
    CollectionUpdateSchema,
    CommentListSchema,
    CommentSchema,
    CommentUpdateSchema,
    FeedArgsSchema,
    FeedSchema,
    FollowStateSchema,
    ItemAddSchema,
    ItemNoteSchema,
    ItemOrderSchema,
    LikeStateSchema,
    NotificationArgsSchema,
    NotificationListSchema,
    PeoplePageArgsSchema,
    PeoplePageSchema,
    PersonSchema,
    PhotoFileSchema,
    PickPageSchema,
    PickSchema,
    PickUpdateSchema,
    ReportSchema,
    SettingsSchema,
    ShareLinkListSchema,
    ShareLinkSchema,
    ShareRequestSchema,
)
from social.views import follows_limit, likes_limit

blueprint = Blueprint(
    "social_api",
    __name__,
    description="The feed, follows, picks, collections, likes, comments and share links",
)


# --- representations -------------------------------------------------------------------------


def person_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "handle": user.handle,
        "name": user.name,
        "avatar_url": media.media_url(user.avatar_key),
        "url": url_for("profiles.show", handle=user.handle, _external=True),
    }


def product_brief(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "price_minor": product.price_minor,
        "currency": current_app.config["CURRENCY"],
        "cover_url": media.media_url(product.cover_key),
        "shop": {"id": product.shop.id, "slug": product.shop.slug, "name": product.shop.name},
        "url": url_for("catalogue.product", product_id=product.id, _external=True),
    }


def _share_url(link: ShareLink | None, **args: Any) -> str | None:
    if link is None:
        return None
    return url_for("social.visit", code=link.code, _external=True, **args)


def pick_view(pick: Pick) -> dict[str, Any]:
    return {
        "id": pick.id,
        "note": pick.note,
        "author": person_view(pick.author),
        "product": product_brief(pick.product),
        "photo_url": media.media_url(pick.photo_key),
        "like_count": pick.like_count,
        "comment_count": pick.comment_count,
        "share_url": _share_url(pick.share_link),
        "url": url_for("social.pick", pick_id=pick.id, _external=True),
        "created_at": pick.created_at,
        "updated_at": pick.updated_at,
    }


def collection_view(collection: Collection, with_items: bool = False) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "is_public": collection.is_public,
        "owner": person_view(collection.owner),
        "cover_url": media.media_url(collection.cover_key),
        "item_count": collection.item_count,
        "like_count": collection.like_count,
        "comment_count": collection.comment_count,
        "share_url": _share_url(collection.share_link),
        "url": url_for("social.collection", collection_id=collection.id, _external=True),
        "created_at": collection.created_at,
    }
    if with_items:
        view["items"] = [
            {
                "product": product_brief(item.product),
                "note": item.note,
                "position": item.position,
                "link": _share_url(collection.share_link, p=item.product_id)
                or url_for("catalogue.product", product_id=item.product_id, _external=True),
            }
            for item in posts.items_of(collection)
        ]
    return view


def page_view(page: Page[Any], items: list[Any]) -> dict[str, Any]:
    return page.to_dict(items)


def feed_item_view(item: feed.FeedItem) -> dict[str, Any]:
    link = None
    if item.share_link is not None:
        link = (
            _share_url(item.share_link, p=item.product.id)
            if (item.collection is not None and item.product is not None)
            else _share_url(item.share_link)
        )
    elif item.product is not None:
        link = url_for("catalogue.product", product_id=item.product.id, _external=True)
    pick = item.pick
    return {
        "kind": item.kind,
        "at": item.at,
        "actor": person_view(item.actor),
        "pick": pick_view(pick) if pick is not None else None,
        "collection": (
            {
                "id": item.collection.id,
                "title": item.collection.title,
                "url": url_for(
                    "social.collection", collection_id=item.collection.id, _external=True
                ),
            }
            if item.collection is not None
            else None
        ),
        "idea": (
            {
                "id": item.idea.id,
                "title": item.idea.title,
                "status": item.idea.status,
                "vote_count": item.idea.vote_count,
                "url": url_for("ideas.show", idea_id=item.idea.id, _external=True),
            }
            if item.idea is not None
            else None
        ),
        "product": product_brief(item.product) if item.product is not None else None,
        "link": link
        or (
            url_for("ideas.show", idea_id=item.idea.id, _external=True)
            if item.idea is not None
            else None
        ),
    }


def comment_view(comment: Comment, replies: list[Comment] | None = None) -> dict[str, Any]:
    view = {
        "id": comment.id,
        "body": comment.body,
        "parent_id": comment.parent_id,
        "author": person_view(comment.author),
        "created_at": comment.created_at,
        "edited_at": comment.edited_at,
    }
    if replies is not None:
        view["replies"] = [comment_view(reply) for reply in replies]
    return view


def _person(handle: str) -> User:
    person = user_by_handle(handle)
    if is_suspended(person.id) and not is_moderator(viewer()):
        raise NotFound(_("No one here goes by that name."))
    return person


# --- the feed --------------------------------------------------------------------------------


@blueprint.route("/feed")
class Feed(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(FeedArgsSchema, location="query")
    @blueprint.response(200, FeedSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your home feed, newest first; pass `next_cursor` back as `cursor` for more.

        When it is empty (you follow no one yet), `trending_picks` and `suggestions` help."""
        user = current_person()
        page = feed.home_feed(user, args["cursor"], args["per_page"])
        empty = not page.items and not args["cursor"]
        return {
            "items": [feed_item_view(item) for item in page.items],
            "next_cursor": page.next_cursor,
            "suggestions": [person_view(p) for p in follows.suggestions(user)] if empty else [],
            "trending_picks": [pick_view(p) for p in posts.trending_picks()] if empty else [],
        }


# --- people and follows ----------------------------------------------------------------------


def _follow_state(person: User) -> dict[str, Any]:
    followers_count, following_count = follows.counts(person.id)
    return {
        "following": follows.is_following(current_person().id, person.id),
        "followers_count": followers_count,
        "following_count": following_count,
    }


@blueprint.route("/people/<handle>/follow")
class Following(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, FollowStateSchema)
    def get(self, handle: str) -> dict[str, Any]:
        """Whether you follow this person."""
        return _follow_state(_person(handle))

    @follows_limit()
    @blueprint.response(200, FollowStateSchema)
    def put(self, handle: str) -> dict[str, Any]:
        """Follow a person (and their shop). Following twice is harmless."""
        person = _person(handle)
        follows.follow(current_person(), person)
        return _follow_state(person)

    @follows_limit()
    @blueprint.response(200, FollowStateSchema)
    def delete(self, handle: str) -> dict[str, Any]:
        """Unfollow a person."""
        person = _person(handle)
        follows.unfollow(current_person(), person)
        return _follow_state(person)


@blueprint.route("/people/<handle>/<any(followers, following):which>")
class People(MethodView):
    @blueprint.arguments(PeoplePageArgsSchema, location="query")
    @blueprint.response(200, PeoplePageSchema)
    def get(self, args: dict[str, Any], handle: str, which: str) -> dict[str, Any]:
        """A person's followers, or the people they follow."""
        listing = follows.followers if which == "followers" else follows.following
        page = listing(_person(handle), args["page"], args["per_page"])
        return page_view(page, [person_view(p) for p in page.items])


@blueprint.route("/people/suggestions")
class Suggestions(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, PersonSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """People you might follow."""
        return [person_view(p) for p in follows.suggestions(current_person(), 12)]


@blueprint.route("/people/<handle>/picks")
class PersonPicks(MethodView):
    @blueprint.arguments(PeoplePageArgsSchema, location="query")
    @blueprint.response(200, PickPageSchema)
    def get(self, args: dict[str, Any], handle: str) -> dict[str, Any]:
        """A person's picks, newest first."""
        page = posts.picks_of(_person(handle), args["page"], args["per_page"])
        return page_view(page, [pick_view(p) for p in page.items])


@blueprint.route("/people/<handle>/collections")
class PersonCollections(MethodView):
    @blueprint.arguments(PeoplePageArgsSchema, location="query")
    @blueprint.response(200, CollectionPageSchema)
    def get(self, args: dict[str, Any], handle: str) -> dict[str, Any]:
        """A person's collections (their private ones too, when they ask)."""
        page = posts.collections_of(_person(handle), viewer(), args["page"], args["per_page"])
        return page_view(page, [collection_view(c) for c in page.items])


# --- picks -----------------------------------------------------------------------------------


@blueprint.route("/picks")
class Picks(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PickSchema)
    @blueprint.response(201, PickSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Publish a pick: one product and why you love it."""
        return pick_view(posts.create_pick(current_person(), data["product_id"], data["note"]))


@blueprint.route("/picks/<int:pick_id>")
class PickItem(MethodView):
    @blueprint.response(200, PickSchema)
    def get(self, pick_id: int) -> dict[str, Any]:
        """A pick."""
        return pick_view(posts.visible_pick(pick_id, viewer()))

    @api.login_required
    @blueprint.arguments(PickUpdateSchema)
    @blueprint.response(200, PickSchema)
    def patch(self, data: dict[str, Any], pick_id: int) -> dict[str, Any]:
        """Change your pick's note."""
        user = current_person()
        pick = posts.own_pick(user, pick_id)
        return pick_view(posts.update_pick(user, pick, data["note"]))

    @api.login_required
    @blueprint.response(204)
    def delete(self, pick_id: int) -> None:
        """Delete your pick (a moderator: anyone's)."""
        user = current_person()
        posts.delete_pick(user, posts.removable_pick(user, pick_id))


@blueprint.route("/picks/<int:pick_id>/photo")
class PickPhoto(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PhotoFileSchema, location="files")
    @blueprint.response(200, PickSchema)
    def put(self, _files: dict[str, Any], pick_id: int) -> dict[str, Any]:
        """Set your pick's photo (multipart, field `image`: JPEG, PNG or WebP, up to 10 MB)."""
        user = current_person()
        pick = posts.own_pick(user, pick_id)
        return pick_view(posts.update_pick(user, pick, pick.note, photo=_upload()))

    @blueprint.response(200, PickSchema)
    def delete(self, pick_id: int) -> dict[str, Any]:
        """Remove your pick's photo."""
        user = current_person()
        pick = posts.own_pick(user, pick_id)
        return pick_view(posts.update_pick(user, pick, pick.note, remove_photo=True))


def _upload() -> bytes:
    upload = request.files.get("image")
    if upload is None or not upload.filename:
        raise RuleViolation(_("Choose an image to upload."), field="image")
    return media.read_upload(upload.stream, field_name="image")


# --- collections -----------------------------------------------------------------------------


@blueprint.route("/collections")
class Collections(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(CollectionSchema)
    @blueprint.response(201, CollectionSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a collection (public unless `is_public` is false)."""
        created = posts.create_collection(
            current_person(), data["title"], data["description"], data["is_public"]
        )
        return collection_view(created, with_items=True)


@blueprint.route("/collections/<int:collection_id>/cover")
class CollectionCover(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PhotoFileSchema, location="files")
    @blueprint.response(200, CollectionSchema)
    def put(self, _files: dict[str, Any], collection_id: int) -> dict[str, Any]:
        """Set your collection's cover (multipart, field `image`)."""
        return self._change(collection_id, cover=_upload())

    @blueprint.response(200, CollectionSchema)
    def delete(self, collection_id: int) -> dict[str, Any]:
        """Remove your collection's cover."""
        return self._change(collection_id, remove_cover=True)

    @staticmethod
    def _change(collection_id: int, **change: Any) -> dict[str, Any]:
        user = current_person()
        collection = posts.own_collection(user, collection_id)
        posts.update_collection(
            user,
            collection,
            title=collection.title,
            description=collection.description,
            is_public=collection.is_public,
            **change,
        )
        return collection_view(collection, with_items=True)


@blueprint.route("/collections/<int:collection_id>")
class CollectionResource(MethodView):
    @blueprint.response(200, CollectionSchema)
    def get(self, collection_id: int) -> dict[str, Any]:
        """A collection with its products in order. A private one is its owner's alone."""
        return collection_view(posts.visible_collection(collection_id, viewer()), with_items=True)

    @api.login_required
    @blueprint.arguments(CollectionUpdateSchema)
    @blueprint.response(200, CollectionSchema)
    def patch(self, data: dict[str, Any], collection_id: int) -> dict[str, Any]:
        """Change your collection's title, description or visibility."""
        user = current_person()
        found = posts.own_collection(user, collection_id)
        posts.update_collection(
            user,
            found,
            title=data.get("title", found.title),
            description=data.get("description", found.description),
            is_public=data.get("is_public", found.is_public),
        )
        return collection_view(found, with_items=True)

    @api.login_required
    @blueprint.response(204)
    def delete(self, collection_id: int) -> None:
        """Delete your collection (a moderator: anyone's public one)."""
        user = current_person()
        posts.delete_collection(user, posts.removable_collection(user, collection_id))


@blueprint.route("/collections/<int:collection_id>/items")
class CollectionItems(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ItemAddSchema)
    @blueprint.response(201, CollectionItemSchema)
    def post(self, data: dict[str, Any], collection_id: int) -> dict[str, Any]:
        """Add a product (from any shop) to your collection, at the end."""
        user = current_person()
        found = posts.own_collection(user, collection_id)
        item = posts.add_item(user, found, data["product_id"], data["note"])
        return {
            "product": product_brief(item.product),
            "note": item.note,
            "position": item.position,
            "link": _share_url(found.share_link, p=item.product_id),
        }


@blueprint.route("/collections/<int:collection_id>/items/<int:product_id>")
class CollectionItemResource(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ItemNoteSchema)
    @blueprint.response(200, CollectionItemSchema)
    def patch(self, data: dict[str, Any], collection_id: int, product_id: int) -> dict[str, Any]:
        """Change the note of a product in your collection."""
        user = current_person()
        found = posts.own_collection(user, collection_id)
        item = posts.update_item(user, found, product_id, data["note"])
        return {
            "product": product_brief(item.product),
            "note": item.note,
            "position": item.position,
            "link": _share_url(found.share_link, p=item.product_id),
        }

    @blueprint.response(204)
    def delete(self, collection_id: int, product_id: int) -> None:
        """Remove a product from your collection."""
        user = current_person()
        posts.remove_item(user, posts.own_collection(user, collection_id), product_id)


@blueprint.route("/collections/<int:collection_id>/order")
class CollectionOrder(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ItemOrderSchema)
    @blueprint.response(200, CollectionSchema)
    def put(self, data: dict[str, Any], collection_id: int) -> dict[str, Any]:
        """Reorder your collection: every product id, once, in the new order."""
        user = current_person()
        found = posts.own_collection(user, collection_id)
        posts.reorder(user, found, data["product_ids"])
        return collection_view(found, with_items=True)


# --- likes and comments ----------------------------------------------------------------------


@blueprint.route("/likes/<any(pick, collection, product):target_type>/<int:target_id>")
class Likes(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, LikeStateSchema)
    def get(self, target_type: str, target_id: int) -> dict[str, Any]:
        """Whether you like it."""
        return {"liked": reactions.liked(current_person(), target_type, target_id)}

    @likes_limit()
    @blueprint.response(200, LikeStateSchema)
    def put(self, target_type: str, target_id: int) -> dict[str, Any]:
        """Like a pick, collection or product. Liking twice is harmless."""
        reactions.like(current_person(), target_type, target_id)
        return {"liked": True}

    @likes_limit()
    @blueprint.response(200, LikeStateSchema)
    def delete(self, target_type: str, target_id: int) -> dict[str, Any]:
        """Take your like back."""
        reactions.unlike(current_person(), target_type, target_id)
        return {"liked": False}


KIND_TO_TARGET = {"picks": Target.PICK, "collections": Target.COLLECTION, "ideas": Target.IDEA}


@blueprint.route("/<any(picks, collections, ideas):kind>/<int:target_id>/comments")
class Comments(MethodView):
    @blueprint.response(200, CommentListSchema)
    def get(self, kind: str, target_id: int) -> dict[str, Any]:
        """The comments, oldest first, each with its replies (one level)."""
        target = reactions.subject(KIND_TO_TARGET[kind], target_id, viewer())
        threads = reactions.comments_on(target.target_type, target.target_id)
        return {"items": [comment_view(t.comment, t.replies) for t in threads]}

    @api.login_required
    @blueprint.arguments(CommentSchema)
    @blueprint.response(201, CommentSchema)
    def post(self, data: dict[str, Any], kind: str, target_id: int) -> dict[str, Any]:
        """Comment, or reply to a comment with `parent_id`. Plain text; HTML is removed."""
        created = reactions.add_comment(
            current_person(), KIND_TO_TARGET[kind], target_id, data["body"], data["parent_id"]
        )
        return comment_view(created, [])


@blueprint.route("/comments/<int:comment_id>")
class CommentResource(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(CommentUpdateSchema)
    @blueprint.response(200, CommentSchema)
    def patch(self, data: dict[str, Any], comment_id: int) -> dict[str, Any]:
        """Edit your comment."""
        return comment_view(reactions.edit_comment(current_person(), comment_id, data["body"]))

    @blueprint.response(204)
    def delete(self, comment_id: int) -> None:
        """Remove a comment: yours, or one on your pick or collection."""
        reactions.remove_comment(current_person(), comment_id)


# --- share links -----------------------------------------------------------------------------


def link_view(link: ShareLink, label: str) -> dict[str, Any]:
    return {
        "code": link.code,
        "url": _share_url(link),
        "target_type": link.target_type,
        "target_id": link.target_id,
        "label": label,
        "clicks": link.clicks,
        "add_to_carts": link.add_to_carts,
        "orders": link.orders,
        "sales_minor": link.sales_minor,
        "currency": current_app.config["CURRENCY"],
    }


@blueprint.route("/share-links")
class ShareLinks(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ShareLinkListSchema)
    def get(self) -> dict[str, Any]:
        """Your share links with their clicks, add-to-carts, orders and sales."""
        links = sharing.links_of(current_person())
        labels = sharing.target_labels(links)
        return {"items": [link_view(link, labels[link.id]) for link in links]}

    @blueprint.arguments(ShareRequestSchema)
    @blueprint.response(201, ShareLinkSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Your share link to a pick, collection or product (made once, then the same)."""
        link = sharing.share(current_person(), data["target_type"], data["target_id"])
        db.session.flush()
        return link_view(link, sharing.target_labels([link])[link.id])


# --- notifications, settings, reports --------------------------------------------------------


@blueprint.route("/notifications")
class Notifications(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(NotificationArgsSchema, location="query")
    @blueprint.response(200, NotificationListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your notifications, newest first, and how many are unread."""
        user = current_person()
        rows = notifications.recent(user.id, args["before"])
        more = len(rows) > notifications.PAGE_SIZE
        rows = rows[: notifications.PAGE_SIZE]
        return {
            "items": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "actor": person_view(n.actor) if n.actor else None,
                    "target_type": n.target_type,
                    "target_id": n.target_id,
                    "product_id": n.product_id,
                    "created_at": n.created_at,
                    "read": n.read_at is not None,
                }
                for n in rows
            ],
            "unread": notifications.unread_count(user.id),
            "next_before": rows[-1].id if more and rows else None,
        }


@blueprint.route("/notifications/read")
class NotificationsRead(MethodView):
    decorators = [api.login_required]

    @blueprint.response(204)
    def post(self) -> None:
        """Mark all your notifications as read."""
        notifications.mark_all_read(current_person())


@blueprint.route("/me/social-settings")
class Settings(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, SettingsSchema)
    def get(self) -> Any:
        """Your sharing and email choices."""
        return notifications.settings_for(current_person().id)

    @blueprint.arguments(SettingsSchema)
    @blueprint.response(200, SettingsSchema)
    def patch(self, data: dict[str, Any]) -> Any:
        """Change them; `share_purchases` (off by default) shows your purchases to followers."""
        return notifications.update_settings(current_person(), **data)


@blueprint.route("/reports")
class Reports(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ReportSchema)
    @blueprint.response(201, ReportSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Report a pick, collection, comment or person to the moderators."""
        return moderation.report(
            current_person(),
            data["target_type"],
            data["target_id"],
            data["reason"],
            data["details"],
        )


def register() -> None:
    api.register(blueprint, "")
