"""Property-based conformance of the JSON API to its own OpenAPI document.

Schemathesis reads /api/v1/openapi.json from the app (through WSGI, no server) and, for every
operation in it, generates requests from the documented parameters and bodies and sends them
to the app, over a database seeded with a small marketplace (tests.factories, and orders paid
through the app's Stripe emulator). Every answer must:

pass every check schemathesis has: no server error; a status code, content type, headers and
body the operation documents (no catch-all `default`: each error status it answers, as
application/problem+json); a 405 with `Allow` for a method the path does not take; invalid
data refused and valid data accepted; authentication enforced where the document requires it
(public operations declare it optional). Every phase runs: the document's examples, the
coverage phase's boundary cases, fuzzing, and stateful scenarios along the links.

Every operation runs twice:
- anonymously, with valid and invalid requests: public reads answer, the rest refuse;
- with a personal access token of a seller who owns a shop with products, picks, a
  collection, calls for ideas, orders sold and bought…, with valid requests: fuzzed ones whose
  parameters and fields that name objects are drawn from the generated values and the seeded
  world's ids, and the coverage phase's boundary cases aimed at the seeded objects, so the
  handlers run to their answers, not only to their 404s. Reads share the world; every
  operation that changes something starts from the world as built.

Nothing is excluded: the operations that move money through Stripe (checkout, cancelling and
refunding an order, paying an idea's reward) run against the app's own in-process emulator.
`test_token_runs_reached_the_handlers` names the few operations no generated request can bring
to a success, and why.

Bounded and deterministic for CI: derandomized Hypothesis, MAX_EXAMPLES fuzzed examples per
operation and run (plus the examples and coverage phases' own) and as many stateful scenarios,
no example database; about a minute. KINDRED_SCHEMATHESIS_EXAMPLES sets MAX_EXAMPLES for a
longer run by hand. A failure prints the request to reproduce it.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask, current_app
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from PIL import Image
from sqlalchemy import text

from app import create_app
from app.accounts import services as accounts
from app.database import write_intent
from app.extensions import db, limiter
from app.models import utcnow
from marketplace import cart as carts
from marketplace import orders as order_services
from marketplace import products as product_services
from marketplace.returns.models import ReturnStatus
from payouts.runtime import emulator
from social import follows, reactions
from social import ideas as idea_services
from social.messages import conversations as message_services
from social.models import Target
from tests.conftest import KindredClient, _base_config, _empty_tables
from tests.factories import (
    TWO_STEP_SECRET,
    CallFactory,
    CollectionFactory,
    CouponFactory,
    IdeaFactory,
    MemberFactory,
    PickFactory,
    PollFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
    return_of,
)
from tests.marketplace.shopping import buy, orders_of
from tests.payouts.money import onboard

SPEC_PATH = "/api/v1/openapi.json"
# Generated (fuzzed) examples per operation and run, and scenarios of the stateful run; the
# examples and coverage phases add their own deterministic cases on top. CI keeps it small;
# a longer run by hand sets KINDRED_SCHEMATHESIS_EXAMPLES (see the README).
MAX_EXAMPLES = int(os.environ.get("KINDRED_SCHEMATHESIS_EXAMPLES", "10"))


def _spec_app(root: Path) -> Flask:
    """An app only to read the OpenAPI document from (the tests call their own app)."""
    return create_app(_base_config("sqlite://", root))


def _config(*, mode: str, unexpected_methods: bool) -> schemathesis.Config:
    """Every phase (the document's examples, the coverage phase's boundary cases, fuzzing,
    and the stateful scenarios that follow the document's links) and every check."""
    coverage: dict[str, Any] = {"enabled": True}
    if not unexpected_methods:
        # One run sends the methods a path does not take (405 with `Allow`): once is enough.
        coverage["unexpected-methods"] = []
    return schemathesis.Config.from_dict(
        {
            "generation": {
                "mode": mode,
                "deterministic": True,
                # No made-up bearer tokens or session cookies: each run sends its own (or none).
                "with-security-parameters": False,
                # Text with a NUL byte is refused with a 400 (no database stores it), as the
                # document's description says.
                "allow-x00": False,
            },
            "checks": {
                "enabled": True,
                # A schema-valid request may still break a rule of the marketplace that no
                # schema states (the lowest price above the highest, more than the stock):
                # that is a 422 naming the field, as the document says.
                "positive_data_acceptance": {
                    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "422", "429"]
                },
            },
            "phases": {
                "examples": {"enabled": True},
                "coverage": coverage,
                "fuzzing": {"enabled": True},
                "stateful": {"enabled": True, "max-steps": 6},
            },
        }
    )


with tempfile.TemporaryDirectory(prefix="kindred-openapi-") as _root:
    _spec = _spec_app(Path(_root))
    # Anonymously, valid and invalid requests alike must be refused cleanly (401, or 400
    # without the CSRF token a session would need) or, for public reads, answered; every
    # operation that changes something stops at its refusal, so boundary cases would only
    # cost time there.
    anonymous_schema = schemathesis.openapi.from_wsgi(
        SPEC_PATH, _spec, config=_config(mode="all", unexpected_methods=True)
    )
    # With the token, valid requests (invalid ones stop at marshmallow's 422, which the
    # anonymous run's public operations show to conform): fuzzed ones that name the seeded
    # objects, so the handlers run to their answers, and the coverage phase's boundary cases.
    token_schema = schemathesis.openapi.from_wsgi(
        SPEC_PATH, _spec, config=_config(mode="positive", unexpected_methods=False)
    )


# --- the seeded world -----------------------------------------------------------------------


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 90, 40)).save(out, "PNG")
    return out.getvalue()


@dataclass
class World:
    token: str
    # Parameter name (in paths, queries and bodies) -> values that name seeded objects: the
    # owner's first, then (where there is one) the neighbour's or one the owner has from them.
    ids: dict[str, list[Any]] = field(default_factory=dict)


def build_world() -> World:
    """The token's owner, a seller, with one of most things; a neighbour with a shop of theirs;
    orders the owner sold and bought, paid through the app's Stripe emulator."""
    # Two-step sign-in on, so the token may carry the payouts scope (payout links).
    owner = MemberFactory(two_step_secret=TWO_STEP_SECRET, two_step_enabled_at=utcnow())
    neighbour = MemberFactory()
    shop = ShopFactory(owner=owner)
    their_shop = ShopFactory(owner=neighbour)
    product = ProductFactory(
        shop=shop,
        option1_name="Size",
        variants=[
            product_services.VariantInput(price_minor=2500, stock=5, option1="S"),
            product_services.VariantInput(price_minor=2700, stock=5, option1="M"),
        ],
    )
    product_services.add_images(owner, product, [product_services.ImageUpload(_png(), "A bowl")])
    draft = ProductFactory(shop=shop, status="draft")
    theirs = ProductFactory(shop=their_shop, stock=10)
    their_other = ProductFactory(shop=their_shop)
    ids = _orders(owner, product, theirs)
    pick = PickFactory(author=owner, product=theirs)
    their_pick = PickFactory(author=neighbour, product=product)
    collection = CollectionFactory(owner=owner, products=[product, theirs])
    their_comment = reactions.add_comment(neighbour, Target.PICK, pick.id, "Lovely.")
    comment = reactions.add_comment(owner, Target.PICK, their_pick.id, "Thank you!")
    follows.follow(owner, neighbour)
    line = carts.add(owner, theirs.variants[0].id, 1)
    # A coupon of the owner's shop, and one of the neighbour's (whose item is in her cart) by
    # the code the document's example shows.
    coupon = CouponFactory(shop_id=shop.id, code="SPRING", max_uses=5)
    CouponFactory(shop_id=their_shop.id, code="WELCOME10")
    call = CallFactory(shop=shop)
    pending_idea = IdeaFactory(call=call, author=neighbour)
    rewarded_idea = IdeaFactory(call=call, author=neighbour)
    idea_services.shortlist(owner, rewarded_idea)  # its shortlist reward is due, by the owner
    their_call = CallFactory(shop=their_shop)
    own_idea = IdeaFactory(call=their_call, author=owner)
    votable_idea = IdeaFactory(call=their_call, author=MemberFactory())
    own_poll, their_poll = PollFactory(shop=shop), PollFactory(shop=their_shop)
    # The owner asked the neighbour's shop a question and was answered.
    talk, _first = message_services.start(owner, their_shop, message_services.Draft("Hello"))
    answer = message_services.send(neighbour, talk, message_services.Draft("Hi there"))
    _token, secret = accounts.create_token(owner, "schemathesis", ["read", "write", "payouts"])
    onboard(owner, emulator())  # the owner's payout account, for the Express dashboard link
    spare_token, _spare = accounts.create_token(owner, "spare")  # to revoke, not the one used
    db.session.commit()
    rewards = idea_services.rewards(shop_id=shop.id)
    ids.update(
        {
            "handle": [owner.handle, neighbour.handle],
            "shop_id": [shop.id, their_shop.id],
            "product_id": [product.id, their_other.id, theirs.id, draft.id],
            "variant_id": [product.variants[0].id, theirs.variants[0].id, product.variants[1].id],
            "image_id": [image.id for image in product.images],
            "pick_id": [pick.id, their_pick.id],
            "collection_id": [collection.id],
            "comment_id": [comment.id, their_comment.id],
            "parent_id": [comment.id, their_comment.id],
            "line_id": [line.id],
            "call_id": [call.id, their_call.id],
            "idea_id": [pending_idea.id, own_idea.id, votable_idea.id, rewarded_idea.id],
            "reward_id": [reward.id for reward in rewards],
            # The neighbour's poll first: the owner votes in it (not in her own shop's).
            "poll_id": [their_poll.id, own_poll.id],
            "option_id": [their_poll.options[0].id, own_poll.options[0].id],
            "token_id": [spare_token.id],
            "coupon_id": [coupon.id],
            "conversation_id": [talk.id],
            "message_id": [answer.id],
            "target_id": [pick.id, collection.id, pending_idea.id, product.id, comment.id],
        }
    )
    return World(token=secret, ids=ids)


def _orders(owner: Any, product: Any, theirs: Any) -> dict[str, list[Any]]:
    """Orders the owner sold (one paid, one shipped) and bought (one shipped, one delivered)."""
    client = current_app.test_client()
    bought = orders_of(buy(client, owner, theirs, ProductFactory()))
    sold = [orders_of(buy(client, UserFactory(), product))[0] for _ in range(2)]
    for order in (*bought, sold[1]):
        order_services.mark_shipped(order.shop.owner, order.id, "La Poste", "6A123")
    order_services.mark_delivered(bought[1].shop.owner, bought[1].id)
    # Returns: the owner's as a buyer (asked; refused) and of her shop (asked; accepted), on
    # orders other than the delivered one she can still ask a return of.
    returns = [
        return_of(bought[0]),
        return_of(sold[1]),
        return_of(bought[0], ReturnStatus.REFUSED),
        return_of(sold[1], ReturnStatus.ACCEPTED),
    ]
    db.session.commit()
    orders = [sold[0], bought[1], sold[1], bought[0]]
    return {
        "return_id": [found.id for found in returns],
        "order_id": [order.id for order in orders],
        "order_line_id": [order.lines[0].id for order in orders],
        "public_id": [bought[0].checkout.public_id],
    }


# The seeded world of the running test, for the hook below: cases are drawn after the
# fixtures are set up, and the hook runs at every draw.
_CURRENT: dict[str, World] = {}


@contextmanager
def _current(world: World) -> Iterator[World]:
    _CURRENT["world"] = world
    try:
        yield world
    finally:
        _CURRENT.clear()


def _naming_seeded_objects(context: Any, values: Any) -> Any:
    """Path parameters, query and body fields that name objects (`product_id`, `handle`…,
    also in a body's nested lists): the generated value, or one of the seeded world's, so
    handlers get past their 404s."""
    world = _CURRENT.get("world")
    return _named(values, world) if world is not None else st.just(values)


def _named(value: Any, world: World, name: str | None = None) -> Any:
    if isinstance(value, dict):
        return st.fixed_dictionaries({key: _named(v, world, key) for key, v in value.items()})
    if isinstance(value, list):
        return st.tuples(*(_named(item, world, name) for item in value)).map(list)
    real = world.ids.get(name or "")
    if real and isinstance(value, int | str) and not isinstance(value, bool):
        return st.sampled_from([value, *real])
    return st.just(value)


for _schema in (anonymous_schema, token_schema):
    for _hook in ("flatmap_path_parameters", "flatmap_query", "flatmap_body"):
        _schema.hook(_hook)(_naming_seeded_objects)


@dataclass
class Seeded:
    app: Flask
    world: World
    rows: dict[str, list[dict[str, Any]]]  # every table's rows once the world was built

    def restore(self) -> None:
        """Back to the world as built: tables emptied and refilled (in dependency order).
        The search index is no model's table and stays as it is: no write operation searches,
        and those that change a product rewrite its own entry."""
        db.session.remove()
        _empty_tables()
        with db.engine.begin() as connection:
            for table in db.metadata.sorted_tables:
                if self.rows[table.name]:
                    connection.execute(table.insert(), self.rows[table.name])
            if connection.dialect.name == "postgresql":  # new ids go on after the restored
                for table in db.metadata.sorted_tables:
                    restored_ids = [row.get("id") for row in self.rows[table.name]]
                    if restored_ids and all(isinstance(i, int) for i in restored_ids):
                        connection.execute(
                            text("SELECT setval(pg_get_serial_sequence(:table, 'id'), :last)"),
                            {"table": f'"{table.name}"', "last": max(restored_ids)},
                        )
        limiter.reset()


@pytest.fixture(scope="module")
def seeded(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """One app for the whole file, and its world built once (orders through the app's own
    Stripe emulator, pictures in its upload folder); operations that change things get it
    restored first. Building it per operation would double the file's time."""
    app = create_app(_base_config(database_url, tmp_path_factory.mktemp("api-schema")))
    app.test_client_class = KindredClient
    limiter.reset()
    token = write_intent.set(False)
    with app.app_context():
        try:
            world = build_world()
            db.session.commit()
            with db.engine.connect() as connection:
                rows = {
                    table.name: [dict(row._mapping) for row in connection.execute(table.select())]
                    for table in db.metadata.sorted_tables
                }
            with _current(world):
                yield Seeded(app, world, rows)
        finally:
            db.session.remove()
            write_intent.reset(token)
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def restored(seeded: Seeded) -> Seeded:
    """The world as built, for an operation that may change it."""
    seeded.restore()
    return seeded


def _aim_at_seeded_objects(case: Any, world: World) -> None:
    """The coverage phase varies one parameter at a time and fills the others with any valid
    value, so its cases would mostly meet a 404: point the others that name objects at the
    world's, all the owner's or all the neighbour's side (picked from the case itself, so the
    same case always gets the same). The examples phase sends the document's examples, whose
    ids name no seeded object: point them all at the owner's (an example shows a person using
    their own things, as a refund of an order their shop sold)."""
    meta = case.meta
    if meta is None or meta.phase.name not in ("coverage", "examples"):
        return
    if meta.phase.name == "examples":
        varied: tuple[str, str] | None = None
        side = 0
    else:
        varied = (meta.phase.data.parameter_location, meta.phase.data.parameter)
        side = zlib.crc32(f"{case.operation.label} {case.body!r} {case.query!r}".encode()) % 2

    def aim(value: Any, name: str | None) -> Any:
        if isinstance(value, dict):
            return {key: aim(v, key) for key, v in value.items()}
        if isinstance(value, list):
            return [aim(item, name) for item in value]
        real = world.ids.get(name or "")
        if real and isinstance(value, int | str) and not isinstance(value, bool):
            return real[min(side, len(real) - 1)]
        return value

    for location, attribute in (("path", "path_parameters"), ("query", "query"), ("body", "body")):
        values = getattr(case, attribute)
        if isinstance(values, dict):
            aimed = {
                name: value if (location, name) == varied else aim(value, name)
                for name, value in values.items()
            }
            if aimed != values:
                setattr(case, attribute, aimed)


# Operations run with the token, and those that answered a success at least once.
TOKEN_RAN: set[str] = set()
TOKEN_SUCCEEDED: set[str] = set()
# Operations the token runs cannot bring to a success, and why.
NO_SUCCESS_EXPECTED = {
    # One shop per person, and the token's owner has hers: 409.
    "POST /api/v1/shops",
    # The `images` files generated are random bytes, never a picture: 422.
    "POST /api/v1/products/{product_id}/images",
    # Each needs every id of the collection's products, once.
    "PUT /api/v1/collections/{collection_id}/order",
    # For moderators; the token's owner is none: 403.
    "GET /api/v1/admin/returns",
    "POST /api/v1/admin/returns/{return_id}/decide",
}


def _send(case: Any, app: Flask, world: World, *, token: bool) -> None:
    headers = None
    if token:
        _aim_at_seeded_objects(case, world)
        headers = {"Authorization": f"Bearer {world.token}"}
    response = case.call_and_validate(session=app.test_client(), app=app, headers=headers)
    if token:
        TOKEN_RAN.add(case.operation.label)
        if response.status_code < 300:
            TOKEN_SUCCEEDED.add(case.operation.label)


# --- the runs -------------------------------------------------------------------------------

HYPOTHESIS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    # An operation's examples share the world restored for it (a function-scoped fixture):
    # restoring it per example would make the file several times slower. Within an
    # operation, what an example changed is the state the next one meets, as for a client.
    # Generating the larger bodies (a product with its variants) may take longer than
    # Hypothesis likes on a busy machine: that is not a failure of the API.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class TestAnonymous:
    """Every operation without credentials: public reads answer, the rest refuse cleanly.
    Nothing anonymous changes anything, so they all meet the world as built."""

    @anonymous_schema.parametrize()
    @HYPOTHESIS
    def test_conforms(self, case: Any, seeded: Seeded) -> None:
        _send(case, seeded.app, seeded.world, token=False)


class TestTokenReads:
    """Every GET with the seller's token: reads change nothing, so no restoring either."""

    @token_schema.include(method="GET").parametrize()
    @HYPOTHESIS
    def test_conforms(self, case: Any, seeded: Seeded) -> None:
        _send(case, seeded.app, seeded.world, token=True)


@token_schema.exclude(method="GET").parametrize()
@HYPOTHESIS
def test_token_writes_conform(case: Any, restored: Seeded) -> None:
    """Every operation that changes something, with the seller's token, from the world as
    built (its examples then go on from what the previous ones changed)."""
    _send(case, restored.app, restored.world, token=True)


@token_schema.auth(refresh_interval=None)
class SellersToken:
    """The token runs' credentials, as schemathesis's own auth: so its authentication check
    knows them for the token they are, and probes each operation without them. (Cases are
    also drawn while collecting, before the world exists: they get the token when sent.)"""

    def get(self, case: Any, ctx: Any) -> str:
        world = _CURRENT.get("world")
        return world.token if world is not None else ""

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


class TokenScenarios(token_schema.as_state_machine()):  # type: ignore[misc]
    """The stateful phase: scenarios that chain operations along the document's links (an id
    one answer returns, used by the next call), with the seller's token, from the world as
    built."""

    def setup(self) -> None:
        _STATEFUL["seeded"].restore()

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        seeded = _STATEFUL["seeded"]
        return {"session": seeded.app.test_client(), "app": seeded.app}


_STATEFUL: dict[str, Seeded] = {}


def test_token_scenarios_conform(seeded: Seeded) -> None:
    _STATEFUL["seeded"] = seeded
    try:
        TokenScenarios.run(
            settings=settings(
                max_examples=MAX_EXAMPLES,
                stateful_step_count=6,
                derandomize=True,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
        )
    finally:
        _STATEFUL.clear()
        seeded.restore()


def test_token_runs_reached_the_handlers() -> None:
    """With the token, every operation that ran (in this session, above) answered a success at
    least once, so its success schema was checked too, not only its errors; this fails when
    the seeded world or the aiming at it stops reaching an operation's handler."""
    assert TOKEN_RAN - TOKEN_SUCCEEDED == NO_SUCCESS_EXPECTED & TOKEN_RAN


def test_openapi_document_builds_without_warnings() -> None:
    """apispec warns when two schemas resolve to one component name (the document would then
    describe one with the other's fields)."""
    with tempfile.TemporaryDirectory() as root, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _spec_app(Path(root))
    assert [str(warning.message) for warning in caught] == []
