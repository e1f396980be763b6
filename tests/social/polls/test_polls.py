"""Polls: a shop asks its community to choose among pictured options; one vote per person;
the result is told once in the followers' feeds."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import time_machine

from app.extensions import db
from app.models import utcnow
from app.rules import RuleViolation
from social.models import EventKind, FeedEvent
from social.polls import services as polls
from social.polls.models import Poll, PollOption, PollVote
from tests.factories import (
    CallFactory,
    FollowFactory,
    IdeaFactory,
    MemberFactory,
    PollFactory,
    ShopFactory,
    UserFactory,
    picture_bytes,
)
from tests.social.helpers import as_user, fresh, page_text


def events(poll: Poll, kind: str) -> list[FeedEvent]:
    return fresh(FeedEvent, poll_id=poll.id, kind=kind)


def form_for_new_poll(**overrides: object) -> dict[str, object]:
    today = utcnow().date()
    data: dict[str, object] = {
        "question": "Which glaze should the ramen bowl have?",
        "details": "The winner goes in the kiln.",
        "opens_on": today.isoformat(),
        "closes_on": (today + timedelta(days=5)).isoformat(),
        "results_shown": "live",
        "idea_id": "",
        "call_id": "",
    }
    for n, label in enumerate(("Speckled sage", "Midnight blue", "Honey amber")):
        data[f"options-{n}-title"] = label
        data[f"options-{n}-picture"] = (io.BytesIO(picture_bytes((50 * n, 80, 90))), f"{n}.png")
    data.update(overrides)
    return data


# --- opening a poll ---------------------------------------------------------------------------


def test_a_shop_opens_a_poll_from_its_page_and_followers_see_it_in_their_feed(client):
    shop = ShopFactory(name="Clay Corner")
    follower = UserFactory()
    FollowFactory(follower=follower, followee=shop.owner)
    as_user(client, shop.owner)
    assert "Ask your community" in page_text(client.get("/shop/polls"))
    response = client.post_form("/shop/polls/new", form_for_new_poll())
    assert response.status_code == 302, page_text(response)
    (poll,) = fresh(Poll, shop_id=shop.id)
    assert [o.label for o in poll.options] == ["Speckled sage", "Midnight blue", "Honey amber"]
    assert all(o.image_key and o.thumb_key for o in poll.options)
    assert response.headers["Location"].endswith(f"/polls/{poll.id}")
    assert len(events(poll, EventKind.POLL)) == 1  # it opened today: told at once

    as_user(client, follower)
    feed = page_text(client.get("/feed"))
    card = feed[: feed.index("Which glaze should the ramen bowl have?")].rsplit("<li", 1)[1]
    assert f'href="/polls/{poll.id}"' in card
    assert "asks you to choose" in feed and "3 options" in feed
    assert feed.count(f"/media/{poll.options[0].thumb_key}") == 1


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"question": ""}, "This field is required."),
        ({"question": "Q" * 141}, "Use at most 140 characters."),
        (
            {
                "options-1-title": "",
                "options-1-picture": (io.BytesIO(b""), ""),
                "options-2-title": "",
                "options-2-picture": (io.BytesIO(b""), ""),
            },
            "Give between 2 and 12 options.",
        ),
        ({"options-1-title": "speckled SAGE"}, "Two options are both called"),
        ({"options-2-picture": (io.BytesIO(b""), "")}, "Add a picture to “Honey amber”."),
        ({"options-2-picture": (io.BytesIO(b"not a picture"), "x.png")}, "image"),
        ({"closes_on": "2020-01-01"}, "The poll must close after it opens."),
        ({"closes_on": "2099-01-01"}, "A poll runs for 90 days at most."),
        ({"results_shown": "whenever"}, "Not a valid choice"),
        ({"idea_id": "99999"}, "There is no such idea."),
    ],
)
def test_a_poll_that_cannot_be_asked_says_why_and_keeps_nothing(client, overrides, message):
    shop = ShopFactory()
    as_user(client, shop.owner)
    response = client.post_form("/shop/polls/new", form_for_new_poll(**overrides))
    assert response.status_code == 422
    assert message in page_text(response).replace("&#34;", '"').replace("&#39;", "'")
    assert fresh(Poll) == [] and fresh(PollOption) == [] and fresh(FeedEvent) == []


def test_a_poll_can_be_about_an_idea_or_a_call_of_the_shop_and_shows_there(client):
    call = CallFactory()
    idea = IdeaFactory(call=call)
    poll = PollFactory(shop=call.shop, idea_id=idea.id, question="Which handle?")
    other = PollFactory(shop=call.shop, call_id=call.id, question="Which colourway?")
    idea_page = page_text(client.get(f"/ideas/{idea.id}"))
    assert "Have your say" in idea_page and f'href="/polls/{poll.id}"' in idea_page
    assert f'href="/polls/{other.id}"' not in idea_page
    assert f'href="/polls/{other.id}"' in page_text(client.get(f"/ideas/calls/{call.id}"))
    shop_page = page_text(client.get(f"/shops/{call.shop.slug}"))
    assert "Which handle?" in shop_page and "Which colourway?" in shop_page
    poll_page = page_text(client.get(f"/polls/{poll.id}"))
    assert f'href="/ideas/{idea.id}"' in poll_page
    # Another shop's idea is not this poll's to be about.
    with pytest.raises(RuleViolation):
        PollFactory(idea_id=idea.id)


# --- voting ---------------------------------------------------------------------------------


def test_one_vote_per_person_and_the_counts_move_by_one(client):
    poll = PollFactory()
    voter = MemberFactory()
    as_user(client, voter)
    sage, ochre = poll.options[0], poll.options[1]
    page = page_text(client.get(f"/polls/{poll.id}"))
    assert page.count('type="radio" name="option_id"') == 3 and ">Vote</button>" in page
    response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": ochre.id})
    assert response.status_code == 302
    # A second tab, or a double click: nothing changes, and it says so.
    again = client.post_form(f"/polls/{poll.id}/vote", {"option_id": sage.id})
    assert again.status_code == 302
    page = page_text(client.get(f"/polls/{poll.id}"))
    assert "You have already voted in this poll." in page
    assert "Your vote" in page and 'type="radio"' not in page
    db.session.commit()
    db.session.refresh(poll)
    assert poll.vote_count == 1
    assert [o.vote_count for o in poll.options] == [0, 1, 0]
    assert [(v.user_id, v.option_id) for v in fresh(PollVote)] == [(voter.id, ochre.id)]


def test_a_vote_that_lost_the_race_counts_nothing(app):
    """Two requests at once: the second insert loses on the primary key (here the first vote
    is already in when the second one is tried, past its own check)."""
    poll = PollFactory()
    voter = MemberFactory()
    db.session.add(PollVote(poll_id=poll.id, user_id=voter.id, option_id=poll.options[0].id))
    db.session.commit()
    original = polls.choice_of
    polls.choice_of = lambda user, poll: None  # the check ran before the other insert landed
    try:
        assert polls.vote(voter, poll, poll.options[1].id) is False
    finally:
        polls.choice_of = original
    db.session.commit()
    db.session.refresh(poll)
    assert poll.vote_count == 0 and [o.vote_count for o in poll.options] == [0, 0, 0]


def test_who_may_not_vote_is_told_why(client, app):
    poll = PollFactory(days=2)
    option = poll.options[0].id
    as_user(client, poll.shop.owner)
    response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": option})
    assert response.status_code == 422
    assert "The shop does not vote in its own polls." in page_text(response)

    newcomer = UserFactory()  # an account of today: the idea votes' rule
    as_user(client, newcomer)
    response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": option})
    assert response.status_code == 422 and "New accounts can vote after 72 hours." in page_text(
        response
    )

    member = MemberFactory()
    as_user(client, member)
    other_poll = PollFactory()
    response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": other_poll.options[0].id})
    assert response.status_code == 422 and "Choose one of the poll" in page_text(response)
    response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": "2147483648"})
    assert response.status_code == 422
    response = client.post_form(f"/polls/{poll.id}/vote", {})
    assert response.status_code == 422 and "Choose one of the options." in page_text(response)
    with time_machine.travel(utcnow() + timedelta(days=3)):
        response = client.post_form(f"/polls/{poll.id}/vote", {"option_id": option})
        assert response.status_code == 422 and "This poll has closed." in page_text(response)
    assert fresh(PollVote) == []
    client.post_form("/logout")
    anonymous = page_text(client.get(f"/polls/{poll.id}"))
    assert "Log in to vote." in anonymous and 'type="radio"' not in anonymous


def test_results_kept_for_the_close_are_the_shops_alone_until_then(client):
    poll = PollFactory(results_shown="at_close", days=2)
    voters = [MemberFactory() for _ in range(3)]
    for n, voter in enumerate(voters):
        polls.vote(voter, poll, poll.options[min(n, 1)].id)
    db.session.commit()
    as_user(client, voters[0])
    page = page_text(client.get(f"/polls/{poll.id}"))
    assert "The results show when the poll closes." in page and "poll-bar" not in page
    api = client.get(f"/api/v1/polls/{poll.id}").get_json()
    assert api["results_visible"] is False and api["vote_count"] is None
    assert {o["vote_count"] for o in api["options"]} == {None}
    as_user(client, poll.shop.owner)
    assert "poll-bar" in page_text(client.get(f"/polls/{poll.id}"))
    assert client.get(f"/api/v1/polls/{poll.id}").get_json()["vote_count"] == 3
    with time_machine.travel(utcnow() + timedelta(days=3)):
        as_user(client, voters[0])
        page = page_text(client.get(f"/polls/{poll.id}"))
        assert "“Ochre” won, with 2 votes." in page
        api = client.get(f"/api/v1/polls/{poll.id}").get_json()
        assert api["state"] == "closed" and [o["vote_count"] for o in api["options"]] == [1, 2, 0]


# --- telling followers ----------------------------------------------------------------------


def test_the_result_is_told_once_in_the_followers_feeds(client):
    poll = PollFactory(days=1)
    follower = MemberFactory()
    FollowFactory(follower=follower, followee=poll.shop.owner)
    for voter in (follower, MemberFactory(), MemberFactory()):
        polls.vote(voter, poll, poll.options[2].id)
    db.session.commit()
    assert polls.announce_due() == 0  # still open
    later = utcnow() + timedelta(days=2)
    assert polls.announce_due(later) == 1
    assert polls.announce_due(later) == 0  # a second sweep, or two at once: told once
    db.session.commit()
    assert len(events(poll, EventKind.POLL_RESULT)) == 1
    as_user(client, follower)
    feed = page_text(client.get("/feed"))
    assert "closed a poll" in feed and "“Cobalt” won, with 3 votes." in feed


def test_a_poll_scheduled_ahead_is_told_when_it_opens_and_votes_wait(client):
    shop = ShopFactory()
    as_user(client, shop.owner)
    start = (utcnow() + timedelta(days=2)).date()
    response = client.post_form(
        "/shop/polls/new",
        form_for_new_poll(
            opens_on=start.isoformat(), closes_on=(start + timedelta(days=3)).isoformat()
        ),
    )
    assert response.status_code == 302
    (poll,) = fresh(Poll)
    assert events(poll, EventKind.POLL) == []
    refusal = polls.vote_refusal(MemberFactory(), poll)
    assert refusal is not None and refusal.startswith("Voting opens on")
    assert polls.announce_due(utcnow() + timedelta(days=2, hours=1)) == 1
    db.session.commit()
    assert len(events(poll, EventKind.POLL)) == 1


def test_the_shop_closes_early_or_deletes_a_poll_nobody_voted_in(client):
    poll = PollFactory()
    empty = PollFactory(shop=poll.shop)
    polls.vote(MemberFactory(), poll, poll.options[0].id)
    db.session.commit()
    as_user(client, poll.shop.owner)
    refused = client.post_form(f"/shop/polls/{poll.id}/delete")
    assert refused.status_code == 302
    assert "close it instead" in page_text(client.get(refused.headers["Location"]))
    assert client.post_form(f"/shop/polls/{empty.id}/delete").status_code == 302
    assert [p.id for p in fresh(Poll)] == [poll.id]
    assert client.post_form(f"/shop/polls/{poll.id}/close").status_code == 302
    db.session.refresh(poll)
    assert poll.state(utcnow() + timedelta(seconds=1)) == "closed"
    assert len(events(poll, EventKind.POLL_RESULT)) == 1
    assert polls.announce_due(utcnow() + timedelta(minutes=1)) == 0
    # Another shop's poll is not theirs to close.
    as_user(client, ShopFactory().owner)
    assert client.post_form(f"/shop/polls/{poll.id}/close").status_code == 404


# --- the API --------------------------------------------------------------------------------


def test_the_api_reads_a_poll_votes_and_refuses_with_problem_details(client):
    poll = PollFactory()
    voter = MemberFactory()
    as_user(client, voter)
    read = client.get(f"/api/v1/polls/{poll.id}").get_json()
    assert read["may_vote"] is True and read["my_choice"] is None
    assert [o["label"] for o in read["options"]] == ["Sage", "Ochre", "Cobalt"]
    assert re.search(r"/media/.+", read["options"][0]["thumb_url"])
    voted = client.api(
        "POST", f"/api/v1/polls/{poll.id}/vote", json={"option_id": poll.options[1].id}
    )
    assert voted.status_code == 200
    body = voted.get_json()
    assert body["my_choice"] == poll.options[1].id and body["vote_count"] == 1
    assert body["may_vote"] is False
    wrong = client.api("POST", f"/api/v1/polls/{poll.id}/vote", json={"option_id": "two"})
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    unknown = client.api("POST", f"/api/v1/polls/{poll.id}/vote", json={"option_id": 10**12})
    assert unknown.status_code in (404, 422)
    assert unknown.mimetype == "application/problem+json"
    listed = client.get(f"/api/v1/shops/{poll.shop.id}/polls").get_json()
    assert [p["id"] for p in listed["items"]] == [poll.id]
    assert listed["items"][0]["my_choice"] == poll.options[1].id  # read with the page
    assert client.get("/api/v1/polls/999999").status_code == 404
