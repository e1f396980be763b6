"""On PostgreSQL, with real concurrency: votes count once, a reward is paid once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.uow import unit_of_work
from payouts import cocreation
from payouts.models import JournalEntry
from social import ideas
from social.idea_models import Idea, IdeaReward, IdeaVote, RewardStatus
from tests.concurrency import at_once
from tests.factories import CallFactory, IdeaFactory, MemberFactory, ProductFactory
from tests.marketplace.shopping import buy, orders_of
from tests.payouts.money import check_invariants, release_after_hold
from tests.payouts.test_money_flow import deliver

pytestmark = pytest.mark.usefixtures("postgres_only")


def _voter(user_id: int, idea_id: int) -> Callable[[], None]:
    def job() -> None:
        ideas.vote(db.session.get(User, user_id), ideas.get_idea(idea_id))

    return job


def test_concurrent_votes_count_once_each_and_cross_the_threshold_once(app):
    idea = IdeaFactory(call=CallFactory(threshold_votes=3))
    same = MemberFactory()
    others = [MemberFactory() for _ in range(3)]
    ids = (idea.id, same.id, [o.id for o in others])
    db.session.commit()
    at_once(app, [_voter(ids[1], ids[0]) for _ in range(4)])
    assert db.session.get(Idea, ids[0]).vote_count == 1
    at_once(app, [_voter(user_id, ids[0]) for user_id in ids[2]])
    assert db.session.get(Idea, ids[0]).vote_count == 4
    assert db.session.scalar(select(func.count()).select_from(IdeaVote)) == 4
    assert db.session.scalar(select(func.count(IdeaReward.id))) == 1


def test_the_reward_job_running_twice_at_once_pays_once(app, client, emulator):
    call = CallFactory(shortlist_reward_minor=1000)
    shop = call.shop
    idea = IdeaFactory(call=call)
    buyer = MemberFactory()
    checkout = buy(client, buyer, ProductFactory(shop=shop, price_minor=2500))
    for order in orders_of(checkout):
        deliver(client, order, buyer)
    release_after_hold()
    with unit_of_work():
        # Made due without its job, so the two runs below race for it.
        from social.idea_models import RewardKind

        db.session.add(
            IdeaReward(
                idea_id=idea.id,
                shop_id=shop.id,
                author_id=idea.author_id,
                kind=RewardKind.SHORTLIST,
                currency="eur",
                amount_minor=1000,
            )
        )
    at_once(app, [cocreation.pay_due_rewards, cocreation.pay_due_rewards])
    reward = db.session.scalar(select(IdeaReward))
    assert (reward.status, reward.paid_minor) == (RewardStatus.PAID, 1000)
    assert (
        db.session.scalar(
            select(func.count(JournalEntry.id)).where(JournalEntry.kind == "idea_reward")
        )
        == 1
    )
    check_invariants(emulator)
