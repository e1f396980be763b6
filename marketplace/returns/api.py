"""/api/v1: returns, for the buyer, the seller and the moderators."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from app import api, media
from app.accounts.services import current_person
from app.rules import NotFound
from marketplace import orders
from marketplace import shops as shop_services
from marketplace.returns import policy, steps
from marketplace.returns.models import ReturnRequest
from marketplace.returns.schemas import (
    AcceptInputSchema,
    DecideInputSchema,
    EscalateInputSchema,
    OrderReturnsSchema,
    PhotoFormSchema,
    ReceiveInputSchema,
    RefuseInputSchema,
    ReturnInputSchema,
    ReturnListQuerySchema,
    ReturnSchema,
)

blueprint = Blueprint("returns_api", __name__, description="Returns")


@dataclass
class ReturnableLine:
    order_line_id: int
    quantity: int


@dataclass
class OrderReturns:
    window: policy.Window
    returnable: list[ReturnableLine]
    returns: list[ReturnRequest]


def _sent(found: ReturnRequest, refund: Any) -> ReturnRequest:
    # Unanswered, the refund stays pending and the sweep retries it with the same key.
    if refund is not None:
        orders.deliver_refund(refund)
    return steps.fresh(found.id)


@blueprint.route("/orders/<int:order_id>/returns")
class OrderReturnsResource(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, OrderReturnsSchema)
    def get(self, order_id: int) -> Any:
        """An order's return window, what can still be returned, and its returns (as its
        buyer or its seller)."""
        order = orders.order_for_either(current_person(), order_id)
        left = policy.returnable(order)
        return OrderReturns(
            window=policy.window(order),
            returnable=[ReturnableLine(line_id, quantity) for line_id, quantity in left.items()],
            returns=steps.of_order(order),
        )

    @blueprint.arguments(ReturnInputSchema)
    @blueprint.response(201, ReturnSchema)
    def post(self, data: dict[str, Any], order_id: int) -> Any:
        """As the buyer, within the window: ask to return quantities of some lines. Photos
        follow with `POST /returns/{id}/photos`."""
        quantities: dict[int, int] = {}
        for item in data["lines"]:
            quantities[item["order_line_id"]] = (
                quantities.get(item["order_line_id"], 0) + item["quantity"]
            )
        return steps.ask(
            current_person(),
            order_id,
            steps.ReturnAsk(
                quantities=quantities, reason=data["reason"], reason_text=data["reason_text"]
            ),
        )


@blueprint.route("/returns/<int:return_id>")
class ReturnItem(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ReturnSchema)
    def get(self, return_id: int) -> Any:
        """One return, with its history (its buyer, its seller, or a moderator once it was
        taken to them)."""
        return steps.for_either(current_person(), return_id)


@blueprint.route("/returns/<int:return_id>/photos")
class ReturnPhotos(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PhotoFormSchema, location="form", content_type="multipart/form-data")
    @blueprint.response(201, ReturnSchema)
    def post(self, _form: dict[str, Any], return_id: int) -> Any:
        """As the buyer, while the seller has not answered: add photos (multipart, one or more
        `photos` files, 4 in all, 10 MB each); each is checked and re-encoded."""
        photos = [
            media.read_upload(f.stream, field_name="photos")
            for f in request.files.getlist("photos")
            if f.filename
        ]
        return steps.add_photos(current_person(), return_id, photos)


@blueprint.route("/returns/<int:return_id>/withdraw")
class Withdraw(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ReturnSchema)
    def post(self, return_id: int) -> Any:
        """As the buyer: withdraw a request not yet accepted, or let a refusal stand."""
        return steps.withdraw(current_person(), return_id)


@blueprint.route("/returns/<int:return_id>/escalate")
class Escalate(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(EscalateInputSchema)
    @blueprint.response(200, ReturnSchema)
    def post(self, data: dict[str, Any], return_id: int) -> Any:
        """As the buyer of a refused return: ask Kindred's moderators to decide."""
        return steps.escalate(current_person(), return_id, data["note"])


@blueprint.route("/shop/returns")
class ShopReturns(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ReturnListQuerySchema, location="query")
    @blueprint.response(200, ReturnSchema(many=True))
    def get(self, query: dict[str, Any]) -> Any:
        """Your shop's open returns, newest first (`all=true`: closed ones too)."""
        shop = shop_services.shop_of(current_person())
        if shop is None:
            raise NotFound("You have no shop.")
        return steps.of_shop(shop.id, open_only=not query["all"])


@blueprint.route("/shop/returns/<int:return_id>/accept")
class Accept(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(AcceptInputSchema)
    @blueprint.response(200, ReturnSchema)
    def post(self, data: dict[str, Any], return_id: int) -> Any:
        """As the seller: accept a request, with instructions for sending it back."""
        return steps.accept(current_person(), return_id, data["instructions"])


@blueprint.route("/shop/returns/<int:return_id>/refuse")
class Refuse(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(RefuseInputSchema)
    @blueprint.response(200, ReturnSchema)
    def post(self, data: dict[str, Any], return_id: int) -> Any:
        """As the seller: refuse a request, saying why (the buyer may take it to Kindred)."""
        return steps.refuse(current_person(), return_id, data["reason"])


@blueprint.route("/shop/returns/<int:return_id>/receive")
class Receive(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(ReceiveInputSchema)
    @blueprint.response(200, ReturnSchema)
    def post(self, data: dict[str, Any], return_id: int) -> Any:
        """As the seller: the parcel is back. Refunds the returned lines through the order's
        refund (each party's share reversed); `restock` puts the items back in stock."""
        seller = current_person()
        refund = steps.receive(seller, return_id, restock=data["restock"])
        return _sent(steps.for_seller(seller, return_id), refund)


@blueprint.route("/admin/returns")
class EscalatedReturns(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, ReturnSchema(many=True))
    def get(self) -> Any:
        """As a moderator: returns waiting for Kindred's decision, oldest first."""
        return steps.escalated(current_person())


@blueprint.route("/admin/returns/<int:return_id>/decide")
class Decide(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(DecideInputSchema)
    @blueprint.response(200, ReturnSchema)
    def post(self, data: dict[str, Any], return_id: int) -> Any:
        """As a moderator: accept the return for the buyer, or uphold the refusal."""
        return steps.decide(
            current_person(), return_id, for_buyer=data["decision"] == "accept", note=data["note"]
        )


def register() -> None:
    api.register(blueprint, "")
