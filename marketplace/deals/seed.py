"""The demo's deals: Bruno's Keller Vintage Denim takes 15 % off two or more items, and Ana's
Atelier Duarte has a live coupon, WELCOME10 (10 % off from €20, once per buyer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from marketplace.deals import coupons
from marketplace.deals.models import Coupon
from marketplace.models import Shop


def _shop(email: str) -> Shop | None:
    return db.session.scalar(
        select(Shop).join(User, User.id == Shop.owner_id).where(User.email == email)
    )


def seed_deals(progress: Any) -> None:
    bruno = _shop("bruno@example.com")
    if bruno is not None and coupons.bundle_of(bruno) is None:
        coupons.set_bundle(bruno, 2, 1500)
    ana = _shop("ana@example.com")
    if ana is not None and not db.session.scalar(
        select(Coupon.id).where(Coupon.shop_id == ana.id, Coupon.code == "WELCOME10")
    ):
        coupons.create_coupon(
            ana,
            coupons.CouponInput(
                code="WELCOME10",
                kind="percent",
                percent_bps=1000,
                min_order_minor=2000,
                expires_at=utcnow() + timedelta(days=90),
                max_uses=100,
                once_per_buyer=True,
            ),
        )
