"""The split shown before paying: where each line's money goes.

The platform's fee and the seller's share for now; the curator commission, co-creator
royalties and the collective pool join through `split_parties` as those features land.
"""

from __future__ import annotations

from collections.abc import Sequence

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from marketplace.models import Shop
from marketplace.payments import PreviewLine, SplitPart, SplitPreview, register_split_previewer
from payouts.splits import Party, Role, split


def platform_fee_bps() -> int:
    return int(current_app.config.get("PLATFORM_FEE_BPS", 800))


def _labels(shop_names: dict[int, str]) -> dict[Role, str]:
    return {
        Role.PLATFORM: _("Kindred fee"),
        Role.CURATOR: _("Curator"),
        Role.CO_CREATOR: _("Co-creator"),
        Role.POOL: _("Collective"),
        Role.SELLER: _("Seller"),
    }


def preview(lines: Sequence[PreviewLine], buyer_id: int | None) -> SplitPreview:
    shop_ids = {line.shop_id for line in lines}
    shops = (
        {shop.id: shop for shop in db.session.scalars(select(Shop).where(Shop.id.in_(shop_ids)))}
        if shop_ids
        else {}
    )
    labels = _labels({sid: s.name for sid, s in shops.items()})
    result: SplitPreview = {}
    for line in lines:
        parties = [
            Party(Role.PLATFORM, "platform", platform_fee_bps()),
            Party(Role.SELLER, f"shop:{line.shop_id}"),
        ]
        shares = split(line.gross_minor, parties)
        result[line.key] = [
            SplitPart(
                label=(
                    f"{labels[s.party.role]} · {shops[line.shop_id].name}"
                    if s.party.role is Role.SELLER
                    else labels[s.party.role]
                ),
                amount_minor=s.amount,
                role=s.party.role.value,
            )
            for s in shares
        ]
    return result


def init_app(app: Flask) -> None:
    register_split_previewer(app, preview)
