"""factory-boy factories for every package's models."""

from __future__ import annotations

import factory
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.extensions import db

DEFAULT_PASSWORD = "correct horse battery"


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(BaseFactory):
    class Meta:
        model = User

    handle = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda o: f"{o.handle}@example.com")
    display_name = factory.Faker("name")
    bio = ""
    password_hash = factory.LazyFunction(lambda: hash_password(DEFAULT_PASSWORD))


# --- marketplace: shops and products ----------------------------------------------------------
# Products are made through the catalogue's services, so their derived values (lowest price,
# total stock, listed flag) and the search index are exactly what real use produces.

from marketplace import products as product_services  # noqa: E402
from marketplace.models import Product, Shop  # noqa: E402


class ShopFactory(BaseFactory):
    class Meta:
        model = Shop

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Shop {n}")
    slug = factory.Sequence(lambda n: f"shop-{n}")
    description = ""
    description_html = ""
    shipping_flat_minor = 500
    processing_days = 3
    curator_commission_bps = 1000
    status = "open"


class ProductFactory(factory.Factory):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    description = ""
    category = "home/ceramics"
    tags = ""
    condition = "new"
    status = "active"
    price_minor = 2500
    stock = 3
    option1_name = ""
    option2_name = ""
    # A list of VariantInput; by default one variant with price_minor and stock.
    variants = None

    @classmethod
    def _create(cls, model_class, shop, variants=None, price_minor=2500, stock=3, **kwargs):
        status = kwargs.pop("status")
        details = product_services.ProductDetails(**kwargs)
        product = product_services.create_product(
            shop.owner,
            shop,
            details,
            variants or [product_services.VariantInput(price_minor=price_minor, stock=stock)],
            status=status,
        )
        db.session.commit()
        return product


# --- social: follows, picks, collections ------------------------------------------------------
# Picks and collections are made through social's services, so their share links, feed events
# and counters are exactly what real use produces.

from social import posts as social_posts  # noqa: E402
from social.models import Collection, Follow, Pick  # noqa: E402


class FollowFactory(BaseFactory):
    class Meta:
        model = Follow

    follower = factory.SubFactory(UserFactory)
    followee = factory.SubFactory(UserFactory)


class PickFactory(factory.Factory):
    class Meta:
        model = Pick

    author = factory.SubFactory(UserFactory)
    product = factory.SubFactory(ProductFactory)
    note = "I use it every day."

    @classmethod
    def _create(cls, model_class, author, product, note=""):
        pick = social_posts.create_pick(author, product.id, note)
        db.session.commit()
        return pick


class CollectionFactory(factory.Factory):
    class Meta:
        model = Collection

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Collection {n}")
    description = ""
    is_public = True
    # Products to put in it, in order.
    products = factory.List([])

    @classmethod
    def _create(cls, model_class, owner, title, description="", is_public=True, products=()):
        collection = social_posts.create_collection(owner, title, description, is_public)
        for product in products:
            social_posts.add_item(owner, collection, product.id)
        db.session.commit()
        return collection


# --- co-creation: terms, calls, ideas -----------------------------------------------------------
# Ideas are made through social's services, so their promise (the terms they were submitted
# under), feed events and notifications are what real use produces.

from datetime import timedelta  # noqa: E402

from app.models import utcnow  # noqa: E402
from social import ideas as idea_services  # noqa: E402
from social.idea_models import Idea, IdeaCall  # noqa: E402


class MemberFactory(UserFactory):
    """A person whose account is old enough to vote for ideas."""

    created_at = factory.LazyFunction(lambda: utcnow() - timedelta(days=30))


class CallFactory(factory.Factory):
    class Meta:
        model = IdeaCall

    shop = factory.SubFactory(ShopFactory)
    title = factory.Sequence(lambda n: f"Call {n}")
    brief = "Tell us what to make next."
    shortlist_reward_minor = 500
    threshold_votes = 3
    threshold_reward_minor = 1500
    royalty_bps = 1000

    @classmethod
    def _create(cls, model_class, shop, title, brief, **promise):
        call = idea_services.open_call(
            shop.owner, shop, idea_services.CallInput(title=title, brief=brief, **promise)
        )
        db.session.commit()
        return call


class IdeaFactory(factory.Factory):
    class Meta:
        model = Idea

    call = factory.SubFactory(CallFactory)
    author = factory.SubFactory(MemberFactory)
    title = factory.Sequence(lambda n: f"Idea number {n}")
    description = "A speckled bowl, but deeper, for ramen."

    @classmethod
    def _create(cls, model_class, call, author, title, description):
        idea = idea_services.submit_idea(author, call.shop, title, description, call=call)
        db.session.commit()
        return idea


# --- accounts: two-step sign-in ----------------------------------------------------------------


TWO_STEP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # a fixed TOTP secret: tests compute codes


class TwoStepUserFactory(UserFactory):
    """A person with two-step sign-in on (its codes: pyotp.TOTP(TWO_STEP_SECRET).now())."""

    two_step_secret = TWO_STEP_SECRET
    two_step_enabled_at = factory.LazyFunction(utcnow)


# --- orders: reviews of delivered purchases -----------------------------------------------------
# The purchase is written as the rows a paid, delivered order leaves (paying through the emulator
# for every review would make page tests slow); the review itself goes through the service, with
# its rules (delivered, not one's own shop, 1 to 5 stars).

import secrets  # noqa: E402

from marketplace import orders as order_services  # noqa: E402
from marketplace.order_models import (  # noqa: E402
    Checkout,
    CheckoutLine,
    Order,
    OrderLine,
    OrderStatus,
    Review,
)


def delivered_line(product: Product, buyer: User) -> OrderLine:
    variant = product.variants[0]
    address = {"name": buyer.name, "line1": "1 rue", "city": "Lyon", "country": "FR"}
    checkout = Checkout(
        public_id=secrets.token_urlsafe(12),
        buyer_id=buyer.id,
        status="paid",
        fingerprint="test",
        currency="eur",
        subtotal_minor=variant.price_minor,
        shipping_minor=0,
        total_minor=variant.price_minor,
        shipping_address=address,
        expires_at=utcnow(),
    )
    checkout_line = CheckoutLine(
        checkout=checkout,
        product_id=product.id,
        variant_id=variant.id,
        shop_id=product.shop_id,
        title=product.title,
        unit_price_minor=variant.price_minor,
        quantity=1,
    )
    order = Order(
        reference=secrets.token_hex(6).upper(),
        checkout=checkout,
        shop_id=product.shop_id,
        buyer_id=buyer.id,
        status=OrderStatus.DELIVERED,
        currency="eur",
        subtotal_minor=variant.price_minor,
        shipping_minor=0,
        total_minor=variant.price_minor,
        shipping_address=address,
        delivered_at=utcnow(),
    )
    db.session.add_all([checkout, checkout_line, order])
    db.session.flush()
    line = OrderLine(
        order=order,
        checkout_line_id=checkout_line.id,
        product_id=product.id,
        variant_id=variant.id,
        title=product.title,
        unit_price_minor=variant.price_minor,
        quantity=1,
    )
    db.session.add(line)
    db.session.flush()
    return line


class ReviewFactory(factory.Factory):
    """A review of `product` by a buyer who received it; `created_at` moves it in time."""

    class Meta:
        model = Review

    product = factory.SubFactory(ProductFactory)
    buyer = factory.SubFactory(UserFactory)
    rating = 5
    body = "Lovely."
    created_at = None

    @classmethod
    def _create(cls, model_class, product, buyer, rating, body, created_at=None):
        line = delivered_line(product, buyer)
        review = order_services.review(buyer, line.id, rating, body)
        if created_at is not None:
            review.created_at = review.updated_at = created_at
        db.session.commit()
        return review


# --- returns: a return in a given state, as the rows its steps leave ------------------------------
# For worlds that need one return of each kind on few orders (the access matrix, the API's
# conformance run): written directly, so two returns may name the same line there.


from marketplace.returns.models import (  # noqa: E402
    ReturnEvent,
    ReturnLine,
    ReturnRequest,
    ReturnStatus,
)


def return_of(
    order: Order, status: str = ReturnStatus.REQUESTED, quantity: int = 1
) -> ReturnRequest:
    found = ReturnRequest(
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=order.buyer_id,
        status=status,
        reason="damaged",
        reason_text="The rim is chipped.",
        instructions="Post it back." if status == ReturnStatus.ACCEPTED else "",
        refusal_reason="Used." if status in (ReturnStatus.REFUSED, ReturnStatus.ESCALATED) else "",
        due_at=utcnow() + timedelta(days=3) if status in ReturnStatus.FOR_SELLER else None,
    )
    found.lines = [ReturnLine(order_line_id=order.lines[0].id, quantity=quantity)]
    found.events = [ReturnEvent(kind="requested", actor_id=order.buyer_id, details={})]
    if status == ReturnStatus.ESCALATED:
        found.events.append(ReturnEvent(kind="escalated", actor_id=order.buyer_id, details={}))
    db.session.add(found)
    db.session.flush()
    return found


# --- marketplace: a shop's deals ------------------------------------------------------------

from marketplace.deals.models import Coupon, ShopBundle  # noqa: E402


class ShopBundleFactory(BaseFactory):
    class Meta:
        model = ShopBundle

    shop_id = factory.LazyFunction(lambda: ShopFactory().id)
    min_items = 2
    percent_bps = 1500


class CouponFactory(BaseFactory):
    """A percentage coupon by default; `kind="amount", percent_bps=None, amount_minor=…` for
    a fixed one."""

    class Meta:
        model = Coupon

    shop_id = factory.LazyFunction(lambda: ShopFactory().id)
    code = factory.Sequence(lambda n: f"CODE{n}")
    kind = "percent"
    percent_bps = 1000
    amount_minor = None
    min_order_minor = None
    expires_at = None
    max_uses = None
    once_per_buyer = False
    status = "active"


# --- social: polls -------------------------------------------------------------------------------

import io as _io  # noqa: E402

from PIL import Image as _Image  # noqa: E402

from social.polls import services as poll_services  # noqa: E402
from social.polls.models import Poll  # noqa: E402


def picture_bytes(colour: tuple[int, int, int] = (180, 120, 60)) -> bytes:
    """A small PNG, as a person would upload a picture."""
    out = _io.BytesIO()
    _Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


class PollFactory(factory.Factory):
    """An open poll of a shop (through the service, as the shop would open it)."""

    class Meta:
        model = Poll

    shop = factory.SubFactory(ShopFactory)
    question = factory.Sequence(lambda n: f"Which glaze, round {n}?")
    labels = ("Sage", "Ochre", "Cobalt")
    days = 3
    results_shown = "live"
    idea_id = None
    call_id = None

    @classmethod
    def _create(cls, model_class, shop, question, labels, days, results_shown, idea_id, call_id):
        now = utcnow()
        poll = poll_services.open_poll(
            shop.owner,
            shop,
            poll_services.PollInput(
                question=question,
                opens_at=now,
                closes_at=now + timedelta(days=days),
                results_shown=results_shown,
                idea_id=idea_id,
                call_id=call_id,
                options=[
                    poll_services.OptionInput(label, picture_bytes((40 * n, 90, 120)))
                    for n, label in enumerate(labels)
                ],
            ),
        )
        db.session.commit()
        return poll


# --- messages: conversations between a buyer and a shop -----------------------------------------
# Conversations are started through the messages service, so their unread counts, read state,
# notification and pending e-mail are what real use produces.

from social.messages import conversations as message_services  # noqa: E402
from social.messages.models import Conversation  # noqa: E402


class ConversationFactory(factory.Factory):
    """A buyer's conversation with a shop (about `product`, if given), with its first message."""

    class Meta:
        model = Conversation

    buyer = factory.SubFactory(UserFactory)
    shop = factory.SubFactory(ShopFactory)
    product = None
    body = "Hello, is this still available?"

    @classmethod
    def _create(cls, model_class, buyer, shop, product=None, body=""):
        conversation, _message = message_services.start(
            buyer,
            shop,
            message_services.Draft(body),
            product_id=product.id if product is not None else None,
        )
        db.session.commit()
        return conversation
