"""/api/v1: a person's own money, as their earnings and payouts pages show it.

Earnings (totals, and every share with its state), the CSV export, payouts with their Stripe
transfers and reversals, and the payout account (its status, the onboarding link, the Express
dashboard link). The access rules are the pages': signed in, and only one's own.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from app import api
from app.accounts.services import current_person
from app.accounts.two_step import require_two_step
from app.errors import PROBLEM_JSON
from app.extensions import db
from app.rules import NotFound, RuleViolation
from marketplace.pagination import Page, paginate_select
from payouts import dashboard, payees
from payouts.gateway import GatewayError
from payouts.models import Payee, PayoutItem, TransferReversal

blueprint = Blueprint(
    "money_api", __name__, description="Your earnings, payouts and payout account"
)

STATES = ["pending", "available", "paid", "refunded", "disputed"]


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))


class TotalsSchema(Schema):
    currency = fields.String(metadata={"example": "eur"})
    pending_minor = fields.Integer(
        metadata={"description": "Earned, waiting for the hold after delivery.", "example": 1250}
    )
    available_minor = fields.Integer(
        metadata={"description": "Released and waiting for the next payout run.", "example": 800}
    )
    paid_minor = fields.Integer(
        metadata={
            "description": "Transferred to your Stripe account, net of reversals.",
            "example": 4250,
        }
    )
    shortfall_minor = fields.Integer(
        metadata={
            "description": "Refunds that took back more than was still owed to you, taken "
            "from your next earnings (0 or negative).",
            "example": 0,
        }
    )


class EarningSchema(Schema):
    id = fields.Integer(metadata={"example": 41})
    created_at = fields.DateTime(metadata={"example": "2026-03-14T10:14:00+00:00"})
    order_reference = fields.String(
        allow_none=True,
        metadata={
            "description": "Your shop's order number, on a seller's share; null on a share of "
            "a sale you did not make (a curator's, a co-creator's), whose order is the buyer's.",
            "example": "KD-7Q2M4X",
        },
    )
    item = fields.String(
        metadata={"description": "The item's title, or 'shipping'.", "example": "Speckled bowl"}
    )
    role = fields.String(
        metadata={
            "description": "Your part in the sale: seller, curator, cocreator, pool…",
            "example": "seller",
        }
    )
    currency = fields.String(metadata={"example": "eur"})
    amount_minor = fields.Integer(metadata={"example": 2125})
    refunded_minor = fields.Integer(metadata={"example": 0})
    net_minor = fields.Integer(metadata={"example": 2125})
    state = fields.String(metadata={"enum": STATES, "example": "pending"})
    available_on = fields.DateTime(
        allow_none=True, metadata={"example": "2026-03-31T00:00:00+00:00"}
    )
    paid_at = fields.DateTime(allow_none=True, metadata={"example": None})
    payout_id = fields.Integer(
        allow_none=True,
        metadata={"description": "The payout that transferred this share.", "example": None},
    )


class EarningsPageSchema(Schema):
    totals = fields.Nested(TotalsSchema)
    items = fields.List(fields.Nested(EarningSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 25})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


class ReversalSchema(Schema):
    amount_minor = fields.Integer(metadata={"example": 500})
    status = fields.String(metadata={"enum": ["pending", "succeeded", "failed"]})
    stripe_reversal_id = fields.String(allow_none=True, metadata={"example": "trr_1Q2w3E"})
    created_at = fields.DateTime(metadata={"example": "2026-03-20T11:00:00+00:00"})


class PayoutSchema(Schema):
    id = fields.Integer(metadata={"example": 7})
    created_at = fields.DateTime(metadata={"example": "2026-03-01T06:00:00+00:00"})
    completed_at = fields.DateTime(
        allow_none=True, metadata={"example": "2026-03-01T06:00:05+00:00"}
    )
    currency = fields.String(metadata={"example": "eur"})
    amount_minor = fields.Integer(metadata={"example": 4250})
    reversed_minor = fields.Integer(
        metadata={"description": "Taken back after refunds.", "example": 0}
    )
    status = fields.String(
        metadata={
            "enum": ["pending", "submitting", "paid", "failed", "held_back"],
            "example": "paid",
        }
    )
    stripe_transfer_id = fields.String(allow_none=True, metadata={"example": "tr_1Q2w3E"})
    failure_message = fields.String(allow_none=True, metadata={"example": None})
    reversals = fields.List(fields.Nested(ReversalSchema))


class PayoutPageSchema(Schema):
    items = fields.List(fields.Nested(PayoutSchema))
    page = fields.Integer(metadata={"example": 1})
    per_page = fields.Integer(metadata={"example": 25})
    has_next = fields.Boolean(metadata={"example": False})
    has_prev = fields.Boolean(metadata={"example": False})


class PayoutAccountSchema(Schema):
    status = fields.String(
        metadata={
            "enum": ["none", "pending", "enabled", "restricted"],
            "description": "none: not set up yet (earnings wait); pending: Stripe needs "
            "details; enabled: payouts are sent; restricted: Stripe paused transfers.",
            "example": "enabled",
        }
    )
    can_receive = fields.Boolean(metadata={"example": True})
    requirements = fields.List(
        fields.String(),
        metadata={"description": "What Stripe still needs from you.", "example": []},
    )
    last_payout_failure = fields.String(allow_none=True, metadata={"example": None})
    setup_url = fields.String(
        metadata={
            "description": "The page to set payouts up on.",
            "example": "https://kindred.example/account/payouts",
        }
    )


class LinkSchema(Schema):
    url = fields.String(
        metadata={
            "description": "A single-use link to Stripe, valid for a few minutes.",
            "example": "https://connect.stripe.com/setup/e/acct_1Q2w3E/abc",
        }
    )


def _payee() -> Payee | None:
    return payees.find_user_payee(current_person().id)


def _earning(row: Any) -> dict[str, Any]:
    earning, reference, title = row
    return {
        "id": earning.id,
        "created_at": earning.created_at,
        "order_reference": reference,
        "item": title or "shipping",
        "role": earning.role,
        "currency": earning.currency,
        "amount_minor": earning.amount_minor,
        "refunded_minor": earning.refunded_minor,
        "net_minor": earning.net_minor,
        "state": dashboard.state_of(earning),
        "available_on": earning.available_on,
        "paid_at": earning.paid_at,
        "payout_id": earning.payout_item_id,
    }


@blueprint.route("/earnings")
class Earnings(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, EarningsPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your earnings: the totals, and each share of each sale, newest first."""
        payee = _payee()
        page: Page[Any]
        if payee is None:
            page, totals = Page([], query["page"], 25, False), dashboard.Totals(0, 0, 0)
        else:
            page = paginate_select(
                dashboard.earnings_query(payee), query["page"], 25, scalars=False
            )
            totals = dashboard.totals(payee)
        return {
            **page.to_dict([_earning(row) for row in page.items]),
            "totals": {
                "currency": current_app.config["CURRENCY"],
                "pending_minor": totals.pending,
                "available_minor": totals.available,
                "paid_minor": totals.paid,
                "shortfall_minor": totals.balance_note,
            },
        }


@blueprint.route("/earnings/export")
class EarningsExport(MethodView):
    decorators = [api.login_required]

    @blueprint.response(
        200,
        {"type": "string"},
        content_type="text/csv",
        description="One row per share, as the earnings page's CSV.",
        example="date,order,item,role,currency,amount_minor,refunded_minor,net_minor,state,"
        "available_on,paid_at\r\n",
    )
    def get(self) -> Response:
        """Your earnings as CSV, for a spreadsheet or your accountant."""
        return dashboard.earnings_csv_response(_payee())


def _reversals(item_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    by_item: dict[int, list[dict[str, Any]]] = {i: [] for i in item_ids}
    if not item_ids:
        return by_item
    rows = db.session.scalars(
        select(TransferReversal)
        .where(TransferReversal.payout_item_id.in_(item_ids))
        .order_by(TransferReversal.id)
    )
    for reversal in rows:
        by_item[reversal.payout_item_id].append(
            {
                "amount_minor": reversal.amount_minor,
                "status": reversal.status,
                "stripe_reversal_id": reversal.stripe_reversal_id,
                "created_at": reversal.created_at,
            }
        )
    return by_item


@blueprint.route("/payouts")
class Payouts(MethodView):
    decorators = [api.login_required]

    @blueprint.arguments(PageQuerySchema, location="query")
    @blueprint.response(200, PayoutPageSchema)
    def get(self, query: dict[str, Any]) -> dict[str, Any]:
        """Your payouts, newest first: each is one Stripe transfer, with any reversals."""
        payee = _payee()
        if payee is None:
            return Page([], query["page"], 25, False).to_dict([])
        page = paginate_select(
            select(PayoutItem)
            .where(PayoutItem.payee_id == payee.id)
            .order_by(PayoutItem.id.desc()),
            query["page"],
            25,
        )
        reversals = _reversals([item.id for item in page.items])
        items = [
            {
                "id": item.id,
                "created_at": item.created_at,
                "completed_at": item.completed_at,
                "currency": item.currency,
                "amount_minor": item.amount_minor,
                "reversed_minor": item.reversed_minor,
                "status": item.status,
                "stripe_transfer_id": item.stripe_transfer_id,
                "failure_message": item.failure_message,
                "reversals": reversals[item.id],
            }
            for item in page.items
        ]
        return page.to_dict(items)


def _account(payee: Payee | None) -> dict[str, Any]:
    return {
        "status": payee.status if payee else "none",
        "can_receive": bool(payee and payee.can_receive),
        "requirements": list(payee.requirements or []) if payee else [],
        "last_payout_failure": payee.last_payout_failure if payee else None,
        "setup_url": url_for("payouts.setup", _external=True),
    }


@blueprint.route("/payouts/account")
class PayoutAccount(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, PayoutAccountSchema)
    def get(self) -> dict[str, Any]:
        """Where your payouts go: the Stripe account's status and what it still needs."""
        return _account(_payee())


def _link(make: Any) -> dict[str, str]:
    # Where the money goes changes through these links: two-step sign-in first (the token
    # needs the "payouts" scope, which only a person with two-step on can create).
    violation = require_two_step(current_person())
    if violation is not None:
        raise violation
    try:
        return {"url": make()}
    except GatewayError as error:
        raise RuleViolation(
            _(
                "Stripe could not be reached (%(why)s). Please try again in a moment.",
                why=error.message,
            ),
            status=503,
        ) from error


def payout_link(view: Any) -> Any:
    """What the two link operations share: the payouts scope, the link, Stripe unreachable."""
    view = blueprint.alt_response(
        503,
        schema=api.ProblemSchema,
        content_type=PROBLEM_JSON,
        description="Stripe could not be reached; nothing changed, try again.",
    )(view)
    return api.requires_scope("payouts")(blueprint.response(200, LinkSchema)(view))


@blueprint.route("/payouts/account/onboarding")
class PayoutOnboarding(MethodView):
    decorators = [api.login_required]

    @payout_link
    def post(self) -> dict[str, str]:
        """A link to Stripe's onboarding, to set up or change where your payouts go."""
        person = current_person()
        return _link(
            lambda: payees.start_onboarding(
                person,
                return_url=url_for("payouts.returned", _external=True),
                refresh_url=url_for("payouts.setup", _external=True),
            )
        )


@blueprint.route("/payouts/account/dashboard")
class PayoutDashboard(MethodView):
    decorators = [api.login_required]

    @payout_link
    def post(self) -> dict[str, str]:
        """A link to your Stripe Express dashboard (once payouts are set up)."""
        payee = _payee()
        if payee is None or not payee.can_receive:
            raise NotFound(_("Payouts are not set up yet."))
        return _link(lambda: payees.dashboard_link(payee))


def register() -> None:
    api.register(blueprint, "")
