"""The collective pool's monthly distribution: a month shares what of its contributions has
settled, carries what still waits (the hold, delivery, a dispute) to the next distribution and
says so; a re-run never shares twice; a refund of a sale already shared is netted off later;
two distributions at once share the month once. Time is moved with time-machine."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.uow import unit_of_work
from marketplace.models import Shop
from payouts import cocreation, ledger, payees
from payouts.earnings import release_due
from payouts.models import Earning, PoolDistribution
from payouts.runtime import deliver_webhooks
from tests.concurrency import at_once
from tests.conftest import login
from tests.factories import MemberFactory, ProductFactory, ShopFactory, UserFactory
from tests.marketplace.shopping import add, buy, orders_of
from tests.payouts.money import check_invariants
from tests.payouts.test_disputes import dispute
from tests.payouts.test_money_flow import deliver


def at(year, month, day, hour=12):
    return time_machine.travel(datetime(year, month, day, hour, tzinfo=UTC), tick=True)


def _pooled_shop(client):
    """A shop that gives 5 % of every sale to its collective of one named member; a €40 bowl."""
    product = ProductFactory(
        shop=ShopFactory(name="Ana's studio", shipping_flat_minor=0),
        title="Speckled bowl",
        price_minor=4000,
        stock=50,
    )
    shop = product.shop
    member = MemberFactory()
    login(client, shop.owner)
    assert (
        client.api(
            "PUT", f"/api/v1/shops/{shop.id}/co-creation", json={"pool_bps": 500}
        ).status_code
        == 200
    )
    assert (
        client.api(
            "PUT", f"/api/v1/shops/{shop.id}/collective/{member.handle}", json={"weight": 1}
        ).status_code
        == 200
    )
    client.post_form("/logout")
    return shop, product, member


def _sale(client, product, *, delivered=True, quantity=1):
    """A sale of the bowl (the pool's part: 2.00 a bowl), delivered or only paid."""
    buyer = UserFactory()
    if quantity > 1:
        login(client, buyer)
        add(client, product, quantity - 1)
    checkout = buy(client, buyer, product)
    order = orders_of(checkout)[0]
    if delivered:
        deliver(client, order, buyer)
    db.session.commit()
    return checkout, order


def _release():
    with unit_of_work():
        return release_due()


def _distribute(app, month=None):
    args = ["pool", "distribute"] + (["--month", month] if month else [])
    result = app.test_cli_runner().invoke(args=args)
    db.session.commit()
    return result


def _available(user_id):
    payee = payees.find_user_payee(user_id)
    return ledger.balance(ledger.available(f"payee-{payee.id}")) if payee else 0


def _in_pool(shop):
    key = f"payee-{payees.find_pool_payee(shop.id).id}"
    return ledger.balance(ledger.pending(key)), ledger.balance(ledger.available(key))


def _record(shop, month):
    return db.session.scalar(
        select(PoolDistribution).where(
            PoolDistribution.shop_id == shop.id, PoolDistribution.month == month
        )
    )


def test_a_month_shares_what_has_settled_and_carries_what_waits_visibly(app, client, emulator):
    with at(2026, 11, 3):
        shop, product, member = _pooled_shop(client)
    with at(2026, 11, 10):
        _sale(client, product)  # delivered: released on 17 November
    with at(2026, 11, 28):
        _sale(client, product)  # delivered: released on 5 December
    with at(2026, 11, 29):
        _sale(client, product, delivered=False)  # paid, never shipped yet

    with at(2026, 12, 1, 5):
        _release()
        first = _distribute(app)  # last month: November
    assert first.exit_code == 0, first.output
    out = first.output
    assert f"shop {shop.id}" in out
    assert "distributed €2.00 to 1 member(s)" in out
    assert "€2.00 on hold until 2026-12-05" in out
    assert "€2.00 awaiting delivery" in out
    assert "€4.00 carried to 2026-12" in out
    assert _available(member.id) == 200
    assert _in_pool(shop) == (400, 0)
    record = _record(shop, "2026-11")
    assert (record.amount_minor, record.member_count, record.carried_minor) == (200, 1, 400)

    # A re-run shares nothing twice and says what was done, not "€0.00".
    with at(2026, 12, 1, 6):
        again = _distribute(app)
    assert again.exit_code == 0, again.output
    assert "already distributed" in again.output
    assert "€2.00 to 1 member(s)" in again.output and "€4.00 was carried to 2026-12" in again.output
    assert "€0.00" not in again.output

    # The late sale settles: November stays as it was; December will share it.
    with at(2026, 12, 6):
        assert _release() >= 1
        late = _distribute(app, "2026-11")
    assert "already distributed" in late.output
    assert _available(member.id) == 200
    assert _in_pool(shop) == (200, 200)

    with at(2027, 1, 1, 5):
        december = _distribute(app)
    out = december.output
    assert "distributed €2.00 to 1 member(s)" in out
    assert "€2.00 of it carried from earlier months" in out
    assert "€2.00 awaiting delivery" in out and "€2.00 carried to 2027-01" in out
    assert _available(member.id) == 400
    assert _in_pool(shop) == (200, 0)
    assert _record(shop, "2026-12").carried_minor == 200
    check_invariants(emulator)


def test_a_late_run_leaves_the_next_months_contributions_to_their_month(app, client, emulator):
    with at(2026, 11, 3):
        shop, product, member = _pooled_shop(client)
    with at(2026, 11, 10):
        _sale(client, product)
    with at(2026, 12, 2):
        _sale(client, product)  # December's: released on 9 December
    with at(2026, 12, 20):
        _release()
        result = _distribute(app, "2026-11")
    assert result.exit_code == 0, result.output
    assert "distributed €2.00 to 1 member(s)" in result.output
    assert _available(member.id) == 200
    assert _in_pool(shop) == (0, 200)  # December's part waits for December's distribution
    with at(2027, 1, 1, 5):
        _distribute(app)
    assert _available(member.id) == 400 and _in_pool(shop) == (0, 0)
    check_invariants(emulator)


def test_a_refund_of_a_shared_sale_is_netted_off_the_next_month_once(app, client, emulator):
    with at(2026, 11, 3):
        shop, product, member = _pooled_shop(client)
    with at(2026, 11, 10):
        _checkout, order = _sale(client, product)
    with at(2026, 12, 1, 5):
        _release()
        _distribute(app)
    assert _available(member.id) == 200
    with at(2026, 12, 3):
        login(client, shop.owner)
        refunded = client.post_form(
            f"/account/shop/orders/{order.id}/refund",
            {f"line-{order.lines[0].id}": "40.00", "reason": "broken in transit"},
        )
        assert refunded.status_code == 302
        client.post_form("/logout")
    db.session.commit()
    # The members keep what they were given; the pool owes it, on the ledger.
    assert _available(member.id) == 200
    assert _in_pool(shop) == (0, -200)
    assert ledger.trial_balance() == 0
    with at(2026, 12, 5):
        _sale(client, product, quantity=2)  # the pool's part: 4.00, released on 12 December
    with at(2027, 1, 1, 5):
        _release()
        december = _distribute(app)
    out = december.output
    assert "distributed €2.00 to 1 member(s)" in out
    assert "€2.00 kept to cover refunds of sales already shared" in out
    assert _available(member.id) == 400
    assert _in_pool(shop) == (0, 0)
    pool = payees.find_pool_payee(shop.id)
    assert all(
        e.net_minor == 0
        for e in db.session.scalars(select(Earning).where(Earning.payee_id == pool.id))
    )
    # Netted once: the next month has nothing left to cover.
    with at(2027, 2, 1, 5):
        january = _distribute(app)
    assert "refunds" not in january.output and "nothing to distribute" in january.output
    assert "€0.00" not in january.output
    check_invariants(emulator)


def test_a_disputed_contribution_waits_and_is_shared_once_the_dispute_is_won(app, client, emulator):
    with at(2026, 11, 3):
        _shop, product, member = _pooled_shop(client)
    with at(2026, 11, 10):
        checkout, _order = _sale(client, product)
    with at(2026, 11, 20):
        _release()
        opened = dispute(emulator, checkout)
    with at(2026, 12, 1, 5):
        november = _distribute(app)
    assert "€2.00 frozen by a dispute" in november.output
    assert "€2.00 carried to 2026-12" in november.output
    assert "€0.00" not in november.output
    assert _available(member.id) == 0
    with at(2026, 12, 10):
        db.session.commit()
        emulator.close_dispute(opened["id"], won=True)
        deliver_webhooks()
        db.session.commit()
    with at(2027, 1, 1, 5):
        december = _distribute(app)
    assert "distributed €2.00 to 1 member(s)" in december.output
    assert "€2.00 of it carried from earlier months" in december.output
    assert _available(member.id) == 200
    check_invariants(emulator)


def test_a_month_that_is_not_over_is_not_distributed(app, client):
    with at(2026, 12, 15):
        _pooled_shop(client)
        result = _distribute(app, "2026-12")
    assert result.exit_code != 0
    assert "2026-12 is not over" in result.output
    assert db.session.scalar(select(func.count(PoolDistribution.id))) == 0


def test_two_distributions_at_once_share_the_month_once(app, client, emulator, postgres_only):
    with at(2026, 11, 3):
        shop, product, member = _pooled_shop(client)
    with at(2026, 11, 10):
        _sale(client, product)
    shop_id, results = shop.id, []

    def distribute():
        results.append(cocreation.distribute_pool(db.session.get(Shop, shop_id), "2026-11"))

    with at(2026, 12, 1, 5):
        _release()
        at_once(app, [distribute, distribute])
    db.session.commit()
    assert sorted(r.already for r in results) == [False, True]
    assert [r.amount_minor for r in results] == [200, 200]
    assert _available(member.id) == 200
    assert db.session.scalar(select(func.count(PoolDistribution.id))) == 1
    assert db.session.scalar(select(func.count(Earning.id)).where(Earning.origin.is_not(None))) == 1
    check_invariants(emulator)


def test_one_pool_that_fails_does_not_stop_the_others(app, client, emulator, monkeypatch):
    with at(2026, 11, 3):
        shop, product, member = _pooled_shop(client)
        other, other_product, other_member = _pooled_shop(client)
    with at(2026, 11, 10):
        _sale(client, product)
        _sale(client, other_product)
    real = cocreation.ideas.collective_weights

    def weights(of_shop, until):
        if of_shop.id == shop.id:
            raise RuntimeError("a broken collective")
        return real(of_shop, until)

    monkeypatch.setattr(cocreation.ideas, "collective_weights", weights)
    with at(2026, 12, 1, 5):
        _release()
        result = _distribute(app)
    assert result.exit_code == 1
    assert "failed, nothing shared: a broken collective" in result.output
    assert "1 pool(s) failed and will be tried again" in result.output
    assert _available(member.id) == 0 and _available(other_member.id) == 200
    assert _record(shop, "2026-11") is None and _record(other, "2026-11") is not None
    from app.batches import BatchFailure

    failure = db.session.scalar(select(BatchFailure))
    assert failure.subject == f"pool of shop {shop.id}, 2026-11"  # on the admins' page
    # Mended, the next run shares the failed pool's month; the other's is not shared twice.
    monkeypatch.setattr(cocreation.ideas, "collective_weights", real)
    with at(2026, 12, 2, 5):
        retried = _distribute(app)
    assert retried.exit_code == 0, retried.output
    assert _available(member.id) == 200 and _available(other_member.id) == 200
    assert db.session.scalar(select(BatchFailure)) is None
    check_invariants(emulator)
