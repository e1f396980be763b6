"""A poll in a browser, on a phone and a laptop: the shop opens one with pictured options
(the form works without JavaScript), a member votes by tapping a picture, the bars show, and
the follower's feed carries it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.models import utcnow
from social.polls.models import Poll
from tests.browser.conftest import overflow, screenshot
from tests.factories import FollowFactory, MemberFactory, ShopFactory, picture_bytes
from tests.social.helpers import fresh


def test_a_shop_asks_and_a_member_votes_by_tapping_a_picture(
    app: Any, open_as: Any, live_server: str, tmp_path: Any
) -> None:
    shop = ShopFactory(name="Clay Corner")
    member = MemberFactory()
    FollowFactory(follower=member, followee=shop.owner)
    pictures = []
    for n in range(3):
        path = tmp_path / f"{n}.png"
        path.write_bytes(picture_bytes((60 * n, 120, 90)))
        pictures.append(str(path))

    seller = open_as(shop.owner)
    seller.goto(f"{live_server}/shop/polls")
    seller.get_by_role("link", name="Ask your community").first.click()
    seller.get_by_label("Your question").fill("Which glaze for the ramen bowl?")
    seller.get_by_label("Closes on").fill((utcnow() + timedelta(days=4)).date().isoformat())
    for n, label in enumerate(("Speckled sage", "Midnight blue", "Honey amber")):
        row = seller.get_by_role("group", name=f"Option {n + 1}")
        row.get_by_label("Name").fill(label)
        row.get_by_label("Picture").set_input_files(pictures[n])
    assert overflow(seller) == 0
    screenshot(seller, "poll-form")
    seller.get_by_role("button", name="Open the poll").click()
    seller.wait_for_load_state()
    assert seller.get_by_role("heading", name="Which glaze for the ramen bowl?").is_visible()
    (poll,) = fresh(Poll)

    page = open_as(member)
    page.goto(f"{live_server}/feed")
    page.get_by_role("link", name="Which glaze for the ramen bowl?").click()
    page.wait_for_url(f"{live_server}/polls/{poll.id}")
    assert overflow(page) == 0
    # The whole card is the radio's label: a tap on the picture chooses it.
    page.locator(".poll-option img").nth(1).click()
    assert page.get_by_role("radio", name="Midnight blue").is_checked()
    page.get_by_role("button", name="Vote").click()
    page.wait_for_load_state()
    assert page.get_by_text("Thank you: your vote is in.").is_visible()
    assert page.locator(".poll-option-mine").inner_text().count("Midnight blue") == 1
    assert page.locator(".poll-bar").count() == 3
    assert page.get_by_role("radio").count() == 0  # one vote per person
    screenshot(page, "poll-voted")
