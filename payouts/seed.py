"""Demo sales: real checkouts paid on the emulator, so orders, Stripe objects and (as the
payouts feature grows) earnings all exist as they would after real use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app import uow
from app.accounts.models import User
from app.commands import Progress
from app.extensions import db
from app.placeholders import product_pictures
from marketplace import cart as carts
from marketplace import checkout as checkouts
from marketplace import orders
from marketplace.models import Product, ProductStatus, Shop
from marketplace.order_models import Checkout, CheckoutStatus, Order
from payouts.runtime import deliver_webhooks, emulator

DEMO_ADDRESS = {
    "name": "Farid Haddad",
    "line1": "12 rue des Lilas",
    "line2": "",
    "city": "Lyon",
    "postal_code": "69003",
    "region": "",
    "country": "FR",
    "phone": "",
}

# buyer handle, [(shop owner handle, nth product of that shop, quantity)], what happens after
DEMO_SALES = [
    ("farid", [("ana", 0, 2), ("bruno", 1, 1)], "delivered"),
    ("farid", [("emma", 0, 1)], "shipped"),
    ("chloe", [("ana", 2, 1), ("emma", 1, 1)], "paid"),
    ("dev", [("bruno", 0, 1)], "delivered"),
    # More delivered purchases, so the products they bought have reviews to show.
    ("chloe", [("ana", 0, 1), ("emma", 3, 1)], "delivered"),
    ("dev", [("ana", 0, 1), ("ana", 3, 1)], "delivered"),
    ("emma", [("ana", 0, 1), ("bruno", 4, 1)], "delivered"),
    ("bruno", [("ana", 3, 1), ("emma", 3, 1)], "delivered"),
]


def _product(owner_handle: str, nth: int) -> Product | None:
    return db.session.scalars(
        select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .join(User, User.id == Shop.owner_id)
        .where(
            User.handle == owner_handle,
            Product.status == ProductStatus.ACTIVE,
            Product.stock_total > 0,
        )
        .order_by(Product.id)
        .offset(nth)
        .limit(1)
    ).first()


def _sell(emu: Any, buyer_handle: str, items: list[tuple[Any, int, int]], outcome: str) -> bool:
    """One checkout paid on the emulator; `items` are (shop owner handle or a product, nth,
    quantity); then shipped and delivered as `outcome` says."""
    buyer = db.session.scalar(select(User).where(User.handle == buyer_handle))
    if buyer is None:
        return False
    for owner, nth, quantity in items:
        product = owner if isinstance(owner, Product) else _product(owner, nth)
        if product is not None:
            carts.add(buyer, product.variants[0].id, quantity)
    started = checkouts.start(buyer, DEMO_ADDRESS)
    uow.checkpoint()  # never hold a transaction across a Stripe call
    checkout = db.session.get(Checkout, started.checkout.id)
    assert checkout is not None
    checkouts.open_payment(
        checkout,
        success_url="http://127.0.0.1:5000/orders",
        cancel_url="http://127.0.0.1:5000/cart",
    )
    checkout_id, session_id = checkout.id, checkout.stripe_session_id
    uow.checkpoint()
    emu.pay_checkout_session(session_id, "4000000000000077")
    deliver_webhooks()  # the orders are created by our webhook endpoint, as in real use
    checkout = db.session.get(Checkout, checkout_id)
    assert checkout is not None and checkout.status == CheckoutStatus.PAID
    for order in db.session.scalars(select(Order).where(Order.checkout_id == checkout.id)):
        seller = order.shop.owner
        if outcome in ("shipped", "delivered"):
            orders.mark_shipped(seller, order.id, "La Poste", f"6A{order.id:09d}")
        if outcome == "delivered":
            orders.confirm_delivery(buyer, order.id)
    uow.checkpoint()
    deliver_webhooks()
    return True


def seed_sales(progress: Progress) -> None:
    emu = emulator()
    if emu is None:
        progress.step("real Stripe keys are set: no demo sales")
        return
    for buyer_handle, items, outcome in DEMO_SALES:
        if _sell(emu, buyer_handle, items, outcome):
            progress.step(f"@{buyer_handle} bought from {len(items)} shop(s): {outcome}")
    _earnings_in_every_state(progress, emu)
    _refund_made_in_stripe(progress)


def _earnings_in_every_state(progress: Progress, emu: Any) -> None:
    """Ana has set up payouts and been paid; Bruno's earnings wait for him to set up his."""
    from datetime import timedelta

    from app.models import utcnow
    from payouts import earnings, payees, payout_run
    from payouts.models import Payee

    ana = db.session.scalar(select(User).where(User.handle == "ana"))
    if ana is not None:
        payees.start_onboarding(
            ana,
            return_url="http://127.0.0.1:5000/account/payouts/return",
            refresh_url="http://127.0.0.1:5000/account/payouts",
        )
        uow.checkpoint()
        payee = payees.find_user_payee(ana.id)
        assert payee is not None and payee.stripe_account_id
        emu.complete_onboarding(payee.stripe_account_id)
        payees.refresh_status(db.session.get(Payee, payee.id))  # type: ignore[arg-type]
        uow.checkpoint()
        progress.step("@ana set up payouts (Stripe Express, emulated)")
    # The demo's delivered orders have passed their hold period, as if a week went by.
    released = earnings.release_due(as_of=utcnow() + timedelta(days=30))
    uow.checkpoint()
    result = payout_run.run()
    uow.checkpoint()
    deliver_webhooks()
    progress.step(f"{released} earning(s) released; payout run: {result.paid} transfer(s)")


def _refund_made_in_stripe(progress: Progress) -> None:
    """Someone refunds part of Chloé's two-shop payment straight in Stripe's dashboard: the
    admin finds it held on the payouts page, to book on Ana's or Emma's order."""
    from payouts.runtime import gateway

    chloe = db.session.scalar(select(User).where(User.handle == "chloe"))
    checkout = (
        db.session.scalar(
            select(Checkout)
            .where(Checkout.buyer_id == chloe.id, Checkout.status == CheckoutStatus.PAID)
            .order_by(Checkout.id)
        )
        if chloe is not None
        else None
    )
    if checkout is None or not checkout.stripe_payment_intent_id:
        return
    intent, amount = checkout.stripe_payment_intent_id, min(1500, checkout.total_minor)
    uow.checkpoint()  # never hold a transaction across a Stripe call
    gateway().refund(
        payment_intent=intent, amount=amount, idempotency_key=f"demo-dashboard-{intent}"
    )
    deliver_webhooks()
    progress.step("a refund made in Stripe's dashboard waits for the admin")


# --- co-creation ------------------------------------------------------------------------------


def seed_cocreation(progress: Progress) -> None:
    """Ana runs a call for ideas with rewards, a royalty and a collective pool; Farid's idea
    reaches its vote goal, is adopted, sells, and its rewards are paid from Ana's earnings;
    her collective shares its first month. Bruno takes ideas at any time; Emma declines one."""
    from datetime import timedelta

    from app.models import utcnow
    from marketplace.models import ProductStatus
    from marketplace.products import set_status
    from payouts import cocreation, earnings
    from social import ideas, reactions
    from social.idea_models import Idea
    from social.models import Target

    emu = emulator()
    people = {u.handle: u for u in db.session.scalars(select(User))}
    needed = ("ana", "bruno", "emma", "chloe", "dev", "farid")
    if any(h not in people for h in needed) or db.session.scalar(select(Idea.id).limit(1)):
        return
    # Demo accounts have been around for a while (new accounts cannot vote).
    for person in people.values():
        person.created_at = utcnow() - timedelta(days=90)
    shop = {h: ideas_shop for h in ("ana", "bruno", "emma") if (ideas_shop := _shop_of(h))}
    if len(shop) < 3:
        return
    ana, bruno, emma = (people[h] for h in ("ana", "bruno", "emma"))
    ideas.update_terms(
        ana,
        shop["ana"],
        ideas.TermsChange(
            accepts_ideas=True,
            shortlist_reward_minor=1000,
            threshold_votes=5,
            threshold_reward_minor=2500,
            royalty_bps=1000,
            pool_bps=500,
        ),
    )
    call = ideas.open_call(
        ana,
        shop["ana"],
        ideas.CallInput(
            title="Ramen bowls for cold evenings",
            brief="Our next glaze run has room for one new shape. Deep, warm, good in the hand: "
            "what should it be?",
            deadline=utcnow() + timedelta(days=30),
            shortlist_reward_minor=1000,
            threshold_votes=5,
            threshold_reward_minor=2500,
            royalty_bps=1000,
        ),
    )
    ramen = ideas.submit_idea(
        people["farid"],
        shop["ana"],
        "A deep ramen bowl with a chopstick rest",
        "Deep enough for broth and noodles, with a small ledge on the rim where chopsticks can "
        "rest between bites. Speckled glaze outside, plain inside.",
        images=product_pictures("idea-ramen", "Speckled ramen bowl", "home/ceramics", 2),
        call=call,
    )
    cups = ideas.submit_idea(
        people["chloe"],
        shop["ana"],
        "Stackable espresso cups",
        "Four small cups that stack without chipping, in the speckled glaze.",
        images=product_pictures("idea-cups", "Espresso cups", "home/ceramics", 1),
    )
    planter = ideas.submit_idea(
        people["dev"],
        shop["ana"],
        "A hanging planter",
        "A small bowl with three holes for a cord, for herbs by the window.",
        call=call,
    )
    for voter in ("bruno", "emma", "chloe", "dev", "kindred_team"):
        if voter in people:
            ideas.vote(people[voter], ramen)
    for voter in ("farid", "bruno"):
        ideas.vote(people[voter], cups)
    ideas.vote(people["emma"], planter)
    reactions.add_comment(
        people["chloe"], Target.IDEA, ramen.id, "Yes! And a matching spoon, one day?"
    )
    reactions.add_comment(people["emma"], Target.IDEA, ramen.id, "I would buy two.")
    ideas.shortlist(ana, cups)
    adopted = ideas.adopt(ana, ramen, new_product=ideas.NewProduct(3800, 12, "home/ceramics"))
    assert adopted.product is not None
    set_status(ana, adopted.product, ProductStatus.ACTIVE)
    progress.step("@ana opened a call; 3 ideas, 8 votes, 1 shortlisted, 1 adopted")

    ideas.update_terms(
        bruno,
        shop["bruno"],
        ideas.TermsChange(accepts_ideas=True, royalty_bps=500, shortlist_reward_minor=500),
    )
    tote = ideas.submit_idea(
        people["dev"],
        shop["bruno"],
        "A tote bag from denim offcuts",
        "Patchwork of the offcuts from the jackets, with a leather strap.",
        images=product_pictures("idea-tote", "Denim patchwork tote", "accessories/bags", 1),
    )
    ideas.vote(people["farid"], tote)
    linen = ideas.open_call(
        emma,
        shop["emma"],
        ideas.CallInput(title="Winter table linen", brief="Colours and patterns for winter."),
    )
    neon = ideas.submit_idea(
        people["farid"], shop["emma"], "Neon napkins", "Bright pink and green.", call=linen
    )
    ideas.decline(emma, neon, "We only dye with plants: no neon, sorry!")
    uow.checkpoint()
    progress.step("@bruno takes ideas at any time; @emma declined one with a reason")

    if emu is None:
        return
    product = db.session.get(Product, adopted.product_id)
    _sell(emu, "chloe", [(product, 0, 2)], "delivered")
    earnings.release_due(as_of=utcnow() + timedelta(days=30))
    uow.checkpoint()
    paid = cocreation.pay_due_rewards()
    uow.checkpoint()
    progress.step(f"the adopted bowl sold twice; {paid} reward(s) paid from @ana's earnings")
    # As if the month were over (the release above already let the hold pass): the demo shows
    # a month shared; the rest of this month's sales are carried to the next distribution.
    result = cocreation.distribute_pool(
        shop["ana"], utcnow().strftime("%Y-%m"), as_of=utcnow() + timedelta(days=31)
    )
    uow.checkpoint()
    progress.step(
        f"@ana's collective shared {result.amount_minor / 100:.2f} among "
        f"{len(result.shares)} member(s)"
    )


def _shop_of(handle: str) -> Shop | None:
    return db.session.scalar(
        select(Shop).join(User, User.id == Shop.owner_id).where(User.handle == handle)
    )
