"""The initial shown for someone without a profile picture fits the circle it is drawn in."""

from __future__ import annotations

from typing import Any

from app.extensions import db
from tests.factories import FollowFactory, PickFactory, UserFactory

OVERFLOWING = """
() => [...document.querySelectorAll('.avatar-empty')]
  .filter((el) => el.scrollHeight > el.clientHeight + 1 || el.scrollWidth > el.clientWidth + 1)
  .map((el) => el.className + ' ' + el.clientWidth + 'x' + el.clientHeight)
"""


def test_an_initial_fits_its_small_circle(app: Any, open_as: Any, live_server: str) -> None:
    curator = UserFactory(display_name="Wren Initial", avatar_key=None)
    me = UserFactory()
    FollowFactory(follower=me, followee=curator)
    PickFactory(author=curator, note="A pick")
    db.session.commit()
    page = open_as(me)
    page.goto(f"{live_server}/feed")
    assert page.locator(".person-chip .avatar-empty").count() >= 1
    assert page.evaluate(OVERFLOWING) == []
