"""/api/v1: co-creation — a shop's terms and calls, ideas, votes, the shop's review, rewards
and the collective's named members. Comments on ideas are at /ideas/{id}/comments (social's
comment endpoints)."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app import api, media
from app.accounts.services import current_person, user_by_handle
from app.extensions import db
from app.rules import NotFound, RuleViolation
from app.web import viewer
from marketplace.shops import shop_by_id
from social import ideas
from social.api import page_view, person_view
from social.idea_models import (
    CALL_BRIEF_MAX,
    CALL_TITLE_MAX,
    DECLINE_REASON_MAX,
    IDEA_DESCRIPTION_MAX,
    IDEA_TITLE_MAX,
    REWARD_MAX_MINOR,
    Idea,
    IdeaCall,
    IdeaReward,
    IdeaStatus,
    PoolMember,
)
from social.schemas import PersonSchema, PhotoFileSchema, PickPageSchema

blueprint = Blueprint(
    "ideas_api", __name__, description="Co-creation: calls for ideas, ideas, votes, rewards"
)

# The examples of the document: Ana's studio calls for mug ideas, and one is shortlisted.
IDEA_TITLE = "A double-walled mug that keeps tea hot"
IDEA_DESCRIPTION = (
    "Two walls of stoneware with air between them: the tea stays hot, the handle stays cool."
)


def _money(example: int) -> fields.Integer:
    return fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(0, REWARD_MAX_MINOR),
        metadata={"example": example},
    )


class PromiseSchema(Schema):
    shortlist_reward_minor = _money(2000)
    threshold_votes = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(1, 1_000_000),
        metadata={"example": 50},
    )
    threshold_reward_minor = _money(5000)
    royalty_bps = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(0, ideas.RATE_MAX_BPS),
        metadata={
            "description": "The author's share of every sale, in basis points.",
            "example": 300,
        },
    )


class TermsSchema(PromiseSchema):
    accepts_ideas = fields.Boolean(load_default=False, metadata={"example": True})
    pool_bps = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(0, ideas.RATE_MAX_BPS),
        metadata={
            "description": "The collective's share of every sale, in basis points.",
            "example": 200,
        },
    )


class CallSchema(PromiseSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 4})
    shop_id = fields.Integer(dump_only=True, metadata={"example": 3})
    title = fields.String(
        required=True,
        validate=validate.Length(min=1, max=CALL_TITLE_MAX),
        metadata={"example": "A mug for cold mornings"},
    )
    brief = fields.String(
        load_default="",
        validate=validate.Length(max=CALL_BRIEF_MAX),
        metadata={"example": "The mug you wish you had: its shape, its size, its glaze."},
    )
    deadline = fields.AwareDateTime(
        load_default=None,
        allow_none=True,
        # Years ahead: a deadline must be in the future, and the example is sent as it is.
        metadata={"example": "2036-04-30T22:00:00+00:00"},
    )
    is_open = fields.Boolean(dump_only=True, metadata={"example": True})
    idea_count = fields.Integer(dump_only=True, metadata={"example": 11})
    url = fields.String(
        dump_only=True, metadata={"example": "https://kindred.example/ideas/calls/4"}
    )


class CallListSchema(Schema):
    items = fields.List(fields.Nested(CallSchema))


class IdeaSchema(PromiseSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 61})
    shop_id = fields.Integer(dump_only=True, metadata={"example": 3})
    call_id = api.object_id(
        load_default=None, allow_none=True, strict=True, metadata={"example": 4}
    )
    title = fields.String(
        required=True,
        validate=validate.Length(min=3, max=IDEA_TITLE_MAX),
        metadata={"example": IDEA_TITLE},
    )
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=IDEA_DESCRIPTION_MAX),
        metadata={"example": IDEA_DESCRIPTION},
    )
    author = fields.Nested(PersonSchema, dump_only=True)
    status = fields.String(
        dump_only=True, metadata={"enum": list(IdeaStatus.ALL), "example": "shortlisted"}
    )
    decline_reason = fields.String(dump_only=True, metadata={"example": ""})
    image_urls = fields.List(
        fields.String(),
        dump_only=True,
        metadata={"example": ["https://kindred.example/media/ideas/61/1.webp"]},
    )
    vote_count = fields.Integer(dump_only=True, metadata={"example": 37})
    comment_count = fields.Integer(dump_only=True, metadata={"example": 5})
    threshold_reached = fields.Boolean(dump_only=True, metadata={"example": False})
    product_id = fields.Integer(dump_only=True, allow_none=True, metadata={"example": None})
    voted = fields.Boolean(dump_only=True, metadata={"example": True})
    url = fields.String(dump_only=True, metadata={"example": "https://kindred.example/ideas/61"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-05T17:20:00+00:00"})
    updated_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-09T08:00:00+00:00"})

    class Meta:
        # The promise comes from the call or the shop: it is never sent with an idea.
        dump_only = (
            "shortlist_reward_minor",
            "threshold_votes",
            "threshold_reward_minor",
            "royalty_bps",
        )


class IdeaUpdateSchema(Schema):
    title = fields.String(
        required=True,
        validate=validate.Length(min=3, max=IDEA_TITLE_MAX),
        metadata={"example": IDEA_TITLE},
    )
    description = fields.String(
        required=True,
        validate=validate.Length(min=1, max=IDEA_DESCRIPTION_MAX),
        metadata={"example": IDEA_DESCRIPTION},
    )


class IdeaPageSchema(PickPageSchema):
    items = fields.List(fields.Nested(IdeaSchema))


class IdeaArgsSchema(Schema):
    shop_id = api.object_id(load_default=None)
    call_id = api.object_id(load_default=None)
    sort = fields.String(load_default="votes", validate=validate.OneOf(ideas.SORTS))
    status = fields.String(load_default="", validate=validate.OneOf(("", *IdeaStatus.ALL)))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(1, 50))


class VoteStateSchema(Schema):
    voted = fields.Boolean(metadata={"example": True})
    vote_count = fields.Integer(metadata={"example": 38})


class DeclineSchema(Schema):
    reason = fields.String(
        required=True,
        validate=validate.Length(min=3, max=DECLINE_REASON_MAX),
        metadata={"example": "Lovely, but our kiln cannot fire double walls safely."},
    )


class AdoptSchema(Schema):
    product_id = api.object_id(
        load_default=None,
        allow_none=True,
        strict=True,
        metadata={
            "description": "An existing product of the shop; or leave it out and give "
            "`price_minor` to make a new draft from the idea.",
            "example": None,
        },
    )
    price_minor = api.Integer(
        load_default=None, allow_none=True, strict=True, metadata={"example": 3200}
    )
    stock = fields.Integer(
        load_default=0, strict=True, validate=validate.Range(0, 1_000_000), metadata={"example": 10}
    )
    category = fields.String(
        load_default="",
        metadata={
            "description": "Of the new product; the shop's usual category if left out.",
            "example": "home/ceramics",
        },
    )


class RewardSchema(Schema):
    id = fields.Integer(metadata={"example": 15})
    idea_id = fields.Integer(metadata={"example": 61})
    shop_id = fields.Integer(metadata={"example": 3})
    author = fields.Nested(PersonSchema)
    kind = fields.String(metadata={"example": "shortlist"})
    currency = fields.String(metadata={"example": "eur"})
    amount_minor = fields.Integer(metadata={"example": 2000})
    paid_minor = fields.Integer(metadata={"example": 2000})
    remaining_minor = fields.Integer(metadata={"example": 0})
    status = fields.String(metadata={"example": "paid"})
    created_at = fields.DateTime(metadata={"example": "2026-03-09T08:00:00+00:00"})
    paid_at = fields.DateTime(allow_none=True, metadata={"example": "2026-03-09T08:05:00+00:00"})


class RewardListSchema(Schema):
    items = fields.List(fields.Nested(RewardSchema))


class RewardArgsSchema(Schema):
    role = fields.String(load_default="author", validate=validate.OneOf(("author", "shop")))


class MemberSchema(Schema):
    person = fields.Nested(PersonSchema, dump_only=True)
    weight = fields.Integer(
        load_default=1, strict=True, validate=validate.Range(1, 100), metadata={"example": 1}
    )


class MemberListSchema(Schema):
    items = fields.List(fields.Nested(MemberSchema))


# --- representations --------------------------------------------------------------------------


def call_view(call: IdeaCall) -> dict[str, Any]:
    from app.models import utcnow

    return {
        "id": call.id,
        "shop_id": call.shop_id,
        "title": call.title,
        "brief": call.brief,
        "deadline": call.deadline,
        "shortlist_reward_minor": call.shortlist_reward_minor,
        "threshold_votes": call.threshold_votes,
        "threshold_reward_minor": call.threshold_reward_minor,
        "royalty_bps": call.royalty_bps,
        "is_open": call.is_open(utcnow()),
        "idea_count": call.idea_count,
        "url": url_for("ideas.call", call_id=call.id, _external=True),
    }


def idea_view(idea: Idea, voted: bool = False) -> dict[str, Any]:
    return {
        "id": idea.id,
        "shop_id": idea.shop_id,
        "call_id": idea.call_id,
        "title": idea.title,
        "description": idea.description,
        "author": person_view(idea.author),
        "status": idea.status,
        "decline_reason": idea.decline_reason,
        "image_urls": [media.media_url(original) for original, _thumb in idea.images],
        "shortlist_reward_minor": idea.shortlist_reward_minor,
        "threshold_votes": idea.threshold_votes,
        "threshold_reward_minor": idea.threshold_reward_minor,
        "royalty_bps": idea.royalty_bps,
        "vote_count": idea.vote_count,
        "comment_count": idea.comment_count,
        "threshold_reached": idea.threshold_reached_at is not None,
        "product_id": idea.product_id,
        "voted": voted,
        "url": url_for("ideas.show", idea_id=idea.id, _external=True),
        "created_at": idea.created_at,
        "updated_at": idea.updated_at,
    }


def reward_view(reward: IdeaReward) -> dict[str, Any]:
    return {
        "id": reward.id,
        "idea_id": reward.idea_id,
        "shop_id": reward.shop_id,
        "author": person_view(reward.author),
        "kind": reward.kind,
        "currency": reward.currency,
        "amount_minor": reward.amount_minor,
        "paid_minor": reward.paid_minor,
        "remaining_minor": reward.remaining_minor,
        "status": reward.status,
        "created_at": reward.created_at,
        "paid_at": reward.paid_at,
    }


def _idea(idea_id: int) -> Idea:
    return ideas.visible_idea(idea_id, viewer())


def _fresh(idea: Idea) -> dict[str, Any]:
    db.session.refresh(idea)
    who = viewer()
    return idea_view(idea, who is not None and ideas.has_voted(who.id, idea.id))


# --- terms and calls --------------------------------------------------------------------------


@blueprint.route("/shops/<int:shop_id>/co-creation")
class Terms(MethodView):
    @blueprint.response(200, TermsSchema)
    def get(self, shop_id: int) -> Any:
        """A shop's co-creation terms (all zero when it has none)."""
        return ideas.terms_of(shop_by_id(shop_id).id) or ideas.TermsChange()

    @api.login_required
    @blueprint.arguments(TermsSchema)
    @blueprint.response(200, TermsSchema)
    def put(self, data: dict[str, Any], shop_id: int) -> Any:
        """Set your shop's default terms for ideas and its collective pool."""
        return ideas.update_terms(current_person(), shop_by_id(shop_id), ideas.TermsChange(**data))


@blueprint.route("/shops/<int:shop_id>/idea-calls")
class Calls(MethodView):
    @blueprint.response(200, CallListSchema)
    def get(self, shop_id: int) -> dict[str, Any]:
        """A shop's calls for ideas, newest first."""
        return {"items": [call_view(c) for c in ideas.calls_of(shop_by_id(shop_id).id)]}

    @api.login_required
    @blueprint.arguments(CallSchema)
    @blueprint.response(201, CallSchema)
    def post(self, data: dict[str, Any], shop_id: int) -> dict[str, Any]:
        """Open a call for ideas for your shop."""
        return call_view(
            ideas.open_call(current_person(), shop_by_id(shop_id), ideas.CallInput(**data))
        )


@blueprint.route("/idea-calls/<int:call_id>")
class CallItem(MethodView):
    @blueprint.response(200, CallSchema)
    def get(self, call_id: int) -> dict[str, Any]:
        """A call for ideas."""
        return call_view(ideas.get_call(call_id))

    @api.login_required
    @blueprint.arguments(CallSchema)
    @blueprint.response(200, CallSchema)
    def put(self, data: dict[str, Any], call_id: int) -> dict[str, Any]:
        """Change your call; ideas already submitted keep what they were promised."""
        found = ideas.get_call(call_id)
        return call_view(ideas.update_call(current_person(), found, ideas.CallInput(**data)))


@blueprint.route("/idea-calls/<int:call_id>/close")
class CallClose(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, CallSchema)
    def post(self, call_id: int) -> dict[str, Any]:
        """Close your call: no new ideas can be submitted to it."""
        return call_view(ideas.close_call(current_person(), ideas.get_call(call_id)))


# --- ideas ------------------------------------------------------------------------------------


@blueprint.route("/ideas")
class Ideas(MethodView):
    @blueprint.arguments(IdeaArgsSchema, location="query")
    @blueprint.response(200, IdeaPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Ideas, by votes or newest, filtered by shop, call and status."""
        page = ideas.list_ideas(**args)
        voted = ideas.voted_ids(viewer(), [i.id for i in page.items])
        return page_view(page, [idea_view(i, i.id in voted) for i in page.items])


@blueprint.route("/shops/<int:shop_id>/ideas")
class ShopIdeas(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(IdeaSchema)
    @blueprint.response(201, IdeaSchema)
    def post(self, data: dict[str, Any], shop_id: int) -> dict[str, Any]:
        """Submit an idea to a shop, or to one of its calls with `call_id`. Add images with
        POST /ideas/{id}/images."""
        call = ideas.get_call(data["call_id"]) if data.get("call_id") else None
        idea = ideas.submit_idea(
            current_person(), shop_by_id(shop_id), data["title"], data["description"], call=call
        )
        return idea_view(idea)


@blueprint.route("/ideas/<int:idea_id>")
class IdeaItem(MethodView):
    @blueprint.response(200, IdeaSchema)
    def get(self, idea_id: int) -> dict[str, Any]:
        """An idea."""
        idea = _idea(idea_id)
        who = viewer()
        return idea_view(idea, who is not None and ideas.has_voted(who.id, idea.id))

    @api.login_required
    @blueprint.arguments(IdeaUpdateSchema)
    @blueprint.response(200, IdeaSchema)
    def patch(self, data: dict[str, Any], idea_id: int) -> dict[str, Any]:
        """Edit your idea, until the shop reviews it."""
        idea = _idea(idea_id)
        return idea_view(
            ideas.update_idea(current_person(), idea, data["title"], data["description"])
        )


@blueprint.route("/ideas/<int:idea_id>/images")
class IdeaImages(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PhotoFileSchema, location="files")
    @blueprint.response(200, IdeaSchema)
    def post(self, _files: dict[str, Any], idea_id: int) -> dict[str, Any]:
        """Add an image to your idea (multipart, field `image`: JPEG, PNG or WebP, 10 MB)."""
        upload = request.files.get("image")
        if upload is None or not upload.filename:
            raise RuleViolation(_("Choose an image to upload."), field="image")
        data = media.read_upload(upload.stream, field_name="image")
        idea = _idea(idea_id)
        return idea_view(
            ideas.update_idea(current_person(), idea, idea.title, idea.description, [data])
        )


@blueprint.route("/ideas/<int:idea_id>/withdraw")
class IdeaWithdraw(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, IdeaSchema)
    def post(self, idea_id: int) -> dict[str, Any]:
        """Withdraw your idea (not once it is adopted or declined)."""
        return idea_view(ideas.withdraw_idea(current_person(), _idea(idea_id)))


@blueprint.route("/ideas/<int:idea_id>/vote")
class IdeaVote(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, VoteStateSchema)
    def put(self, idea_id: int) -> dict[str, Any]:
        """Vote for an idea; voting twice changes nothing."""
        idea = _idea(idea_id)
        ideas.vote(current_person(), idea)
        return {"voted": True, "vote_count": _fresh(idea)["vote_count"]}

    @blueprint.response(200, VoteStateSchema)
    def delete(self, idea_id: int) -> dict[str, Any]:
        """Withdraw your vote."""
        idea = _idea(idea_id)
        ideas.unvote(current_person(), idea)
        return {"voted": False, "vote_count": _fresh(idea)["vote_count"]}


@blueprint.route("/ideas/<int:idea_id>/shortlist")
class IdeaShortlist(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, IdeaSchema)
    def post(self, idea_id: int) -> dict[str, Any]:
        """Shortlist an idea given to your shop: its shortlist reward becomes due."""
        return idea_view(ideas.shortlist(current_person(), _idea(idea_id)))


@blueprint.route("/ideas/<int:idea_id>/decline")
class IdeaDecline(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(DeclineSchema)
    @blueprint.response(200, IdeaSchema)
    def post(self, data: dict[str, Any], idea_id: int) -> dict[str, Any]:
        """Decline an idea given to your shop, saying why."""
        return idea_view(ideas.decline(current_person(), _idea(idea_id), data["reason"]))


@blueprint.route("/ideas/<int:idea_id>/adopt")
class IdeaAdopt(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(AdoptSchema)
    @blueprint.response(200, IdeaSchema)
    def post(self, data: dict[str, Any], idea_id: int) -> dict[str, Any]:
        """Adopt an idea into a product of your shop (existing, or a new draft made from it);
        its author gets a royalty agreement at the promised rate."""
        idea = _idea(idea_id)
        if data.get("product_id") is not None:
            adopted = ideas.adopt(current_person(), idea, product_id=data["product_id"])
        else:
            if data.get("price_minor") is None:
                raise RuleViolation(
                    _("Give `product_id`, or `price_minor` for a new product."), field="price_minor"
                )
            adopted = ideas.adopt(
                current_person(),
                idea,
                new_product=ideas.NewProduct(data["price_minor"], data["stock"], data["category"]),
            )
        return idea_view(adopted)


# --- rewards and the collective ---------------------------------------------------------------


@blueprint.route("/rewards")
class Rewards(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(RewardArgsSchema, location="query")
    @blueprint.response(200, RewardListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Your rewards: as an author (`role=author`), or those your shop owes (`role=shop`)."""
        person = current_person()
        if args["role"] == "shop":
            from marketplace.shops import shop_of

            shop = shop_of(person)
            rows = ideas.rewards(shop_id=shop.id) if shop is not None else []
        else:
            rows = ideas.rewards(author_id=person.id)
        return {"items": [reward_view(r) for r in rows]}


def _member_view(member: PoolMember) -> dict[str, Any]:
    return {"person": person_view(member.user), "weight": member.weight}


@blueprint.route("/shops/<int:shop_id>/collective")
class Collective(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, MemberListSchema)
    def get(self, shop_id: int) -> dict[str, Any]:
        """The members your shop named to its collective."""
        shop = shop_by_id(shop_id)
        if shop.owner_id != current_person().id:
            raise NotFound(_("There is no such shop."))
        return {"items": [_member_view(m) for m in ideas.named_members(shop.id)]}


@blueprint.route("/shops/<int:shop_id>/collective/<handle>")
class CollectiveMember(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(MemberSchema)
    @blueprint.response(200, MemberSchema)
    def put(self, data: dict[str, Any], shop_id: int, handle: str) -> dict[str, Any]:
        """Name someone to your shop's collective, with a weight."""
        member = ideas.name_member(
            current_person(), shop_by_id(shop_id), user_by_handle(handle), data["weight"]
        )
        return _member_view(member)

    @blueprint.response(204)
    def delete(self, shop_id: int, handle: str) -> None:
        """Take someone out of your shop's collective."""
        ideas.remove_member(current_person(), shop_by_id(shop_id), user_by_handle(handle).id)


def register() -> None:
    api.register(blueprint, "")
