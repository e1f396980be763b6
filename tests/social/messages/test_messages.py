"""Messages between a buyer and a shop: who sees a conversation, blocks, reading and the
unread badge, pictures, the batched e-mail (with the clock moved), reports, pages and API."""

from __future__ import annotations

import html
import io
import re
from datetime import timedelta

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select

from app import jobs
from app.extensions import db
from app.models import utcnow
from app.rules import Forbidden, NotFound, RuleViolation
from social import moderation
from social.messages import blocks, conversations, digests, reporting
from social.messages.conversations import Box, Draft
from social.messages.models import Conversation, Message, MessagePicture
from social.models import Notification, NotificationKind, Report, SocialSettings, Suspension
from tests.conftest import login
from tests.factories import ConversationFactory, ProductFactory, ShopFactory, UserFactory
from tests.marketplace.helpers import bearer, make_token
from tests.social.helpers import as_user, page_text


def png(size=(60, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 90, 40)).save(out, "PNG")
    return out.getvalue()


def badge(client) -> str | None:
    header = page_text(client.get("/categories")).split("<main")[0]
    found = re.search(
        r'href="/messages"[^>]*>Messages <span class="badge"[^>]*>(\d+)</span>', header
    )
    return found.group(1) if found else None


def fresh(conversation: Conversation) -> Conversation:
    db.session.commit()
    db.session.refresh(conversation)
    return conversation


# --- services --------------------------------------------------------------------------------


def test_a_buyer_asks_about_a_product_and_the_shop_answers(app):
    shop = ShopFactory(name="Ana's studio")
    bowl = ProductFactory(shop=shop, title="Speckled bowl")
    buyer = UserFactory()
    conversation, first = conversations.start(
        buyer, shop, Draft("Is it <b>oven-safe</b>? <script>alert(1)</script>"), product_id=bowl.id
    )
    db.session.commit()
    assert conversation.subject == "Speckled bowl" and conversation.product_id == bowl.id
    assert first.body == "Is it oven-safe?"  # markup is dropped, text kept
    assert (conversation.seller_unread, conversation.buyer_unread) == (1, 0)
    assert conversations.unread_count(shop.owner_id) == 1
    assert conversations.unread_count(buyer.id) == 0
    seen_by_seller = conversations.conversation_for(shop.owner, conversation.id)
    conversations.send(shop.owner, seen_by_seller, Draft("Yes, up to 250 °C."))
    db.session.commit()
    fresh(conversation)
    # Answering is reading: the shop has nothing unread, the buyer has one.
    assert (conversation.seller_unread, conversation.buyer_unread) == (0, 1)
    assert conversation.seller_seen_id is not None and conversation.seller_seen_id > first.id
    # A second question about the same product goes on in the same conversation.
    again, _m = conversations.start(buyer, shop, Draft("Thanks!"), product_id=bowl.id)
    assert again.id == conversation.id


def test_nobody_else_reads_a_conversation_not_even_a_moderator(app):
    conversation = ConversationFactory()
    for outsider in (UserFactory(), UserFactory(is_admin=True)):
        with pytest.raises(NotFound):
            conversations.conversation_for(outsider, conversation.id)
        with pytest.raises(NotFound):
            conversations.send(outsider, conversation, Draft("Hi"))


def test_a_person_cannot_message_their_own_shop_nor_a_product_of_another_shop(app):
    shop = ShopFactory()
    with pytest.raises(Forbidden):
        conversations.start(shop.owner, shop, Draft("Me?"))
    elsewhere = ProductFactory()
    with pytest.raises(NotFound):
        conversations.start(UserFactory(), shop, Draft("Hi"), product_id=elsewhere.id)
    with pytest.raises(RuleViolation):
        conversations.start(UserFactory(), shop, Draft("   "))
    with pytest.raises(RuleViolation):
        conversations.start(UserFactory(), shop, Draft("x" * 2001))


def test_a_block_stops_both_sides_with_a_neutral_word_for_the_blocked(app):
    conversation = ConversationFactory()
    buyer, seller = conversation.buyer, conversation.shop.owner
    blocks.block(seller, buyer)
    db.session.commit()
    with pytest.raises(Forbidden) as refused:
        conversations.send(buyer, conversation, Draft("Hello?"))
    assert refused.value.message == "You can't send messages in this conversation."
    with pytest.raises(Forbidden) as own:
        conversations.send(seller, conversation, Draft("Hello?"))
    assert "Unblock" in own.value.message
    with pytest.raises(Forbidden):
        conversations.start(buyer, conversation.shop, Draft("A new one"))
    blocks.block(seller, buyer)  # twice is once
    blocks.unblock(seller, buyer)
    db.session.commit()
    conversations.send(buyer, conversation, Draft("Hello again"))


def test_a_suspended_person_cannot_send(app):
    conversation = ConversationFactory()
    db.session.add(Suspension(user_id=conversation.buyer_id, reason="spam"))
    db.session.commit()
    with pytest.raises(Forbidden):
        conversations.send(conversation.buyer, conversation, Draft("Hi"))


def test_reading_marks_read_up_to_what_was_shown_and_tells_the_other_side(app):
    conversation = ConversationFactory()
    seller = conversation.shop.owner
    view = conversations.conversation_for(seller, conversation.id)
    first = db.session.scalar(select(Message.id).where(Message.conversation_id == conversation.id))
    conversations.send(conversation.buyer, conversation, Draft("And another thing"))
    db.session.commit()
    conversations.mark_read(seller, view, through=first)
    db.session.commit()
    assert fresh(conversation).seller_unread == 1  # the second came after what was shown
    assert conversation.seller_seen_id == first
    conversations.mark_read(seller, view)
    db.session.commit()
    assert fresh(conversation).seller_unread == 0
    # Its notification (one for the conversation, not one per message) is read too.
    told = list(
        db.session.scalars(
            select(Notification).where(
                Notification.recipient_id == seller.id,
                Notification.kind == NotificationKind.MESSAGE,
            )
        )
    )
    assert len(told) == 1 and told[0].read_at is not None


def test_pictures_are_checked_reencoded_and_limited(app):
    conversation = ConversationFactory()
    message = conversations.send(conversation.buyer, conversation, Draft("", [png()]))
    db.session.commit()
    (picture,) = message.pictures
    assert picture.image_key.endswith(".webp") and (picture.width, picture.height) == (60, 40)
    assert conversation.last_preview == "📷"
    with pytest.raises(RuleViolation):
        conversations.send(conversation.buyer, conversation, Draft("", [b"not an image"]))
    with pytest.raises(RuleViolation):
        conversations.send(conversation.buyer, conversation, Draft("", [png()] * 5))


def test_the_inbox_filters_searches_and_sorts(app):
    buyer = UserFactory()
    vase_shop = ShopFactory(name="Vases and more")
    mug_shop = ShopFactory(name="Mug house")
    vase = ConversationFactory(buyer=buyer, shop=vase_shop, body="About the tall vase")
    mug = ConversationFactory(buyer=buyer, shop=mug_shop, body="About the mug")
    conversations.send(mug_shop.owner, mug, Draft("It holds 300 ml"))
    db.session.commit()
    mine = conversations.inbox(buyer, Box.BUYING)
    assert [c.id for c in mine.items] == [mug.id, vase.id]  # the latest first
    unread = conversations.inbox(buyer, Box.BUYING, unread_only=True)
    assert [c.id for c in unread.items] == [mug.id]
    assert [c.id for c in conversations.inbox(buyer, query="300 ML").items] == [mug.id]
    assert [c.id for c in conversations.inbox(buyer, query="vases").items] == [vase.id]
    assert conversations.inbox(buyer, query="100%").items == []
    selling = conversations.inbox(vase_shop.owner, Box.SELLING)
    assert [c.id for c in selling.items] == [vase.id]
    assert conversations.inbox(UserFactory(), Box.SELLING).items == []


# --- the batched e-mail ----------------------------------------------------------------------


def mails_to(outbox, person):
    return [m for m in outbox() if m["To"] == person.email]


def test_new_messages_are_emailed_once_per_window_listing_what_arrived(app, outbox):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        conversation = ConversationFactory(body="First question")
        seller = conversation.shop.owner
    with time_machine.travel(start + timedelta(minutes=5), tick=False):
        conversations.send(conversation.buyer, conversation, Draft("Second question"))
        db.session.commit()
        jobs.run(conversations.DIGEST_JOB)
    assert mails_to(outbox, seller) == []  # the window has not passed
    with time_machine.travel(start + timedelta(minutes=16), tick=False):
        jobs.run(conversations.DIGEST_JOB)
        jobs.run(conversations.DIGEST_JOB)  # a second run sends nothing more
    (mail,) = mails_to(outbox, seller)
    assert mail["Subject"] == f"{conversation.buyer.name} sent you 2 messages on Kindred"
    body = mail.get_content()
    assert "First question" in body and "Second question" in body
    assert f"/messages/{conversation.id}" in body
    with time_machine.travel(start + timedelta(minutes=17), tick=False):
        conversations.send(conversation.buyer, conversation, Draft("Third"))
        db.session.commit()
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        jobs.run(conversations.DIGEST_JOB)
    assert len(mails_to(outbox, seller)) == 1  # at most one per window
    with time_machine.travel(start + timedelta(minutes=33), tick=False):
        jobs.run(conversations.DIGEST_JOB)
    assert len(mails_to(outbox, seller)) == 2
    assert "Third" in mails_to(outbox, seller)[-1].get_content()
    assert "First question" not in mails_to(outbox, seller)[-1].get_content()


def test_what_was_read_on_the_site_or_is_turned_off_is_not_emailed(app, outbox):
    start = utcnow()
    with time_machine.travel(start, tick=False):
        conversation = ConversationFactory()
        seller = conversation.shop.owner
        conversations.mark_read(seller, conversations.conversation_for(seller, conversation.id))
        quiet = ConversationFactory()
        db.session.add(SocialSettings(user_id=quiet.shop.owner_id, email_messages=False))
        db.session.commit()
    with time_machine.travel(start + timedelta(minutes=20), tick=False):
        assert digests.send_due() == 0
        db.session.commit()
    assert mails_to(outbox, seller) == [] and mails_to(outbox, quiet.shop.owner) == []


def test_the_window_is_a_setting(app, outbox):
    app.config["MESSAGE_EMAIL_WINDOW_MINUTES"] = 2
    start = utcnow()
    with time_machine.travel(start, tick=False):
        conversation = ConversationFactory()
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        jobs.run(conversations.DIGEST_JOB)
    assert len(mails_to(outbox, conversation.shop.owner)) == 1


# --- reports and moderation ------------------------------------------------------------------


def test_a_reported_message_is_seen_by_moderators_with_its_context_only(app):
    conversation = ConversationFactory(body="one")
    seller, buyer = conversation.shop.owner, conversation.buyer
    for text in ("two", "three", "pay me by bank transfer", "five", "six", "seven"):
        sender = seller if text.startswith("pay") else buyer
        conversations.send(sender, conversation, Draft(text))
    db.session.commit()
    bad = db.session.scalar(select(Message).where(Message.body.like("pay%")))
    with pytest.raises(Forbidden):  # one's own message
        reporting.report(seller, conversation, bad.id, "spam")
    with pytest.raises(NotFound):  # not a side: nothing there
        moderation.report(UserFactory(), "message", bad.id, "spam")
    found = reporting.report(buyer, conversation, bad.id, "spam", "Off-site payment")
    db.session.commit()
    admin = UserFactory(is_admin=True)
    (entry,) = moderation.open_reports(admin)
    assert entry.label == "pay me by bank transfer" and entry.author.id == seller.id
    context = reporting.reported_context(admin, found.id)
    assert [m.body for m in context.before] == ["two", "three"]
    assert [m.body for m in context.after] == ["five", "six"]
    with pytest.raises(Forbidden):
        reporting.reported_context(buyer, found.id)
    moderation.hide(admin, "message", bad.id)
    db.session.commit()
    assert db.session.get(Message, bad.id).hidden_at is not None
    assert db.session.get(Report, found.id).resolution == "hidden"


# --- pages -----------------------------------------------------------------------------------


def test_from_the_product_page_to_an_answer_and_the_badge(app, client, outbox):
    shop = ShopFactory(name="Ana's studio")
    bowl = ProductFactory(shop=shop, title="Speckled bowl")
    buyer = UserFactory()
    as_user(client, buyer)
    product_page = page_text(client.get(f"/products/{bowl.id}"))
    link = f'href="/shops/{shop.slug}/message?product_id={bowl.id}"'
    assert link in product_page and "Ask a question" in product_page
    form = client.get(f"/shops/{shop.slug}/message?product_id={bowl.id}")
    assert form.status_code == 200 and "Speckled bowl" in page_text(form)
    sent = client.post_form(
        f"/shops/{shop.slug}/message",
        {"product_id": str(bowl.id), "body": "Is it <i>oven</i>-safe? https://evil.example"},
    )
    assert sent.status_code == 302
    conversation = db.session.scalar(select(Conversation))
    page = page_text(client.get(sent.headers["Location"]))
    assert "Is it oven-safe? https://evil.example" in page
    assert '<a href="https://evil.example' not in page  # links stay text
    # Going to the product's form again leads back to the conversation.
    again = client.get(f"/shops/{shop.slug}/message?product_id={bowl.id}")
    assert again.status_code == 302 and f"/messages/{conversation.id}" in again.headers["Location"]
    login(client, shop.owner)
    assert badge(client) == "1"
    assert "Speckled bowl" in page_text(client.get("/messages/selling"))
    reply = client.post_form(f"/messages/{conversation.id}", {"body": "Yes, it is."})
    assert reply.status_code == 302
    assert badge(client) is None
    login(client, buyer)
    assert badge(client) == "1"
    page = page_text(client.get(f"/messages/{conversation.id}"))
    assert "Yes, it is." in page
    assert badge(client) is None
    login(client, shop.owner)
    assert "Seen" in page_text(client.get(f"/messages/{conversation.id}"))


def test_the_pages_refuse_what_is_not_allowed(app, client):
    conversation = ConversationFactory()
    shop = conversation.shop
    as_user(client, shop.owner)
    own = client.get(f"/shops/{shop.slug}/message")
    assert own.status_code == 403 and "your shop" in page_text(own)
    login(client, UserFactory())
    assert client.get(f"/messages/{conversation.id}").status_code == 404
    assert client.post_form(f"/messages/{conversation.id}", {"body": "x"}).status_code == 404
    login(client, conversation.buyer)
    empty = client.post_form(f"/messages/{conversation.id}", {"body": ""})
    assert empty.status_code == 422 and "Write a message" in page_text(empty)
    login(client, shop.owner)
    client.post_form(f"/messages/{conversation.id}/block")
    login(client, conversation.buyer)
    refused = client.post_form(f"/messages/{conversation.id}", {"body": "Hello?"})
    assert refused.status_code == 422
    assert "You can't send messages in this conversation." in html.unescape(page_text(refused))
    blocked_start = client.get(f"/shops/{shop.slug}/message")
    assert blocked_start.status_code == 403


def test_a_picture_is_served_to_the_two_sides_only(app, client):
    conversation = ConversationFactory()
    conversations.send(conversation.buyer, conversation, Draft("", [png()]))
    db.session.commit()
    picture = db.session.scalar(select(MessagePicture))
    url = f"/messages/{conversation.id}/pictures/{picture.id}/thumb"
    as_user(client, conversation.shop.owner)
    shown = client.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/webp"
    assert "private" in shown.headers["Cache-Control"]
    login(client, UserFactory(is_admin=True))
    assert client.get(url).status_code == 404


def test_empty_inboxes_say_what_to_do(app, client):
    as_user(client, UserFactory())
    assert "No messages yet" in page_text(client.get("/messages"))
    assert "You have no shop yet" in page_text(client.get("/messages/selling"))


def test_new_conversations_are_rate_limited(app, client):
    app.config["RATELIMIT_NEW_CONVERSATIONS"] = "2 per minute"
    as_user(client, UserFactory())
    shops = [ShopFactory() for _ in range(3)]
    answers = [
        client.post_form(f"/shops/{s.slug}/message", {"body": "Hi"}).status_code for s in shops
    ]
    assert answers == [302, 302, 429]
    with time_machine.travel(utcnow() + timedelta(seconds=61), tick=False):
        login(client, UserFactory())
        assert (
            client.post_form(f"/shops/{shops[2].slug}/message", {"body": "Hi"}).status_code == 302
        )


# --- the API ---------------------------------------------------------------------------------


def test_the_api_starts_reads_sends_blocks_and_reports(app, client):
    shop = ShopFactory()
    bowl = ProductFactory(shop=shop)
    buyer = UserFactory()
    token = make_token(client, buyer)
    seller_token = make_token(app.test_client(), shop.owner)
    started = client.post(
        "/api/v1/conversations",
        json={"shop_id": shop.id, "product_id": bowl.id, "body": "Hello"},
        headers=bearer(token),
    )
    assert started.status_code == 201, started.get_json()
    body = started.get_json()
    cid = body["id"]
    assert body["side"] == "buyer" and body["messages"][0]["body"] == "Hello"
    listed = client.get(
        "/api/v1/conversations?box=selling", headers=bearer(seller_token)
    ).get_json()
    assert [c["id"] for c in listed["items"]] == [cid] and listed["unread_conversations"] == 1
    assert listed["items"][0]["unread"] == 1
    reply = client.post(
        f"/api/v1/conversations/{cid}/messages",
        data={"body": "Hi!", "pictures": (io.BytesIO(png()), "p.png")},
        headers=bearer(seller_token),
        content_type="multipart/form-data",
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["pictures"][0]["thumbnail_url"].endswith("/thumb")
    read = client.get(f"/api/v1/conversations/{cid}", headers=bearer(token)).get_json()
    assert [m["body"] for m in read["messages"]] == ["Hello", "Hi!"]
    after = client.get("/api/v1/conversations", headers=bearer(token)).get_json()
    assert after["unread_conversations"] == 0
    message_id = read["messages"][1]["id"]
    reported = client.post(
        f"/api/v1/conversations/{cid}/messages/{message_id}/report",
        json={"reason": "spam"},
        headers=bearer(token),
    )
    assert reported.status_code == 201 and reported.get_json()["target_type"] == "message"
    own = client.post(
        f"/api/v1/conversations/{cid}/messages/{read['messages'][0]['id']}/report",
        json={"reason": "spam"},
        headers=bearer(token),
    )
    assert own.status_code == 403 and own.mimetype == "application/problem+json"
    blocked = client.put(f"/api/v1/conversations/{cid}/block", headers=bearer(seller_token))
    assert blocked.get_json() == {"blocked": True}
    refused = client.post(
        f"/api/v1/conversations/{cid}/messages", data={"body": "?"}, headers=bearer(token)
    )
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    stranger = make_token(app.test_client(), UserFactory())
    assert client.get(f"/api/v1/conversations/{cid}", headers=bearer(stranger)).status_code == 404
    bad = client.post(
        "/api/v1/conversations", json={"shop_id": shop.id, "body": ""}, headers=bearer(token)
    )
    assert bad.status_code == 422 and "body" in bad.get_json()["errors"]


# --- what it costs ---------------------------------------------------------------------------


def test_the_header_reads_the_unread_count_with_its_other_badges(app, client):
    from tests.app.test_request_costs import queries

    conversation = ConversationFactory()
    as_user(client, conversation.shop.owner)
    client.get("/")
    count, html = queries(client, "/categories")
    # The person with whether they are suspended; every badge (messages among them) at once.
    assert count == 2, count
    assert re.search(r'href="/messages"[^>]*>Messages <span class="badge"[^>]*>1</span>', html)


def test_a_message_leaves_the_shared_page_cache_as_it_was(app, client):
    from app import page_cache

    conversation = ConversationFactory()
    before = page_cache.current_version()
    as_user(client, conversation.buyer)
    assert client.post_form(f"/messages/{conversation.id}", {"body": "Hi"}).status_code == 302
    client.get(f"/messages/{conversation.id}")
    login(client, conversation.shop.owner)
    client.post_form(f"/messages/{conversation.id}/block")
    assert page_cache.current_version() == before


def test_nobody_can_claim_to_have_seen_what_is_not_written_yet(app, client):
    conversation = ConversationFactory()
    seller = conversation.shop.owner
    token = make_token(client, seller)
    read = client.post(
        f"/api/v1/conversations/{conversation.id}/read",
        json={"through": 2_000_000_000},
        headers=bearer(token),
    )
    assert read.status_code == 200, read.get_json()
    latest = db.session.scalar(select(Message.id).order_by(Message.id.desc()))
    assert fresh(conversation).seller_seen_id == latest
    later = conversations.send(conversation.buyer, conversation, Draft("One more"))
    db.session.commit()
    assert fresh(conversation).seller_seen_id < later.id and conversation.seller_unread == 1


def test_messages_share_one_budget_across_pages_and_api(app, client):
    app.config["RATELIMIT_MESSAGES"] = "2 per minute"
    conversation = ConversationFactory()
    token = make_token(app.test_client(), conversation.buyer)
    as_user(client, conversation.buyer)
    assert client.post_form(f"/messages/{conversation.id}", {"body": "1"}).status_code == 302
    by_api = client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        data={"body": "2"},
        headers=bearer(token),
    )
    assert by_api.status_code == 201
    refused = client.post(
        f"/api/v1/conversations/{conversation.id}/messages",
        data={"body": "3"},
        headers=bearer(token),
    )
    assert refused.status_code == 429 and refused.mimetype == "application/problem+json"
    assert refused.headers.get("Retry-After")
    assert client.post_form(f"/messages/{conversation.id}", {"body": "4"}).status_code == 429
