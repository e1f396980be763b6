"""Co-creation's money: royalties and the collective pool in every split, rewards paid from
the shop's earnings (or by card), and the pool's monthly distribution.

Money passed on from one payee to others (a reward from the shop owner's available
earnings, the pool's month to its members) moves in one journal entry whose key names its
cause, and follows the earnings it came from: each part becomes an earning of the receiver
with the same source charge, so the normal payout run pays it with the charge as its source.
  reward:<id>:balance:<paid before>   the shop owner's available -> the author's available
  reward:<id>:card:<session>          the card payment -> the author's pending (then the hold)
  pool:<shop>:<YYYY-MM>               the pool's available -> each member's available
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import Flask, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from app import batches, jobs, uow
from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.i18n import money
from app.models import utcnow
from app.rules import Forbidden, RuleViolation
from app.uow import unit_of_work
from marketplace.models import Shop
from payouts import ledger, payees, webhooks
from payouts.gateway import CheckoutLine, GatewayError
from payouts.ledger import credit, debit
from payouts.models import (
    Earning,
    EarningState,
    Payee,
    PlatformSettings,
    PoolDistribution,
)
from payouts.payments import charge_of
from payouts.runtime import gateway
from payouts.settings import add_settings_guard
from payouts.settings import current as current_settings
from payouts.splits import BPS, Role, apportion
from payouts.terms import LineContext, Term, add_party_provider, commission_bps, payee_id_of
from social import ideas
from social.idea_models import CoCreationTerms, IdeaReward, RewardStatus, RoyaltyAgreement

REWARD = "reward"
POOL = "pool"
CARD_SESSION_MINUTES = 60

log = logging.getLogger(__name__)


# --- the split: royalties and the pool ----------------------------------------------------------


def _parties(line: LineContext) -> list[Term]:
    terms: list[Term] = []
    for agreement in db.session.scalars(
        select(RoyaltyAgreement)
        .where(RoyaltyAgreement.product_id == line.product_id)
        .order_by(RoyaltyAgreement.id)
    ):
        if agreement.author_id == line.shop.owner_id:
            continue
        terms.append(
            Term(
                Role.CO_CREATOR,
                payee_id_of(agreement.author_id, line.create_payees),
                agreement.rate_bps,
                f"idea:{agreement.idea_id}",
            )
        )
    pool = ideas.pool_bps_of(line.shop.id)
    if pool > 0:
        if line.create_payees:
            pool_payee = payees.for_pool(line.shop.id).id
        else:
            found = payees.find_pool_payee(line.shop.id)
            pool_payee = found.id if found is not None else -(10**9) - line.shop.id
        terms.append(Term(Role.POOL, pool_payee, pool, f"pool:{line.shop.id}"))
    return terms


def check_rates(shop: Shop, royalty_bps: int, pool_bps: int, commission: int | None = None) -> None:
    """The fee, the highest commission the shop may owe, the royalties of one product and the
    pool must leave the seller the platform's minimum. `commission` is a rate the shop is about
    to set (None: the one it has)."""
    settings = current_settings()
    room = BPS - settings.seller_min_bps - settings.fee_bps
    owed = commission_bps(shop, settings, commission)
    if owed + royalty_bps + pool_bps <= room:
        return
    if commission is not None:
        raise RuleViolation(
            _(
                "Your co-creation promises (royalties up to %(royalty)s, the pool %(pool)s) "
                "and the Kindred fee (%(fee)s) leave room for a curator commission of at most "
                "%(left)s.",
                royalty=_percent(royalty_bps),
                pool=_percent(pool_bps),
                fee=_percent(settings.fee_bps),
                left=_percent(max(room - royalty_bps - pool_bps, 0)),
            ),
            field="curator_commission_bps",
        )
    raise RuleViolation(
        _(
            "With the Kindred fee (%(fee)s) and your curator commission (%(commission)s), "
            "royalties and the pool can take at most %(left)s of a sale.",
            fee=_percent(settings.fee_bps),
            commission=_percent(owed),
            left=_percent(max(room - owed, 0)),
        ),
        field="pool_bps" if pool_bps and not royalty_bps else "royalty_bps",
    )


def check_settings(settings: PlatformSettings) -> None:
    """Platform settings an admin proposes must leave every shop's promises to co-creators
    (royalties, pool) room beside the fee, its commission and the seller's minimum."""
    room = BPS - settings.seller_min_bps - settings.fee_bps
    broken = [
        shop.name
        for shop, royalty, pool in ideas.promising_shops()
        if commission_bps(shop, settings) + royalty + pool > room
    ]
    if broken:
        raise RuleViolation(
            _(
                "The promises %(count)d shop(s) made to co-creators would no longer fit: "
                "%(shops)s. Ask them to lower their royalties or pool first.",
                count=len(broken),
                shops=", ".join(broken[:5]) + (", …" if len(broken) > 5 else ""),
            )
        )


def _percent(bps: int) -> str:
    return f"{bps / 100:g}%"


# --- moving available money from one payee to others ------------------------------------------


def _movable(payee_id: int) -> tuple[list[Earning], int]:
    """A payee's available, unpaid earnings (locked) and how much of them can be passed on."""
    earnings = [
        e
        for e in db.session.scalars(
            for_update(
                select(Earning)
                .where(
                    Earning.payee_id == payee_id,
                    Earning.state == EarningState.AVAILABLE,
                    Earning.payout_item_id.is_(None),
                    Earning.frozen.is_(False),
                    Earning.source_charge_id.is_not(None),
                )
                .order_by(Earning.id)
            )
        )
        if e.net_minor > 0
    ]
    on_ledger = ledger.balance(ledger.available(f"payee-{payee_id}"))
    return earnings, max(0, min(on_ledger, sum(e.net_minor for e in earnings)))


def _pass_on(
    key: str,
    kind: str,
    from_payee: int,
    earnings: Sequence[Earning],
    allocations: Sequence[tuple[int, int]],
    *,
    role: str,
    origin: str,
    memo: str,
) -> None:
    """Pass `allocations` (payee, amount) on from `earnings`, oldest first, in one entry."""
    total = sum(amount for _payee, amount in allocations)
    if total <= 0 or ledger.entry_exists(key):
        return
    legs = [debit(ledger.available(f"payee-{from_payee}"), total)]
    legs += [credit(ledger.available(f"payee-{to}"), amount) for to, amount in allocations]
    now = utcnow()
    sources = iter(earnings)
    source = next(sources)
    for to, amount in allocations:
        while amount > 0:
            while source.net_minor <= 0:
                source = next(sources)
            part = min(amount, source.net_minor)
            source.transferred_minor += part
            db.session.add(
                Earning(
                    payee_id=to,
                    order_id=source.order_id,
                    order_line_id=None,
                    role=role,
                    currency=source.currency,
                    amount_minor=part,
                    state=EarningState.AVAILABLE,
                    available_on=now,
                    released_at=now,
                    source_charge_id=source.source_charge_id,
                    origin=origin,
                )
            )
            amount -= part
    ledger.post(key, kind, legs, memo=memo)
    db.session.flush()


# --- rewards ----------------------------------------------------------------------------------


def _locked_reward(reward_id: int) -> IdeaReward | None:
    return db.session.scalar(for_update(select(IdeaReward).where(IdeaReward.id == reward_id)))


def _shop_of(reward: IdeaReward) -> Shop:
    shop = db.session.get(Shop, reward.shop_id)
    assert shop is not None
    return shop


def _settle(reward: IdeaReward, amount: int, *, by_card: bool) -> None:
    reward.paid_minor += amount
    if by_card:
        reward.by_card_minor += amount
    else:
        reward.from_balance_minor += amount
    if reward.paid_minor >= reward.amount_minor:
        reward.status = RewardStatus.PAID
        reward.paid_at = utcnow()


def pay_from_balance(reward_id: int) -> int:
    """Pay what the shop owner's available earnings cover of a due reward; returns how much.

    The reward's row is locked first, and the entry's key carries what was paid before, so
    the job running twice (or at once) pays nothing twice.
    """
    reward = _locked_reward(reward_id)
    if reward is None or reward.status != RewardStatus.DUE:
        return 0
    owner = payees.for_user(_shop_of(reward).owner_id)
    author = payees.for_user(reward.author_id)
    earnings, budget = _movable(owner.id)
    amount = min(budget, reward.remaining_minor)
    if amount <= 0:
        return 0
    _pass_on(
        f"reward:{reward.id}:balance:{reward.paid_minor}",
        "idea_reward",
        owner.id,
        earnings,
        [(author.id, amount)],
        role=REWARD,
        origin=f"reward:{reward.id}",
        memo=f"{reward.kind} reward of idea {reward.idea_id}",
    )
    _settle(reward, amount, by_card=False)
    return amount


def pay_due_rewards(shop_id: int | None = None) -> int:
    """Pay every due reward the shops' balances cover (the job); returns how many were paid."""
    statement = select(IdeaReward.id).where(IdeaReward.status == RewardStatus.DUE)
    if shop_id is not None:
        statement = statement.where(IdeaReward.shop_id == shop_id)
    paid = 0
    for reward_id in list(db.session.scalars(statement.order_by(IdeaReward.id))):
        pay_from_balance(reward_id)
        reward = db.session.get(IdeaReward, reward_id)
        paid += bool(reward is not None and reward.status == RewardStatus.PAID)
    return paid


def _check_payer(actor: User, reward: IdeaReward) -> None:
    if _shop_of(reward).owner_id != actor.id:
        raise Forbidden(_("Only the shop's owner can pay its rewards."))


def pay(actor: User, reward_id: int, *, success_url: str, cancel_url: str) -> str | None:
    """The shop owner pays a reward: from their available earnings first; the rest by card.

    Returns the payment page's address when the card must pay the rest, else None.
    """
    reward = ideas.get_reward(reward_id)
    _check_payer(actor, reward)
    if reward.status == RewardStatus.PAID:
        raise RuleViolation(_("This reward is already paid."), status=409)
    if reward.status == RewardStatus.DUE:
        pay_from_balance(reward.id)
        reward = ideas.get_reward(reward_id)
        if reward.status == RewardStatus.PAID:
            return None
    return _card_page(actor, reward, success_url=success_url, cancel_url=cancel_url)


def _card_page(actor: User, reward: IdeaReward, *, success_url: str, cancel_url: str) -> str:
    amount = reward.remaining_minor
    if reward.status == RewardStatus.AWAITING_CARD and reward.stripe_session_id:
        try:
            session = gateway().retrieve_checkout_session(reward.stripe_session_id)
        except GatewayError:
            session = None
        if session is not None and session.status == "open" and session.url:
            return str(session.url)
    reward.status = RewardStatus.AWAITING_CARD
    reward.card_amount_minor = amount
    reward_id, currency, email = reward.id, reward.currency, actor.email
    title = reward.idea.title
    attempt = int(utcnow().timestamp())
    uow.checkpoint()  # the reward's state is on record before Stripe is called
    try:
        session = gateway().create_checkout_session(
            lines=[CheckoutLine(_("Reward for the idea “%(title)s”", title=title), amount, 1)],
            currency=currency,
            transfer_group=f"reward-{reward_id}",
            success_url=success_url,
            cancel_url=cancel_url,
            expires_at=int((utcnow() + timedelta(minutes=CARD_SESSION_MINUTES)).timestamp()),
            idempotency_key=f"reward:{reward_id}:session:{amount}:{attempt}",
            customer_email=email,
            metadata={"purpose": "idea_reward", "reward": str(reward_id)},
        )
    except GatewayError as error:
        found = db.session.get(IdeaReward, reward_id)
        if found is not None and found.status == RewardStatus.AWAITING_CARD:
            found.status = RewardStatus.DUE
        uow.checkpoint()
        raise RuleViolation(
            _("The payment page could not be opened: %(why)s", why=error.message), status=502
        ) from error
    found = db.session.get(IdeaReward, reward_id)
    assert found is not None
    found.stripe_session_id = session.id
    return str(session.url or "")


def _reward_session(payload: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
    session = payload["data"]["object"]
    metadata = session.get("metadata") or {}
    if metadata.get("purpose") != "idea_reward":
        return None
    try:
        return session, int(metadata.get("reward", ""))
    except ValueError:
        return None


def on_session_completed(payload: dict[str, Any]) -> None:
    """The shop paid the rest of a reward by card: the author's share waits for the hold."""
    found = _reward_session(payload)
    if found is None:
        return
    session, reward_id = found
    if session.get("payment_status") != "paid":
        return
    key = f"reward:{reward_id}:card:{session['id']}"
    if ledger.entry_exists(key):
        return
    reward = _locked_reward(reward_id)
    if reward is None:
        return
    amount = int(session.get("amount_total") or 0)
    author = payees.for_user(reward.author_id)
    hold = timedelta(days=current_settings().hold_days)
    intent = session.get("payment_intent")
    db.session.add(
        Earning(
            payee_id=author.id,
            order_id=None,
            order_line_id=None,
            role=REWARD,
            currency=reward.currency,
            amount_minor=amount,
            available_on=utcnow() + hold,
            origin=f"reward:{reward.id}",
        )
    )
    ledger.post(
        key,
        "idea_reward",
        [
            debit(ledger.STRIPE_BALANCE, amount),
            credit(ledger.pending(f"payee-{author.id}"), amount),
        ],
        memo=f"{reward.kind} reward of idea {reward.idea_id}, paid by card",
        currency=reward.currency,
    )
    reward.status = RewardStatus.DUE  # settled below; the balance may have paid some since
    _settle(reward, min(amount, reward.remaining_minor), by_card=True)
    if reward.status != RewardStatus.PAID and reward.stripe_session_id == session["id"]:
        reward.stripe_session_id = None
    intent_id = intent.get("id") if isinstance(intent, dict) else intent
    if intent_id:
        jobs.enqueue("payouts.sync_reward_charge", reward_id=reward.id, payment_intent=intent_id)


def on_session_expired(payload: dict[str, Any]) -> None:
    found = _reward_session(payload)
    if found is None:
        return
    session, reward_id = found
    reward = _locked_reward(reward_id)
    if (
        reward is not None
        and reward.status == RewardStatus.AWAITING_CARD
        and reward.stripe_session_id == session["id"]
    ):
        reward.status = RewardStatus.DUE
        reward.stripe_session_id = None


def sync_reward_charge(reward_id: int, payment_intent: str) -> None:
    """The charge behind a card-paid reward: the author's earning is paid out from it."""
    uow.checkpoint()
    charge_id, fee = charge_of(payment_intent)
    if not charge_id:
        return
    for earning in db.session.scalars(
        select(Earning).where(
            Earning.origin == f"reward:{reward_id}",
            Earning.order_id.is_(None),
            Earning.source_charge_id.is_(None),
        )
    ):
        earning.source_charge_id = charge_id
    if fee:
        ledger.post(
            f"stripe-fee:{charge_id}",
            "stripe_fee",
            [debit(ledger.STRIPE_FEES, fee), credit(ledger.STRIPE_BALANCE, fee)],
            memo=f"processing fee of {charge_id}",
        )


def _on_reward_due(_app: Flask, reward: IdeaReward, **_extra: Any) -> None:
    jobs.enqueue("payouts.pay_reward", reward_id=reward.id)


# --- the collective pool ----------------------------------------------------------------------
#
# A month's contributions are the pool's parts of the sales paid in it. Once the month is over
# it is shared among its collective (as of the month's end, by weight): what of its
# contributions, and of earlier months' that waited, has settled, i.e. was released to
# available. What still waits (the hold after delivery, the delivery itself, a dispute) is
# carried to the next distribution, and the command and the month's record say how much; a
# contribution refunded before it settles simply gives its part back. A sale refunded after its
# part was shared leaves the pool owing that part (its available goes negative, the ledger stays
# balanced): the next settled contributions cover it before anything more is shared.


def previous_month(now: datetime | None = None) -> str:
    now = now or utcnow()
    first = now.replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year, number, 1, tzinfo=UTC)


def _month_end(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)


def next_month(month: str) -> str:
    return _month_end(month).strftime("%Y-%m")


def month_is_over(month: str, now: datetime | None = None) -> bool:
    return _month_end(month) <= (now or utcnow())


class MonthNotOver(ValueError):
    """A month is shared once it is over: until then its contributions are still coming in."""


def _check_over(month: str, now: datetime | None = None) -> None:
    if not month_is_over(month, now):
        raise MonthNotOver(f"{month} is not over: its contributions are still coming in.")


def parse_month(raw: str) -> str:
    try:
        parsed = datetime.strptime(raw, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter("use the form YYYY-MM") from None
    return parsed.strftime("%Y-%m")


@dataclasses.dataclass
class Waiting:
    """A pool's contributions up to a month's end that cannot be shared yet, by reason."""

    on_hold_minor: int = 0  # delivered: released when the hold has passed
    on_hold_until: datetime | None = None  # when the last of them is released
    undelivered_minor: int = 0  # the order is not delivered yet: its hold has not started
    disputed_minor: int = 0  # frozen by an open dispute on the payment

    @property
    def total_minor(self) -> int:
        return self.on_hold_minor + self.undelivered_minor + self.disputed_minor

    def add(self, earning: Earning) -> None:
        net = earning.net_minor
        if earning.frozen:
            self.disputed_minor += net
        elif earning.state == EarningState.PENDING and earning.available_on is None:
            self.undelivered_minor += net
        else:
            self.on_hold_minor += net
            if earning.available_on is not None and (
                self.on_hold_until is None or earning.available_on > self.on_hold_until
            ):
                self.on_hold_until = earning.available_on

    def describe(self) -> list[str]:
        parts = []
        if self.on_hold_minor:
            until = f" until {self.on_hold_until:%Y-%m-%d}" if self.on_hold_until else ""
            parts.append(f"{money(self.on_hold_minor)} on hold{until}")
        if self.undelivered_minor:
            parts.append(f"{money(self.undelivered_minor)} awaiting delivery")
        if self.disputed_minor:
            parts.append(f"{money(self.disputed_minor)} frozen by a dispute")
        return parts


@dataclasses.dataclass
class Distribution:
    """What one shop's distribution for a month did (or, `already`, had done)."""

    shop_id: int
    month: str
    amount_minor: int
    shares: dict[int, int]  # user id -> amount, shared by this run
    already: bool = False
    member_count: int = 0
    shop_name: str = ""
    # Of the amount, what contributions of earlier months (carried to this one) gave.
    carried_in_minor: int = 0
    # Settled contributions kept to cover refunds of sales whose part was already shared.
    netted_minor: int = 0
    # What such refunds still take from the pool, beyond what this month could cover.
    owed_minor: int = 0
    # Settled, but the collective has no member yet to share it with.
    unshared_minor: int = 0
    waiting: Waiting = dataclasses.field(default_factory=Waiting)
    # What this month left to the next distribution (waiting, or unshared).
    carried_minor: int = 0
    distributed_at: datetime | None = None
    error: str | None = None

    @property
    def carried_to(self) -> str:
        return next_month(self.month)


def _locked_pool(shop: Shop) -> Payee:
    """The shop's pool payee, locked: distributions of one pool happen one after the other."""
    pool_id = payees.for_pool(shop.id).id
    locked = db.session.scalar(
        for_update(select(Payee).where(Payee.id == pool_id)).execution_options(
            populate_existing=True
        )
    )
    assert locked is not None
    return locked


def _record_of(shop_id: int, month: str) -> PoolDistribution | None:
    return db.session.scalar(
        select(PoolDistribution).where(
            PoolDistribution.shop_id == shop_id, PoolDistribution.month == month
        )
    )


def _contributions(pool_id: int) -> list[Earning]:
    """The pool's earnings with something left to share or to give back (locked, fresh)."""
    left = Earning.amount_minor - Earning.refunded_minor - Earning.transferred_minor
    return list(
        db.session.scalars(
            for_update(
                select(Earning)
                .where(
                    Earning.payee_id == pool_id,
                    Earning.state.in_((EarningState.PENDING, EarningState.AVAILABLE)),
                    left != 0,
                )
                .order_by(Earning.id)
            ).execution_options(populate_existing=True)
        )
    )


def _settled(earning: Earning) -> bool:
    return (
        earning.state == EarningState.AVAILABLE
        and not earning.frozen
        and earning.payout_item_id is None
        and earning.source_charge_id is not None
    )


def _net_off(owing: Sequence[Earning], settled: Sequence[Earning]) -> int:
    """Cover contributions refunded after they were shared with settled ones not shared yet.

    No money moves: the refund already took the part from the pool's available. What the
    refunded contribution passed on is counted as passed on by the covering one instead, so
    both end with nothing left, as the pool's balance on the ledger says; the refund is then
    netted once, not again at every later distribution. Returns how much was covered.
    """
    netted = 0
    sources = iter(settled)
    source = next(sources, None)
    for earning in owing:
        while earning.net_minor < 0 and source is not None:
            if source.net_minor <= 0:
                source = next(sources, None)
                continue
            part = min(-earning.net_minor, source.net_minor)
            earning.transferred_minor -= part
            source.transferred_minor += part
            netted += part
    return netted


def distribute_pool(shop: Shop, month: str, *, as_of: datetime | None = None) -> Distribution:
    """Share the pool's settled contributions up to the end of `month` among its collective,
    by weight, by largest remainder, to the cent; what waits is carried to the next month.

    Once per month: the pool is locked first, so a second run (or one at the same time) finds
    the month's record and shares nothing. `as_of` lets the demo seed show the month as over.
    """
    _check_over(month, as_of)
    pool = _locked_pool(shop)
    done = _record_of(shop.id, month)
    if done is not None:
        return Distribution(
            shop.id,
            month,
            done.amount_minor,
            {},
            already=True,
            member_count=done.member_count,
            shop_name=shop.name,
            carried_minor=done.carried_minor,
            distributed_at=done.created_at,
        )
    start, end = _month_start(month), _month_end(month)
    contributions = _contributions(pool.id)
    owing = [e for e in contributions if e.net_minor < 0]
    waiting = Waiting()
    settled: list[Earning] = []
    for earning in contributions:
        if earning.net_minor <= 0 or earning.created_at >= end:
            continue  # nothing to share, or a later month's
        if _settled(earning):
            settled.append(earning)
        else:
            waiting.add(earning)
    netted = _net_off(owing, settled)
    owed = -sum(e.net_minor for e in owing)
    on_ledger = ledger.balance(ledger.available(pool.ledger_key))
    budget = max(0, min(on_ledger, sum(e.net_minor for e in settled)))
    before = {e.id: e.net_minor for e in settled}
    weights = ideas.collective_weights(shop, end)
    shares: dict[int, int] = {}
    if weights and budget > 0:
        members = list(weights)
        amounts = apportion(budget, [weights[m] for m in members])
        shares = {m: a for m, a in zip(members, amounts, strict=True) if a > 0}
        _pass_on(
            f"pool:{shop.id}:{month}",
            "pool_distribution",
            pool.id,
            settled,
            [(payees.for_user(m).id, a) for m, a in shares.items()],
            role=POOL,
            origin=f"pool:{shop.id}:{month}",
            memo=f"collective of shop {shop.id}, {month}",
        )
    amount = sum(shares.values())
    carried_in = sum(before[e.id] - e.net_minor for e in settled if e.created_at < start)
    unshared = budget - amount
    carried = waiting.total_minor + unshared
    record = PoolDistribution(
        shop_id=shop.id,
        month=month,
        amount_minor=amount,
        member_count=len(shares),
        carried_minor=carried,
    )
    db.session.add(record)
    db.session.flush()
    return Distribution(
        shop.id,
        month,
        amount,
        shares,
        member_count=len(shares),
        shop_name=shop.name,
        carried_in_minor=carried_in,
        netted_minor=netted,
        owed_minor=owed,
        unshared_minor=unshared,
        waiting=waiting,
        carried_minor=carried,
        distributed_at=record.created_at,
    )


def describe(result: Distribution) -> str:
    """One shop's distribution in a line: what was shared, what was kept, what waits."""
    if result.error is not None:
        return f"failed, nothing shared: {result.error}"
    if result.already:
        when = f" on {result.distributed_at:%Y-%m-%d}" if result.distributed_at else ""
        text = f"already distributed{when}: " + (
            f"{money(result.amount_minor)} to {result.member_count} member(s)"
            if result.amount_minor
            else "nothing was shared"
        )
        if result.carried_minor:
            text += f"; {money(result.carried_minor)} was carried to {result.carried_to}"
        return text
    parts = []
    if result.amount_minor:
        shared = f"distributed {money(result.amount_minor)} to {result.member_count} member(s)"
        if result.carried_in_minor:
            shared += f", {money(result.carried_in_minor)} of it carried from earlier months"
        parts.append(shared)
    if result.netted_minor:
        parts.append(f"{money(result.netted_minor)} kept to cover refunds of sales already shared")
    if result.owed_minor:
        parts.append(
            f"the pool still owes {money(result.owed_minor)} for refunds of sales already shared"
        )
    if result.unshared_minor:
        parts.append(f"{money(result.unshared_minor)} settled, but the collective has no member")
    waits = result.waiting.describe()
    if waits:
        parts.append("waiting: " + ", ".join(waits))
    if result.carried_minor:
        parts.append(f"{money(result.carried_minor)} carried to {result.carried_to}")
    if not parts:
        return "nothing to distribute"
    if not result.amount_minor:
        parts.insert(0, "nothing distributed")
    return "; ".join(parts)


def summarise(month: str, results: Sequence[Distribution]) -> str:
    """The run in a line: what it shared, what waits, what had been done before."""
    new = [r for r in results if not r.already and r.error is None]
    before = [r for r in results if r.already]
    failed = [r for r in results if r.error is not None]
    shared = sum(r.amount_minor for r in new)
    carried = sum(r.carried_minor for r in new)
    parts = []
    if shared:
        pools = sum(1 for r in new if r.amount_minor)
        parts.append(f"distributed {money(shared)} from {pools} pool(s)")
    elif new:
        parts.append("nothing new distributed")
    netted = sum(r.netted_minor for r in new)
    if netted:
        parts.append(f"{money(netted)} kept to cover refunds of sales already shared")
    if carried:
        parts.append(f"{money(carried)} waits, carried to {next_month(month)}")
    if before:
        then = sum(r.amount_minor for r in before)
        parts.append(
            f"{len(before)} pool(s) already distributed"
            + (f" ({money(then)} shared then)" if then else "")
        )
    if failed:
        parts.append(f"{len(failed)} pool(s) failed and will be tried again")
    return f"{month}: " + ("; ".join(parts) if parts else "no pool to distribute") + "."


def pooled_shop_ids() -> list[int]:
    """Shops with a pool now, or money left in one."""
    with_rate = select(CoCreationTerms.shop_id).where(CoCreationTerms.pool_bps > 0)
    with_payee = select(Payee.pool_shop_id).where(Payee.pool_shop_id.is_not(None))
    return sorted(
        {int(i) for i in db.session.scalars(with_rate)}
        | {int(i) for i in db.session.scalars(with_payee) if i is not None}
    )


POOL_BATCH = "payouts.pool_distribute"


def _pool_subject(shop_id: int, month: str) -> str:
    return f"pool of shop {shop_id}, {month}"


def distribute_all(
    month: str, progress: Callable[[str], None] | None = None, *, as_of: datetime | None = None
) -> list[Distribution]:
    """Distribute every pool's month, each shop in a transaction of its own: one that fails is
    logged, reported and tried again on the next run, and the others go on."""
    _check_over(month, as_of)
    say = progress or (lambda _message: None)
    results = []
    shop_ids = pooled_shop_ids()
    for index, shop_id in enumerate(shop_ids, start=1):
        name = ""
        try:
            with unit_of_work():
                shop = db.session.get(Shop, shop_id)
                if shop is None:
                    continue
                name = shop.name
                result = distribute_pool(shop, month, as_of=as_of)
                batches.clear_failure(POOL_BATCH, _pool_subject(shop_id, month))
        except Exception as error:  # one pool's failure must not stop the others
            log.exception("the pool of shop %s could not be distributed for %s", shop_id, month)
            with unit_of_work():  # shown on the payouts administration page
                batches.record_failure(POOL_BATCH, _pool_subject(shop_id, month), error)
            result = Distribution(
                shop_id, month, 0, {}, shop_name=name, error=str(error) or type(error).__name__
            )
        results.append(result)
        label = f"shop {shop_id}" + (f" ({result.shop_name})" if result.shop_name else "")
        say(f"[{index}/{len(shop_ids)}] {label}: {describe(result)}")
    return results


def pool_summary(shop: Shop) -> dict[str, Any]:
    pool = payees.find_pool_payee(shop.id)
    key = f"payee-{pool.id}" if pool is not None else None
    return {
        "pending_minor": ledger.balance(ledger.pending(key)) if key else 0,
        "available_minor": ledger.balance(ledger.available(key)) if key else 0,
        "distributions": list(
            db.session.scalars(
                select(PoolDistribution)
                .where(PoolDistribution.shop_id == shop.id)
                .order_by(PoolDistribution.month.desc())
                .limit(12)
            )
        ),
    }


pool_cli = AppGroup("pool", help="The shops' collective pools.")


@pool_cli.command("distribute")
@click.option("--month", default=None, help="The month to distribute (YYYY-MM); the last one.")
def distribute_command(month: str | None) -> None:
    """Share each pool's settled contributions of a month among its collective, once; say what
    was shared, and what waits (the hold, delivery, a dispute) and is carried to the next."""
    chosen = parse_month(month) if month else previous_month()
    try:
        results = distribute_all(chosen, progress=lambda message: click.echo(f"  {message}"))
    except MonthNotOver as error:
        raise click.BadParameter(str(error), param_hint="--month") from None
    click.echo(summarise(chosen, results))
    if any(r.error is not None for r in results):
        raise SystemExit(1)


def _pool_job() -> None:
    month = previous_month()
    log.info("%s", summarise(month, distribute_all(month, progress=log.info)))


def _pay_reward_job(reward_id: int) -> None:
    pay_from_balance(reward_id)


def _pay_rewards_job() -> None:
    pay_due_rewards()


def reward_return_urls(reward: IdeaReward) -> tuple[str, str]:
    return (
        url_for("payouts.reward_paid", reward_id=reward.id, _external=True),
        url_for("ideas.manage", _external=True) + "#rewards",
    )


def init_app(app: Flask) -> None:
    add_party_provider(app, _parties)
    ideas.add_rate_guard(app, check_rates)
    add_settings_guard(app, check_settings)
    ideas.reward_due.connect(_on_reward_due, app)
    webhooks.on(app, "checkout.session.completed", on_session_completed)
    webhooks.on(app, "checkout.session.async_payment_succeeded", on_session_completed)
    webhooks.on(app, "checkout.session.expired", on_session_expired)
    jobs.register(app, "payouts.pay_reward", _pay_reward_job)
    jobs.register(app, "payouts.pay_rewards", _pay_rewards_job)
    jobs.register(app, "payouts.sync_reward_charge", sync_reward_charge)
    jobs.register(app, "payouts.pool_distribute", _pool_job)
    app.cli.add_command(pool_cli)
