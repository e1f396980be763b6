"""Co-creation's rules through the pages and the API: calls, ideas, votes, the shop's review."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.extensions import db
from social.idea_models import Idea, IdeaReward, IdeaStatus, IdeaVote, RoyaltyAgreement
from social.models import FeedEvent
from tests.conftest import login
from tests.factories import (
    CallFactory,
    FollowFactory,
    IdeaFactory,
    MemberFactory,
    ProductFactory,
    ShopFactory,
    UserFactory,
)


def _idea(idea_id: int) -> Idea:
    db.session.expire_all()
    found = db.session.get(Idea, idea_id)
    assert found is not None
    return found


def test_a_shop_opens_a_call_and_someone_submits_an_idea_through_the_pages(client):
    shop = ShopFactory(name="Ana's studio")
    login(client, shop.owner)
    opened = client.post_form(
        "/shop/ideas/calls/new",
        {
            "title": "Our next bowl",
            "brief": "Something for ramen nights.",
            "shortlist_reward": "5.00",
            "threshold_votes": "3",
            "threshold_reward": "15.00",
            "royalty_percent": "10",
        },
    )
    assert opened.status_code == 302
    call_page = client.get(opened.headers["Location"]).get_data(as_text=True)
    assert "Our next bowl" in call_page and "€15.00 when it reaches 3 votes" in call_page
    call_id = int(opened.headers["Location"].rsplit("/", 1)[-1])

    author = MemberFactory()
    login(client, author)
    submitted = client.post_form(
        f"/shops/{shop.slug}/ideas/new?call={call_id}",
        {"title": "A deeper bowl", "description": "Deep enough for broth. <script>x</script>"},
    )
    assert submitted.status_code == 302, submitted.get_data(as_text=True)[-1500:]
    idea = db.session.scalar(select(Idea))
    # The promise is the call's, copied; markup is gone.
    assert (idea.shortlist_reward_minor, idea.threshold_votes, idea.royalty_bps) == (500, 3, 1000)
    assert "<script>" not in idea.description
    page = client.get(f"/ideas/{idea.id}").get_data(as_text=True)
    assert "A deeper bowl" in page and "0 votes of 3" in page
    # The shop is told.
    login(client, shop.owner)
    assert "has an idea for your shop" in client.get("/notifications").get_data(as_text=True)


def test_bad_submissions_are_refused_with_a_clear_error(client):
    call = CallFactory()
    author = MemberFactory()
    login(client, author)
    empty = client.post_form(
        f"/shops/{call.shop.slug}/ideas/new?call={call.id}", {"title": "", "description": ""}
    )
    assert empty.status_code == 422
    # Outside a call, a shop that takes no ideas at any time refuses them.
    outside = client.post_form(
        f"/shops/{call.shop.slug}/ideas/new", {"title": "An idea", "description": "Details"}
    )
    assert outside.status_code == 422
    assert "only through its calls" in outside.get_data(as_text=True)
    # A closed call takes no more ideas.
    login(client, call.shop.owner)
    client.post_form(f"/shop/ideas/calls/{call.id}/close")
    login(client, author)
    closed = client.post_form(
        f"/shops/{call.shop.slug}/ideas/new?call={call.id}",
        {"title": "An idea", "description": "Details"},
    )
    assert closed.status_code == 422 and "closed" in closed.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Idea.id))) == 0


def test_votes_one_per_person_not_your_own_not_new_accounts(client, app):
    idea = IdeaFactory()
    voter = MemberFactory()
    login(client, voter)
    assert client.post_form(f"/ideas/{idea.id}/vote").status_code == 302
    assert client.post_form(f"/ideas/{idea.id}/vote").status_code == 302  # changes nothing
    assert _idea(idea.id).vote_count == 1
    assert client.post_form(f"/ideas/{idea.id}/unvote").status_code == 302
    assert _idea(idea.id).vote_count == 0
    # The author cannot vote for their own idea (the API says why).
    login(client, idea.author)
    own = client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    assert own.status_code == 403 and own.content_type == "application/problem+json"
    # A brand-new account cannot vote: vote-stuffing is limited.
    newcomer = UserFactory()
    login(client, newcomer)
    refused = client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    assert refused.status_code == 403
    assert "hours" in refused.get_json()["title"]
    app.config["IDEA_VOTE_MIN_ACCOUNT_AGE_HOURS"] = 0
    assert client.api("PUT", f"/api/v1/ideas/{idea.id}/vote").get_json() == {
        "voted": True,
        "vote_count": 1,
    }
    assert db.session.scalar(select(func.count()).select_from(IdeaVote)) == 1


def test_crossing_the_threshold_twice_makes_the_reward_due_once(client):
    idea = IdeaFactory(call=CallFactory(threshold_votes=2))
    first, second, third = MemberFactory(), MemberFactory(), MemberFactory()
    for voter in (first, second):
        login(client, voter)
        client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    assert _idea(idea.id).threshold_reached_at is not None
    # Down under the threshold and up again: still one reward.
    client.api("DELETE", f"/api/v1/ideas/{idea.id}/vote")
    login(client, third)
    client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    rewards = db.session.scalars(select(IdeaReward)).all()
    assert [(r.kind, r.amount_minor, r.author_id) for r in rewards] == [
        ("threshold", 1500, idea.author_id)
    ]


def test_the_shop_reviews_shortlist_decline_adopt(client):
    call = CallFactory()
    shortlisted, declined, adopted = (IdeaFactory(call=call) for _ in range(3))
    owner = call.shop.owner
    login(client, owner)
    assert client.post_form(f"/ideas/{shortlisted.id}/shortlist").status_code == 302
    assert _idea(shortlisted.id).status == IdeaStatus.SHORTLISTED
    reward = db.session.scalar(select(IdeaReward).where(IdeaReward.idea_id == shortlisted.id))
    assert (reward.kind, reward.amount_minor) == ("shortlist", 500)

    no_reason = client.post_form(f"/ideas/{declined.id}/decline", {"reason": ""})
    assert no_reason.status_code == 422
    client.post_form(f"/ideas/{declined.id}/decline", {"reason": "We only make bowls."})
    assert _idea(declined.id).status == IdeaStatus.DECLINED
    # A declined idea cannot be adopted, and a product of another shop cannot take an idea.
    assert (
        client.api(
            "POST",
            f"/api/v1/ideas/{declined.id}/adopt",
            json={"price_minor": 900, "category": "home/ceramics"},
        ).status_code
        == 409
    )
    elsewhere = ProductFactory()
    other = client.api(
        "POST", f"/api/v1/ideas/{adopted.id}/adopt", json={"product_id": elsewhere.id}
    )
    assert other.status_code == 422 and "shop it was given to" in other.get_json()["title"]

    made = client.post_form(
        f"/ideas/{adopted.id}/adopt",
        {"mode": "new", "price": "32.00", "stock": "4", "category": "home/ceramics"},
    )
    assert made.status_code == 302 and "/products/" in made.headers["Location"]
    idea = _idea(adopted.id)
    assert idea.status == IdeaStatus.ADOPTED and idea.product.title == idea.title
    assert idea.product.status == "draft" and idea.product.price_minor == 3200
    agreement = db.session.scalar(select(RoyaltyAgreement))
    assert (agreement.product_id, agreement.author_id, agreement.rate_bps) == (
        idea.product_id,
        idea.author_id,
        1000,
    )
    # The author's view: told, no more editing, no withdrawing an adopted idea.
    login(client, idea.author)
    assert "reviewed your idea" in client.get("/notifications").get_data(as_text=True)
    assert (
        client.api(
            "PATCH", f"/api/v1/ideas/{idea.id}", json={"title": "Changed", "description": "x"}
        ).status_code
        == 422
    )
    assert client.api("POST", f"/api/v1/ideas/{idea.id}/withdraw").status_code == 422


def test_only_the_shop_reviews_and_only_the_author_edits(client):
    idea = IdeaFactory()
    stranger = MemberFactory()
    login(client, stranger)
    assert client.post_form(f"/ideas/{idea.id}/shortlist").status_code == 404
    assert client.api("POST", f"/api/v1/ideas/{idea.id}/shortlist").status_code == 403
    assert (
        client.api(
            "PATCH", f"/api/v1/ideas/{idea.id}", json={"title": "Mine now", "description": "x"}
        ).status_code
        == 403
    )
    assert client.get(f"/ideas/{idea.id}/edit").status_code == 404
    assert _idea(idea.id).title != "Mine now"


def test_a_withdrawn_idea_leaves_the_boards_and_cannot_be_adopted(client):
    idea = IdeaFactory()
    login(client, idea.author)
    edited = client.post_form(
        f"/ideas/{idea.id}/edit", {"title": "Better title", "description": "More detail."}
    )
    assert edited.status_code == 302 and _idea(idea.id).title == "Better title"
    client.post_form(f"/ideas/{idea.id}/withdraw")
    assert _idea(idea.id).status == IdeaStatus.WITHDRAWN
    assert client.get(f"/ideas/{idea.id}").status_code == 200  # its author still sees it
    login(client, MemberFactory())
    assert client.get(f"/ideas/{idea.id}").status_code == 404
    assert "Better title" not in client.get(f"/ideas/calls/{idea.call_id}").get_data(as_text=True)
    login(client, idea.shop.owner)
    adopt = client.api(
        "POST",
        f"/api/v1/ideas/{idea.id}/adopt",
        json={"price_minor": 1000, "category": "home/ceramics"},
    )
    assert adopt.status_code == 409


def test_a_suspended_authors_idea_is_gone_but_for_the_shop_and_moderators(client):
    from social import moderation

    idea = IdeaFactory(title="Spammy idea")
    admin = UserFactory(is_admin=True)
    moderation.suspend(admin, idea.author, "spam")
    db.session.commit()
    login(client, MemberFactory())
    assert client.get(f"/ideas/{idea.id}").status_code == 404
    assert client.get(f"/api/v1/ideas/{idea.id}").status_code == 404
    assert client.api("PUT", f"/api/v1/ideas/{idea.id}/vote").status_code == 404
    assert "Spammy idea" not in client.get(f"/ideas/calls/{idea.call_id}").get_data(as_text=True)
    login(client, idea.shop.owner)
    assert client.get(f"/ideas/{idea.id}").status_code == 200  # given to the shop: it decides
    login(client, admin)
    assert client.get(f"/ideas/{idea.id}").status_code == 200


def test_boards_sort_by_votes_or_newest_and_filter_by_status(client):
    call = CallFactory()
    quiet, popular = (
        IdeaFactory(call=call, title="Quiet idea"),
        IdeaFactory(call=call, title="Popular idea"),
    )
    for _ in range(2):
        login(client, MemberFactory())
        client.api("PUT", f"/api/v1/ideas/{popular.id}/vote")
    by_votes = client.get("/api/v1/ideas", query_string={"call_id": call.id}).get_json()
    assert [i["title"] for i in by_votes["items"]] == ["Popular idea", "Quiet idea"]
    newest = client.get(f"/ideas/calls/{call.id}?sort=newest").get_data(as_text=True)
    assert newest.index("Popular idea") < newest.index("Quiet idea")  # made last
    login(client, call.shop.owner)
    client.post_form(f"/ideas/{quiet.id}/shortlist")
    shortlisted = client.get(
        "/api/v1/ideas", query_string={"call_id": call.id, "status": "shortlisted"}
    ).get_json()
    assert [i["title"] for i in shortlisted["items"]] == ["Quiet idea"]
    board = client.get(f"/shops/{call.shop.slug}/ideas").get_data(as_text=True)
    assert "2 votes of 3" in board


def test_ideas_and_votes_reach_followers_feeds_and_comments_work(client):
    idea = IdeaFactory()
    fan = MemberFactory()
    follower = UserFactory()
    FollowFactory(follower=follower, followee=fan)
    FollowFactory(follower=follower, followee=idea.author)
    db.session.commit()
    login(client, fan)
    client.api("PUT", f"/api/v1/ideas/{idea.id}/vote")
    commented = client.post_form(
        "/comments", {"target_type": "idea", "target_id": idea.id, "body": "Yes please!"}
    )
    assert (
        commented.status_code == 302
        and f"/ideas/{idea.id}#comment-" in commented.headers["Location"]
    )
    assert _idea(idea.id).comment_count == 1
    api_comments = client.get(f"/api/v1/ideas/{idea.id}/comments").get_json()["items"]
    assert [c["body"] for c in api_comments] == ["Yes please!"]
    login(client, follower)
    feed = client.get("/feed").get_data(as_text=True)
    assert "has an idea for" in feed and "voted for an idea for" in feed
    kinds = [i["kind"] for i in client.get("/api/v1/feed").get_json()["items"]]
    assert "idea" in kinds and "idea_vote" in kinds
    # A withdrawn vote leaves the feed.
    login(client, fan)
    client.api("DELETE", f"/api/v1/ideas/{idea.id}/vote")
    assert (
        db.session.scalar(select(func.count(FeedEvent.id)).where(FeedEvent.kind == "idea_vote"))
        == 0
    )


@pytest.mark.parametrize("path", ["/ideas", "/ideas/mine", "/shop/ideas"])
def test_idea_pages_render_and_keep_people_in_their_place(client, path):
    call = CallFactory()
    IdeaFactory(call=call)
    login(client, call.shop.owner)
    assert client.get(path).status_code == 200
    login(client, MemberFactory())
    expected = 404 if path == "/shop/ideas" else 200  # no shop: nothing to manage
    assert client.get(path).status_code == expected


def test_the_shop_page_points_to_its_calls(client):
    call = CallFactory(title="Our next bowl")
    page = client.get(f"/shops/{call.shop.slug}").get_data(as_text=True)
    assert "Our next bowl" in page and f"/shops/{call.shop.slug}/ideas" in page
    quiet = ShopFactory()
    assert "See the ideas board" not in client.get(f"/shops/{quiet.slug}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "current"),
    [
        ("/shop/ideas", "Co-creation"),
        ("/ideas/mine", "My ideas"),
        ("/shop/ideas/calls/new", None),
    ],
)
def test_the_account_pages_of_co_creation_keep_the_account_sidebar(client, path, current):
    call = CallFactory()
    login(client, call.shop.owner)
    page = client.get(path).get_data(as_text=True)
    sidebar = page.split('<nav class="sidebar" aria-label="Account">', 1)
    assert len(sidebar) == 2, "no account sidebar"
    links = sidebar[1].split("</nav>", 1)[0]
    assert 'href="/account/social"' in links and 'href="/shop/ideas"' in links
    if current:
        assert f'aria-current="page">{current}</a>' in links
    assert 'class="main-column"' in page and "social.css" in page


def test_calls_shown_as_cards_are_a_list_without_bullets(client):
    import re

    call = CallFactory(title="Our next bowl")
    css = client.get("/static/social/social.css").get_data(as_text=True)
    rule = re.search(r"\.card-list\s*\{([^}]*)\}", css)
    assert rule is not None and "list-style: none" in rule.group(1)
    for path in ("/ideas", f"/shops/{call.shop.slug}/ideas"):
        page = client.get(path).get_data(as_text=True)
        lists = re.findall(r'<ul class="([^"]*)">\s*<li class="card"', page)
        assert lists and all("card-list" in classes.split() for classes in lists), path
