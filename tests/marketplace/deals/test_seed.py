"""The demo's deals: Bruno's bundle discount and Ana's live coupon, seeded once."""

from __future__ import annotations

from sqlalchemy import func, select

from app.commands import Progress
from app.extensions import db
from marketplace.deals.models import Coupon, ShopBundle
from marketplace.models import Shop


def test_the_demo_has_a_bundle_and_a_live_coupon_once(app):
    from app.accounts.seed import seed_people
    from marketplace.deals.seed import seed_deals
    from marketplace.seed import seed_catalogue

    seed_people(Progress(quiet=True))
    seed_catalogue(Progress(quiet=True))
    seed_deals(Progress(quiet=True))
    seed_deals(Progress(quiet=True))  # a second seeding adds nothing
    db.session.commit()
    (bundle,) = db.session.scalars(select(ShopBundle)).all()
    assert db.session.get(Shop, bundle.shop_id).owner.handle == "bruno"
    assert (bundle.min_items, bundle.percent_bps) == (2, 1500)
    (coupon,) = db.session.scalars(select(Coupon)).all()
    assert coupon.code == "WELCOME10" and coupon.shop.owner.handle == "ana"
    assert coupon.status == "active" and coupon.expires_at is not None
    assert db.session.scalar(select(func.count(Coupon.id))) == 1
