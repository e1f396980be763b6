"""The split shown before paying (and on orders): where each line's money goes.

Before paying, the terms are computed exactly as the checkout will fix them (the same
function, with the cart line's attribution); for a line already bought, the stored terms are
used. Either way the amounts come from the split engine.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from marketplace.models import Shop
from marketplace.payments import PreviewLine, SplitPart, SplitPreview, register_split_previewer
from payouts.models import Payee
from payouts.settings import current as current_settings
from payouts.splits import Role, split
from payouts.terms import LineContext, Term, cart_curator_credits, stored_terms, terms_for


def _label(term: Term, shop: Shop, names: dict[int, str]) -> str:
    if term.role is Role.PLATFORM:
        return _("Kindred fee")
    if term.role is Role.SELLER:
        return _("Seller · %(shop)s", shop=shop.name)
    if term.role is Role.CURATOR:
        return _("Curator · %(name)s", name=names.get(term.payee_id or 0, ""))
    if term.role is Role.CO_CREATOR:
        return _("Co-creator · %(name)s", name=names.get(term.payee_id or 0, ""))
    return _("Collective of %(shop)s", shop=shop.name)


def _names(payee_ids: set[int]) -> dict[int, str]:
    """Display names by payee id (negative ids stand for people not yet payees: -user id)."""
    from app.accounts.models import User

    names: dict[int, str] = {}
    real = {i for i in payee_ids if i > 0}
    if real:
        rows = db.session.execute(
            select(Payee.id, User.display_name, User.handle)
            .join(User, User.id == Payee.user_id)
            .where(Payee.id.in_(real))
        ).all()
        names.update({pid: (display or f"@{handle}") for pid, display, handle in rows})
    people = {-i for i in payee_ids if i < 0}
    if people:
        rows = db.session.execute(
            select(User.id, User.display_name, User.handle).where(User.id.in_(people))
        ).all()
        names.update({-uid: (display or f"@{handle}") for uid, display, handle in rows})
    return names


def preview(lines: Sequence[PreviewLine], buyer_id: int | None) -> SplitPreview:
    if not lines:
        return {}
    shops = {
        s.id: s
        for s in db.session.scalars(
            select(Shop).where(Shop.id.in_({line.shop_id for line in lines}))
        )
    }
    settings = current_settings()
    fixed = stored_terms([line.checkout_line_id for line in lines if line.checkout_line_id])
    credits = cart_curator_credits([line.cart_line_id for line in lines if line.cart_line_id])
    per_line: dict[str, list[Term]] = {}
    for line in lines:
        if line.checkout_line_id and line.checkout_line_id in fixed:
            per_line[line.key] = fixed[line.checkout_line_id]
            continue
        credit = credits.get(line.cart_line_id) if line.cart_line_id else None
        context = LineContext(
            shop=shops[line.shop_id],
            product_id=line.product_id,
            buyer_id=buyer_id,
            curator_id=credit.curator_id if credit else None,
        )
        per_line[line.key] = terms_for(context, settings, create_payees=False)
    names = _names({t.payee_id for terms in per_line.values() for t in terms if t.payee_id})
    result: SplitPreview = {}
    for line in lines:
        terms = per_line[line.key]
        by_party = {t.party: t for t in terms}
        parties = [t.party for t in terms]
        # Each party gives back the split of the line's refunds so far (as the ledger books
        # them, see earnings.post_refund).
        refunded = (
            {s.party: s.amount for s in split(min(line.refunded_minor, line.gross_minor), parties)}
            if line.refunded_minor > 0
            else {}
        )
        result[line.key] = [
            SplitPart(
                _label(by_party[s.party], shops[line.shop_id], names),
                s.amount,
                s.party.role.value,
                refunded.get(s.party, 0),
            )
            for s in split(line.gross_minor, parties)
        ]
    return result


def init_app(app: Flask) -> None:
    register_split_previewer(app, preview)
