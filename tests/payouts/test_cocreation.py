"""Co-creation's money with the emulator: call → idea → votes → threshold reward → adoption →
sale → royalty → payout; rewards paid once, by balance or by card; the pool, to the cent."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from sqlalchemy import func, select

from app.extensions import db
from app.models import utcnow
from app.uow import unit_of_work
from marketplace import products as product_services
from marketplace.models import Product
from payouts import cocreation, ledger, payees
from payouts.models import Earning, JournalEntry, LineParty, PoolDistribution
from payouts.splits import apportion
from social.idea_models import Idea, IdeaReward, RewardStatus
from tests.conftest import login
from tests.factories import CallFactory, IdeaFactory, MemberFactory, UserFactory
from tests.marketplace.shopping import buy, orders_of, pay_on_hosted_page
from tests.payouts.money import check_invariants, onboard, pay_out, release_after_hold
from tests.payouts.test_money_flow import deliver


def _available(user_id: int) -> int:
    payee = payees.find_user_payee(user_id)
    return ledger.balance(ledger.available(f"payee-{payee.id}")) if payee else 0


def _vote(client, idea, count):
    for _ in range(count):
        login(client, MemberFactory())
        assert client.api("PUT", f"/api/v1/ideas/{idea.id}/vote").status_code == 200


def _adopt_and_publish(client, idea, price="40.00"):
    login(client, idea.shop.owner)
    made = client.post_form(
        f"/ideas/{idea.id}/adopt",
        {"mode": "new", "price": price, "stock": "10", "category": "home/ceramics"},
    )
    assert made.status_code == 302, made.get_data(as_text=True)[-800:]
    db.session.expire_all()
    product = db.session.get(Product, db.session.get(Idea, idea.id).product_id)
    with unit_of_work():
        product_services.set_status(product.shop.owner, product, "active")
    db.session.commit()
    return db.session.get(Product, product.id)


def _sell(client, product, buyer=None):
    buyer = buyer or UserFactory()
    checkout = buy(client, buyer, product)
    for order in orders_of(checkout):
        deliver(client, order, buyer)
    return checkout


def test_call_to_payout_the_author_earns_the_reward_and_the_royalty(app, client, emulator):
    call = CallFactory(threshold_votes=3, threshold_reward_minor=1500, royalty_bps=1000)
    idea = IdeaFactory(call=call)
    author, owner = idea.author, call.shop.owner
    _vote(client, idea, 3)
    reward = db.session.scalar(select(IdeaReward))
    # Due at once; the shop has no earnings yet, so the job could pay nothing.
    assert (reward.kind, reward.amount_minor, reward.status, reward.paid_minor) == (
        "threshold",
        1500,
        RewardStatus.DUE,
        0,
    )
    product = _adopt_and_publish(client, idea)

    # The buyer sees the royalty before paying; the checkout fixes it.
    login(client, UserFactory())
    client.post_form("/cart/add", {"variant_id": product.variants[0].id, "quantity": 1})
    summary = client.get("/checkout").get_data(as_text=True)
    assert f"Co-creator · {author.name}" in summary and "€4.00" in summary
    client.post_form("/logout")
    checkout = _sell(client, product)
    royalty = db.session.scalar(select(LineParty).where(LineParty.role == "co_creator"))
    assert (royalty.rate_bps, royalty.source) == (1000, f"idea:{idea.id}")
    release_after_hold()
    # 40.00: fee 3.20, royalty 4.00, the seller 32.80 (+ 5.00 shipping).
    assert _available(author.id) == 400
    assert _available(owner.id) == 3280 + 500

    # The reward job pays from the shop's available earnings: once, however often it runs.
    with unit_of_work():
        assert cocreation.pay_due_rewards() == 1
    with unit_of_work():
        assert cocreation.pay_due_rewards() == 0
        assert cocreation.pay_from_balance(reward.id) == 0
    db.session.commit()
    assert _available(author.id) == 400 + 1500
    assert _available(owner.id) == 3280 + 500 - 1500
    assert (
        db.session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.kind == "idea_reward")
        )
        == 1
    )
    assert db.session.get(IdeaReward, reward.id).status == RewardStatus.PAID

    # Payouts: the author's money leaves from the sale's charge, like any earning.
    onboard(author, emulator)
    onboard(owner, emulator)
    pay_out()
    author_account = payees.find_user_payee(author.id).stripe_account_id
    to_author = [t for t in emulator.objects("transfer") if t["destination"] == author_account]
    assert sum(t["amount"] for t in to_author) == 1900
    assert {t["source_transaction"] for t in to_author} == {checkout.stripe_charge_id}
    owner_account = payees.find_user_payee(owner.id).stripe_account_id
    assert (
        sum(t["amount"] for t in emulator.objects("transfer") if t["destination"] == owner_account)
        == 3780 - 1500
    )
    assert pay_out().created == 0
    # The author's dashboard shows both.
    login(client, author)
    earnings = client.get("/account/earnings").get_data(as_text=True)
    assert "Reward for your idea" in earnings and "Co-creator" in earnings
    check_invariants(emulator)


def test_a_short_balance_pays_what_it_can_and_the_card_pays_the_rest(app, client, emulator):
    call = CallFactory(
        shortlist_reward_minor=5000, royalty_bps=0, threshold_votes=None, threshold_reward_minor=0
    )
    shop = call.shop
    idea = IdeaFactory(call=call)
    # The shop has 23.00 available from an earlier sale.
    from tests.factories import ProductFactory

    bowl = ProductFactory(shop=shop, price_minor=2500)
    _sell(client, bowl)
    release_after_hold()
    assert _available(shop.owner_id) == 2300 + 500
    login(client, shop.owner)
    client.post_form(f"/ideas/{idea.id}/shortlist")  # 50.00 due; the job takes the 28.00
    reward = db.session.scalar(select(IdeaReward))
    assert (reward.paid_minor, reward.status) == (2800, RewardStatus.DUE)
    assert _available(shop.owner_id) == 0

    paying = client.post_form(f"/account/rewards/{reward.id}/pay")
    assert paying.status_code == 303
    paid = pay_on_hosted_page(client, paying.headers["Location"])
    assert paid.status_code in (200, 303)
    db.session.commit()
    db.session.expire_all()
    reward = db.session.get(IdeaReward, reward.id)
    assert (reward.status, reward.from_balance_minor, reward.by_card_minor) == (
        RewardStatus.PAID,
        2800,
        2200,
    )
    author_payee = payees.find_user_payee(idea.author_id)
    card_earning = db.session.scalar(
        select(Earning).where(Earning.payee_id == author_payee.id, Earning.order_id.is_(None))
    )
    assert card_earning.amount_minor == 2200 and card_earning.source_charge_id
    # Paying again is refused: nothing is paid twice.
    again = client.post_form(f"/account/rewards/{reward.id}/pay")
    assert again.status_code == 302
    assert db.session.get(IdeaReward, reward.id).paid_minor == 5000
    release_after_hold()
    onboard(idea.author, emulator)
    pay_out()
    to_author = [
        t
        for t in emulator.objects("transfer")
        if t["destination"] == author_payee.stripe_account_id
    ]
    assert sorted(t["amount"] for t in to_author) == [2200, 2800]
    check_invariants(emulator)


def test_only_the_shop_owner_pays_its_rewards(client):
    call = CallFactory()
    idea = IdeaFactory(call=call)
    login(client, call.shop.owner)
    client.post_form(f"/ideas/{idea.id}/shortlist")
    reward = db.session.scalar(select(IdeaReward))
    login(client, idea.author)
    assert client.api("POST", f"/api/v1/rewards/{reward.id}/pay").status_code == 403
    assert client.post_form(f"/account/rewards/{reward.id}/pay").status_code == 403


def test_rates_must_leave_the_seller_the_platform_minimum(client):
    call = CallFactory(royalty_bps=1000)
    shop = call.shop
    login(client, shop.owner)
    # Fee 8 % + commission 10 % + royalty 10 % + pool 25 % = 53 % > 50 %.
    refused = client.api(
        "PUT",
        f"/api/v1/shops/{shop.id}/co-creation",
        json={"accepts_ideas": True, "royalty_bps": 1000, "pool_bps": 2500},
    )
    assert refused.status_code == 422 and "at most 32%" in refused.get_json()["title"]
    page = client.post_form("/shop/ideas", {"royalty_percent": "33", "pool_percent": "0"})
    assert page.status_code == 422
    accepted = client.api(
        "PUT", f"/api/v1/shops/{shop.id}/co-creation", json={"royalty_bps": 1000, "pool_bps": 500}
    )
    assert accepted.status_code == 200 and accepted.get_json()["pool_bps"] == 500
    # A second royalty on one product may not push it over either.
    idea = IdeaFactory(call=CallFactory(shop=shop, royalty_bps=2000))
    product = _adopt_and_publish(client, idea)
    second = IdeaFactory(call=CallFactory(shop=shop, royalty_bps=1000))
    login(client, shop.owner)
    linked = client.api("POST", f"/api/v1/ideas/{second.id}/adopt", json={"product_id": product.id})
    assert linked.status_code == 422  # 8 + 10 + 30 + 5 > 50
    # Nor may the shop raise its curator commission past what its promises leave:
    # 50 - 8 fee - 20 royalty - 5 pool = 17 %.
    raised = client.api("PATCH", f"/api/v1/shops/{shop.id}", json={"curator_commission_bps": 1800})
    assert raised.status_code == 422, raised.get_json()
    assert "at most 17%" in str(raised.get_json())
    form = client.get("/account/shop/")
    assert form.status_code == 200
    page = client.post_form(
        "/account/shop/",
        {
            "name": shop.name,
            "slug": shop.slug,
            "shipping_flat": "0",
            "processing_days": "3",
            "curator_commission": "20",
        },
    )
    assert page.status_code == 422 and "at most 17%" in page.get_data(as_text=True)
    db.session.refresh(shop)
    assert shop.curator_commission_bps == 1000
    fits = client.api("PATCH", f"/api/v1/shops/{shop.id}", json={"curator_commission_bps": 1700})
    assert fits.status_code == 200 and fits.get_json()["curator_commission_bps"] == 1700
    # The platform cannot break them either: a fee of 9 % would leave the seller 49 %.
    login(client, UserFactory(is_admin=True))
    settings = {  # rates in percent, the minimum payout in euros
        "commission_min_bps": "0",
        "commission_max_bps": "30",
        "seller_min_bps": "50",
        "hold_days": 7,
        "min_payout_minor": "10.00",
    }
    raised_fee = client.post_form("/admin/payouts/", {**settings, "fee_bps": "9"})
    assert raised_fee.status_code == 422
    assert shop.name in raised_fee.get_data(as_text=True)
    assert client.post_form("/admin/payouts/", {**settings, "fee_bps": "8"}).status_code == 302


def test_the_pool_is_shared_by_weight_to_the_cent_once_a_month(app, client, emulator):
    call = CallFactory(
        royalty_bps=0, threshold_votes=None, threshold_reward_minor=0, shortlist_reward_minor=0
    )
    shop = call.shop
    idea = IdeaFactory(call=call)
    voters = [MemberFactory() for _ in range(2)]
    for voter in voters:
        login(client, voter)
        client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    # One voter also comments: weight 2; a named member: weight 1; the owner never counts.
    client.api("POST", f"/api/v1/ideas/{idea.id}/comments", json={"body": "Love it"})
    named = MemberFactory()
    login(client, shop.owner)
    client.api("PUT", f"/api/v1/shops/{shop.id}/co-creation", json={"pool_bps": 500})
    assert (
        client.api(
            "PUT", f"/api/v1/shops/{shop.id}/collective/{named.handle}", json={"weight": 1}
        ).status_code
        == 200
    )
    product = _adopt_and_publish(client, idea, price="33.33")
    _sell(client, product)
    pool_line = db.session.scalar(select(LineParty).where(LineParty.role == "pool"))
    assert pool_line.rate_bps == 500
    release_after_hold()
    pool = payees.find_pool_payee(shop.id)
    in_pool = ledger.balance(ledger.available(f"payee-{pool.id}"))
    assert in_pool == 167  # 5 % of 33.33, largest remainder

    month = utcnow().strftime("%Y-%m")  # the votes and the sale are this month's
    # A month is distributed once it is over: on the first of the next, as the job does.
    next_first = (utcnow().replace(day=1) + timedelta(days=32)).replace(day=1, hour=5)
    runner = app.test_cli_runner()
    assert "is not over" in runner.invoke(args=["pool", "distribute", "--month", month]).output
    with time_machine.travel(next_first, tick=False):
        result = runner.invoke(args=["pool", "distribute"])
    assert result.exit_code == 0, result.output
    assert f"shop {shop.id}" in result.output  # progress
    db.session.commit()
    shares = {
        e.payee_id: e.amount_minor
        for e in db.session.scalars(
            select(Earning).where(Earning.role == "pool", Earning.origin.is_not(None))
        )
    }
    expected = dict(
        zip(
            [payees.find_user_payee(u.id).id for u in (voters[0], voters[1], named)],
            apportion(167, [1, 2, 1]),
            strict=True,
        )
    )
    assert shares == expected and sum(shares.values()) == 167
    assert sorted(shares.values()) == [42, 42, 83]  # 41.75, 83.5, 41.75 to the cent
    assert ledger.balance(ledger.available(f"payee-{pool.id}")) == 0
    # Once per month: a second run moves nothing, and says what the first one did.
    with time_machine.travel(next_first + timedelta(hours=1), tick=False):
        again = runner.invoke(args=["pool", "distribute", "--month", month])
    assert "already distributed" in again.output and "€1.67 to 3 member(s)" in again.output
    db.session.commit()
    assert db.session.scalar(select(func.count(PoolDistribution.id))) == 1
    assert len(shares) == db.session.scalar(
        select(func.count(Earning.id)).where(Earning.role == "pool", Earning.origin.is_not(None))
    )
    # Members are paid through the normal payouts (above the minimum payout).
    onboard(voters[1], emulator)
    assert pay_out().created == 0  # 0.83 is under the 10.00 minimum: it waits
    app.config["MIN_PAYOUT_MINOR"] = 50
    pay_out()
    account = payees.find_user_payee(voters[1].id).stripe_account_id
    assert [t["amount"] for t in emulator.objects("transfer") if t["destination"] == account] == [
        83
    ]
    check_invariants(emulator)


def test_apportion_sums_exactly():
    for total in (0, 1, 7, 100, 167, 99_999):
        for weights in ([1], [1, 1, 1], [3, 1, 2], [5, 7, 11, 13]):
            parts = apportion(total, weights)
            assert sum(parts) == total
            exact = [total * w / sum(weights) for w in weights]
            assert all(abs(p - e) < 1 for p, e in zip(parts, exact, strict=True))


def test_rewards_due_are_shown_on_the_shop_page(client):
    call = CallFactory()
    idea = IdeaFactory(call=call)
    login(client, call.shop.owner)
    client.post_form(f"/ideas/{idea.id}/shortlist")
    page = client.get("/shop/ideas").get_data(as_text=True)
    assert "Rewards you owe" in page and "Pay €5.00" in page
    login(client, idea.author)
    mine = client.get("/ideas/mine").get_data(as_text=True)
    assert "Due from the shop" in mine and "€5.00" in mine


def test_a_refund_takes_the_royalty_and_the_pool_back_with_the_line(app, client, emulator):
    call = CallFactory(
        royalty_bps=1000, threshold_votes=None, threshold_reward_minor=0, shortlist_reward_minor=0
    )
    idea = IdeaFactory(call=call)
    login(client, call.shop.owner)
    client.api("PUT", f"/api/v1/shops/{call.shop.id}/co-creation", json={"pool_bps": 500})
    product = _adopt_and_publish(client, idea)
    checkout = buy(client, UserFactory(), product)
    order = orders_of(checkout)[0]
    login(client, call.shop.owner)
    refunded = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{order.lines[0].id}": "20.00"}
    )
    assert refunded.status_code == 302
    db.session.expire_all()
    parts = {
        e.role: (e.amount_minor, e.refunded_minor)
        for e in db.session.scalars(select(Earning).where(Earning.order_line_id.is_not(None)))
    }
    # Half the line back: the royalty (4.00) and the pool (2.00) give back half too.
    assert parts["co_creator"] == (400, 200) and parts["pool"] == (200, 100)
    check_invariants(emulator)
