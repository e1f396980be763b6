"""/api/v1: paying an idea's reward (from the shop's earnings, the rest by card)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app import api
from app.accounts.services import current_person
from payouts import cocreation
from social import ideas

blueprint = Blueprint("payouts_api", __name__, description="Paying ideas' rewards")


class RewardPaymentSchema(Schema):
    reward_id = fields.Integer(metadata={"example": 15})
    status = fields.String(metadata={"enum": ["due", "awaiting_card", "paid"], "example": "paid"})
    paid_minor = fields.Integer(metadata={"example": 2000})
    remaining_minor = fields.Integer(metadata={"example": 0})
    payment_url = fields.String(
        allow_none=True,
        metadata={
            "description": "Where the shop pays the rest by card, when its balance is short.",
            "example": None,
        },
    )


@blueprint.route("/rewards/<int:reward_id>/pay")
class PayReward(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, RewardPaymentSchema)
    def post(self, reward_id: int) -> dict[str, Any]:
        """Pay a reward your shop owes: from its available earnings first, the rest by card."""
        reward = ideas.get_reward(reward_id)
        success, cancel = cocreation.reward_return_urls(reward)
        url = cocreation.pay(current_person(), reward_id, success_url=success, cancel_url=cancel)
        reward = ideas.get_reward(reward_id)
        return {
            "reward_id": reward.id,
            "status": reward.status,
            "paid_minor": reward.paid_minor,
            "remaining_minor": reward.remaining_minor,
            "payment_url": url,
        }


def register() -> None:
    api.register(blueprint, "")
