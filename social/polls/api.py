"""/api/v1: polls — read a poll or a shop's polls, vote, and (the shop) close one early.
Polls are opened from the shop's pages, where each option's picture is uploaded."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from app import api
from app.accounts.services import current_person
from app.forms import int_arg
from app.rules import NotFound
from app.web import viewer
from marketplace.shops import shop_by_id
from social.polls import services as polls
from social.polls.schemas import PollPageSchema, PollSchema, PollSeen, VoteSchema

blueprint = Blueprint("polls_api", __name__, description="Polls: a shop asks, people vote")


@blueprint.route("/polls/<int:poll_id>")
class PollItem(MethodView):
    @blueprint.response(200, PollSchema)
    def get(self, poll_id: int) -> PollSeen:
        who = viewer()
        return PollSeen.of(polls.get_poll(poll_id, who), who)


@blueprint.route("/shops/<int:shop_id>/polls")
class ShopPolls(MethodView):
    @blueprint.response(200, PollPageSchema)
    def get(self, shop_id: int) -> dict[str, Any]:
        who = viewer()
        shop = shop_by_id(shop_id)
        if not shop.is_open and (who is None or who.id != shop.owner_id):
            raise NotFound(_("There is no such shop."))  # a paused shop is its owner's alone
        page = polls.shop_polls(shop, int_arg("page", 1, min=1))
        return {
            "items": PollSeen.all_of(page.items, who),
            "page": page.page,
            "has_next": page.has_next,
        }


@blueprint.route("/polls/<int:poll_id>/vote")
class PollVote(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(VoteSchema)
    @blueprint.response(200, PollSchema)
    def post(self, data: dict[str, Any], poll_id: int) -> PollSeen:
        person = current_person()
        poll = polls.get_poll(poll_id, person)
        polls.vote(person, poll, data["option_id"])
        return PollSeen.of(poll, person)


@blueprint.route("/polls/<int:poll_id>/close")
class PollClose(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, PollSchema)
    def post(self, poll_id: int) -> PollSeen:
        person = current_person()
        poll = polls.get_poll(poll_id, person)
        polls.close_now(person, poll)
        return PollSeen.of(poll, person)


def register() -> None:
    api.register(blueprint, "")
