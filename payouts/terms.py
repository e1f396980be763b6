"""Who shares a line, at what rate: fixed when the checkout starts, shown before paying.

The parties of a line are the platform (its fee), the curator whose share link brought the
sale (the shop's commission, within the platform's bounds), the co-creators and the
collective pool that other features add through `add_party_provider`, and the seller, who
gets the rest. Whatever the rates, the seller keeps at least the platform's minimum: when the
optional parties would take more, the pool, then co-creators, then the curator are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db
from marketplace.models import Shop
from marketplace.order_models import Checkout
from payouts import payees
from payouts.models import LineParty, PlatformSettings
from payouts.settings import current as current_settings
from payouts.splits import BPS, Party, Role


@dataclass(frozen=True)
class LineContext:
    """What the terms of one line depend on."""

    shop: Shop
    product_id: int
    buyer_id: int | None
    # The attribution of the line, when a curator's share brought it.
    curator_id: int | None = None
    curator_source: str = ""
    # False when only previewing: providers must not create payees (see `payee_id_of`).
    create_payees: bool = True


@dataclass(frozen=True)
class Term:
    role: Role
    payee_id: int | None
    rate_bps: int | None
    source: str = ""

    @property
    def party(self) -> Party:
        key = "platform" if self.payee_id is None else f"payee-{self.payee_id}"
        return Party(self.role, key, self.rate_bps)


PartyProvider = Callable[[LineContext], list[Term]]
# Optional parties are dropped in this order when rates would leave the seller too little.
_DROP_ORDER = (Role.POOL, Role.CO_CREATOR, Role.CURATOR)


def add_party_provider(app: Flask, provider: PartyProvider) -> None:
    """Register a source of extra parties (co-creator royalties, the collective pool)."""
    app.extensions.setdefault("kindred_party_providers", []).append(provider)


def _providers() -> list[PartyProvider]:
    return list(current_app.extensions.get("kindred_party_providers", []))


def commission_bps(shop: Shop, settings: PlatformSettings, rate: int | None = None) -> int:
    """The curator commission the shop owes: its rate (or `rate`, one it is about to set)
    within the platform's bounds."""
    chosen = shop.curator_commission_bps if rate is None else rate
    return min(max(chosen, settings.commission_min_bps), settings.commission_max_bps)


def payee_id_of(user_id: int, create: bool) -> int:
    """The payee of a person; when only previewing (nothing may be written), a person who is
    not a payee yet is stood in for by minus their user id."""
    if create:
        return payees.for_user(user_id).id
    found = payees.find_user_payee(user_id)
    return found.id if found is not None else -user_id


def terms_for(
    line: LineContext, settings: PlatformSettings | None = None, *, create_payees: bool = True
) -> list[Term]:
    settings = settings or current_settings()
    terms = [Term(Role.PLATFORM, None, settings.fee_bps)]
    curator = line.curator_id
    # No commission for buying through your own pick, or for picking your own shop's product.
    if curator is not None and curator != line.buyer_id and curator != line.shop.owner_id:
        rate = commission_bps(line.shop, settings)
        if rate > 0:
            terms.append(
                Term(Role.CURATOR, payee_id_of(curator, create_payees), rate, line.curator_source)
            )
    line = replace(line, create_payees=create_payees)
    for provider in _providers():
        terms.extend(t for t in provider(line) if (t.rate_bps or 0) > 0)
    limit = BPS - settings.seller_min_bps
    for role in _DROP_ORDER:
        if sum(t.rate_bps or 0 for t in terms) <= limit:
            break
        dropped = [t for t in terms if t.role is role]
        if dropped:
            current_app.logger.warning("rates over the seller minimum: leaving out %s", dropped)
        terms = [t for t in terms if t.role is not role]
    terms.append(Term(Role.SELLER, payee_id_of(line.shop.owner_id, create_payees), None))
    return terms


@dataclass
class Credit:
    curator_id: int
    source: str = ""


def curator_credits(checkout_line_ids: Sequence[int]) -> dict[int, Credit]:
    """The curator behind each checkout line, from the social feature when it is installed."""
    try:
        from social import attribution
    except ImportError:
        return {}
    finder = getattr(attribution, "credits_for_checkout_lines", None)
    if finder is None:
        return {}
    credits = finder(list(checkout_line_ids))
    return {
        line_id: Credit(
            int(credit.curator_id),
            f"share-link:{credit.share_link_id}" if getattr(credit, "share_link_id", None) else "",
        )
        for line_id, credit in credits.items()
    }


def cart_curator_credits(cart_line_ids: Sequence[int]) -> dict[int, Credit]:
    """The same for cart lines (the summary before paying)."""
    try:
        from social import attribution
    except ImportError:
        return {}
    finder = getattr(attribution, "credits_for_cart_lines", None)
    if finder is None:
        return {}
    return {
        line_id: Credit(int(credit.curator_id), _source(credit))
        for line_id, credit in finder(list(cart_line_ids)).items()
    }


def _source(credit: object) -> str:
    link = getattr(credit, "share_link_id", None)
    return f"share-link:{link}" if link else ""


def fix_checkout_terms(checkout: Checkout) -> None:
    """On `checkout_started`: store every line's parties and rates."""
    settings = current_settings()
    # The cart line's attribution exists before any receiver of checkout_started runs;
    # social's own copy per checkout line is the fallback.
    by_cart_line = cart_curator_credits(
        [line.cart_line_id for line in checkout.lines if line.cart_line_id]
    )
    by_checkout_line = curator_credits([line.id for line in checkout.lines])
    credits = {
        line.id: by_cart_line.get(line.cart_line_id or 0) or by_checkout_line.get(line.id)
        for line in checkout.lines
    }
    shops = {
        s.id: s
        for s in db.session.scalars(
            select(Shop).where(Shop.id.in_({line.shop_id for line in checkout.lines}))
        )
    }
    for line in checkout.lines:
        credit = credits.get(line.id)
        context = LineContext(
            shop=shops[line.shop_id],
            product_id=line.product_id,
            buyer_id=checkout.buyer_id,
            curator_id=credit.curator_id if credit else None,
            curator_source=credit.source if credit else "",
        )
        for term in terms_for(context, settings):
            db.session.add(
                LineParty(
                    checkout_line_id=line.id,
                    role=term.role.value,
                    payee_id=term.payee_id,
                    rate_bps=term.rate_bps,
                    source=term.source,
                )
            )
    db.session.flush()


def stored_terms(checkout_line_ids: Sequence[int]) -> dict[int, list[Term]]:
    rows = db.session.scalars(
        select(LineParty)
        .where(LineParty.checkout_line_id.in_(list(checkout_line_ids)))
        .order_by(LineParty.id)
    ).all()
    result: dict[int, list[Term]] = {}
    for row in rows:
        result.setdefault(row.checkout_line_id, []).append(
            Term(Role(row.role), row.payee_id, row.rate_bps, row.source)
        )
    return result
