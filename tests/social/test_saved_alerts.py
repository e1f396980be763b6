"""News of saved products: a price drop, a sold-out variant back in stock, told once to the
people who saved the product, after the seller's change is committed."""

from __future__ import annotations

from sqlalchemy import select

from app import jobs
from app.extensions import db
from marketplace import products as product_services
from social import saved
from social.models import (
    Like,
    Notification,
    NotificationKind,
    SavedAlert,
    SocialSettings,
    Suspension,
    Target,
)
from tests.conftest import login
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.social.helpers import as_user, fresh, page_text


def saving(product, *people):
    for person in people:
        db.session.add(Like(user_id=person.id, target_type=Target.PRODUCT, target_id=product.id))
    db.session.commit()


def quick_edit(client, product, prices=None, stocks=None, status="active"):
    """The seller's dashboard row: prices in euros, stocks, by variant."""
    form = {"status": status}
    for variant in product.variants:
        if prices and variant.id in prices:
            form[f"price-{variant.id}"] = prices[variant.id]
        if stocks and variant.id in stocks:
            form[f"stock-{variant.id}"] = str(stocks[variant.id])
    return client.post_form(f"/account/shop/products/{product.id}/quick", form)


def told(person, kind=None):
    db.session.commit()
    statement = select(Notification).where(Notification.recipient_id == person.id)
    if kind:
        statement = statement.where(Notification.kind == kind)
    return list(db.session.scalars(statement))


def mails_to(outbox, person):
    return [m for m in outbox() if m["To"] == person.email]


def test_a_price_drop_tells_who_saved_it_on_site_and_by_email(client, outbox):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, title="Speckled bowl", price_minor=3000)
    fan, other_fan, stranger = UserFactory(), UserFactory(), UserFactory()
    saving(bowl, fan, other_fan, shop.owner)  # the seller saved her own bowl too
    login(client, shop.owner)
    response = quick_edit(client, bowl, prices={bowl.variants[0].id: "24,00"})
    assert response.status_code == 302
    for person in (fan, other_fan):
        (notification,) = told(person, NotificationKind.PRICE_DROP)
        assert notification.product_id == bowl.id
        (mail,) = mails_to(outbox, person)
        assert mail["Subject"] == "Price drop: Speckled bowl"
        body = mail.get_content()
        assert "is now €24.00 (it was €30.00)" in body
        assert f"/products/{bowl.id}" in body
    assert told(shop.owner) == [] and mails_to(outbox, shop.owner) == []
    assert told(stranger) == []
    client.post_form("/logout")
    as_user(client, fan)
    page = " ".join(page_text(client.get("/notifications")).split())
    assert "Price drop: “Speckled bowl”, which you saved, is now €24.00 (it was €30.00)" in page
    assert f'<a href="/products/{bowl.id}">' in page
    api = client.get("/api/v1/notifications").get_json()
    assert api["items"][0]["kind"] == "price_drop" and api["items"][0]["product_id"] == bowl.id
    card = page_text(client.get("/saved"))
    assert "€24.00" in card and "<s>€30.00</s>" in card  # the price before the drop


def test_a_raise_or_a_cut_nobody_can_buy_at_is_no_news(client, outbox):
    shop = ShopFactory()
    vase = ProductFactory(
        shop=shop,
        title="Vase",
        option1_name="Size",
        variants=[
            product_services.VariantInput(price_minor=3000, stock=2, option1="Large"),
            product_services.VariantInput(price_minor=2000, stock=0, option1="Small"),
            product_services.VariantInput(price_minor=2500, stock=4, option1="Medium"),
        ],
    )
    large, small, medium = vase.variants
    fan = UserFactory()
    saving(vase, fan)
    login(client, shop.owner)
    quick_edit(client, vase, prices={medium.id: "28,00"})  # a raise
    quick_edit(client, vase, prices={small.id: "15,00"})  # sold out: nobody can buy it
    quick_edit(client, vase, prices={large.id: "29,00"})  # not the lowest one in stock
    assert told(fan) == [] and mails_to(outbox, fan) == []
    quick_edit(client, vase, prices={large.id: "27,00"})  # now the lowest in stock: news
    (notification,) = told(fan)
    alert = db.session.get(SavedAlert, notification.target_id)
    assert (alert.old_price_minor, alert.new_price_minor) == (2800, 2700)


def test_back_in_stock_and_the_same_restock_twice_is_one_alert(client, outbox):
    shop = ShopFactory()
    lamp = ProductFactory(shop=shop, title="Paper lamp", stock=0)
    fan = UserFactory()
    saving(lamp, fan)
    login(client, shop.owner)
    variant_id = lamp.variants[0].id
    quick_edit(client, lamp, stocks={variant_id: 2})
    quick_edit(client, lamp, stocks={variant_id: 5})  # more of it: no news
    quick_edit(client, lamp, stocks={variant_id: 0})
    quick_edit(client, lamp, stocks={variant_id: 1})  # the same news, the same day
    (notification,) = told(fan)
    assert notification.kind == NotificationKind.BACK_IN_STOCK
    (mail,) = mails_to(outbox, fan)
    assert mail["Subject"] == "Back in stock: Paper lamp"
    client.post_form("/logout")
    as_user(client, fan)
    assert "Back in stock: “Paper lamp”, which you saved" in page_text(client.get("/notifications"))


def test_the_same_drop_from_two_tabs_or_a_double_submit_is_one_alert(client, outbox):
    shop = ShopFactory()
    mug = ProductFactory(shop=shop, title="Mug", price_minor=2000)
    fan = UserFactory()
    saving(mug, fan)
    login(client, shop.owner)
    quick_edit(client, mug, prices={mug.variants[0].id: "15,00"})
    quick_edit(client, mug, prices={mug.variants[0].id: "15,00"})  # the double submit
    # Two tabs that both read €20 before either saved: both report the drop to €15.
    jobs.run(
        saved.ALERT_JOB,
        product_id=mug.id,
        kind=NotificationKind.PRICE_DROP,
        old_price_minor=2000,
        new_price_minor=1500,
        actor_id=shop.owner.id,
        day=fresh(SavedAlert)[0].created_at.date().isoformat(),
    )
    assert len(told(fan)) == 1 and len(mails_to(outbox, fan)) == 1
    assert len(fresh(SavedAlert)) == 1


def test_the_email_follows_the_settings_and_suspended_people_hear_nothing(client, outbox):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=3000)
    quiet, suspended = UserFactory(), UserFactory()
    saving(bowl, quiet, suspended)
    as_user(client, quiet)
    client.post_form("/account/social", {"email_follows": "y"})  # saved-things email off
    assert db.session.get(SocialSettings, quiet.id).email_saved is False
    client.post_form("/logout")
    db.session.add(Suspension(user_id=suspended.id))
    db.session.commit()
    login(client, shop.owner)
    quick_edit(client, bowl, prices={bowl.variants[0].id: "20,00"})
    assert len(told(quiet)) == 1 and mails_to(outbox, quiet) == []
    assert told(suspended) == [] and mails_to(outbox, suspended) == []


def test_an_unlisted_product_and_a_refused_edit_tell_nothing(client, outbox):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=3000, stock=0)
    fan = UserFactory()
    saving(bowl, fan)
    login(client, shop.owner)
    variant_id = bowl.variants[0].id
    # Back to draft in the same edit: nobody can buy it, so nobody hears of it.
    quick_edit(client, bowl, prices={variant_id: "10,00"}, stocks={variant_id: 4}, status="draft")
    refused = quick_edit(client, bowl, prices={variant_id: "5,00"}, stocks={variant_id: -1})
    assert refused.status_code == 422  # rolled back: nothing is sent
    assert told(fan) == [] and mails_to(outbox, fan) == []


def test_a_refund_that_restocks_a_sold_out_product_tells_who_saved_it(client, emulator, outbox):
    from tests.marketplace.shopping import buy, orders_of, two_shops

    _bowl, jacket = two_shops()  # the jacket: one in stock
    fan = UserFactory()
    saving(jacket, fan)
    checkout = buy(client, UserFactory(), jacket)
    client.post_form("/logout")
    (order,) = orders_of(checkout)
    db.session.refresh(jacket)
    assert not jacket.in_stock and told(fan) == []
    login(client, order.shop.owner)
    line = order.lines[0]
    refunded = client.post_form(
        f"/account/shop/orders/{order.id}/refund", {f"line-{line.id}": "40.00", "restock": "y"}
    )
    assert refunded.status_code == 302
    (notification,) = told(fan)
    assert notification.kind == NotificationKind.BACK_IN_STOCK
    assert notification.product_id == jacket.id


def test_many_savers_are_told_in_batches_once_each(app, client, outbox, monkeypatch):
    monkeypatch.setattr(saved, "BATCH", 2)
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=3000)
    fans = [UserFactory() for _ in range(5)]
    saving(bowl, *fans)
    queued: list[tuple[str, dict]] = []
    app.extensions["kindred_job_dispatcher"] = lambda name, kwargs: queued.append((name, kwargs))
    try:
        login(client, shop.owner)
        quick_edit(client, bowl, prices={bowl.variants[0].id: "20,00"})
        assert [name for name, _ in queued] == [saved.ALERT_JOB]  # nothing in the request
        assert all(told(fan) == [] for fan in fans)
        name, kwargs = queued.pop()
        jobs.run(name, **kwargs)
        assert sum(len(told(fan)) for fan in fans) == 2
        while queued:
            name, kwargs = queued.pop()
            assert name == saved.BATCH_JOB
            jobs.run(name, **kwargs)
            jobs.run(name, **kwargs)  # a retry, or two workers: nobody told twice
    finally:
        del app.extensions["kindred_job_dispatcher"]
    assert [len(told(fan)) for fan in fans] == [1] * 5


def test_a_drop_undone_before_its_job_runs_is_no_news(app, client, outbox):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop, title="Bowl", price_minor=3000)
    fan = UserFactory()
    saving(bowl, fan)
    queued: list[tuple[str, dict]] = []
    app.extensions["kindred_job_dispatcher"] = lambda name, kwargs: queued.append((name, kwargs))
    try:
        login(client, shop.owner)
        quick_edit(client, bowl, prices={bowl.variants[0].id: "20,00"})
        quick_edit(client, bowl, prices={bowl.variants[0].id: "30,00"})  # a slip, put back
        ((name, kwargs),) = queued
        jobs.run(name, **kwargs)
    finally:
        del app.extensions["kindred_job_dispatcher"]
    assert told(fan) == [] and fresh(SavedAlert) == []
