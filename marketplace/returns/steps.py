"""The steps of a return, each under the order's lock, each told to the other side.

Every step locks the order first (the aggregate of its lines, refunds and returns), then
reads the return again: two clicks, two moderators, or the sweep during a click, all see
what the first one committed, so a return moves once and is refunded once. A refund is only
recorded here (pending); the caller sends it with `orders.deliver_refund`, which commits
before calling Stripe, exactly as a seller's own refund does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from app import mail
from app.accounts.models import User
from app.database import for_update
from app.extensions import db
from app.models import utcnow
from app.rules import Conflict, Forbidden, NotFound, RuleViolation
from marketplace import orders, signals
from marketplace.order_models import Order, Refund
from marketplace.returns import policy
from marketplace.returns.models import (
    ANSWER_MAX,
    PHOTOS_MAX,
    REASON_TEXT_MAX,
    ReturnEvent,
    ReturnLine,
    ReturnPhoto,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from marketplace.text import plain_text

PHOTO_THUMBNAIL = 400


def _app():
    return current_app._get_current_object()  # type: ignore[attr-defined]


# --- who sees what ---------------------------------------------------------------------------


def _find(return_id: int) -> ReturnRequest:
    found = db.session.get(ReturnRequest, return_id)
    if found is None:
        raise NotFound(_("There is no such return."))
    return found


def fresh(return_id: int) -> ReturnRequest:
    """The return as committed now (after its refund was sent)."""
    found = _find(return_id)
    db.session.refresh(found)
    return found


def is_moderator(user: User | None) -> bool:
    return bool(user is not None and user.is_admin)


def _is_seller(user: User, found: ReturnRequest) -> bool:
    return found.order.shop.owner_id == user.id


def for_buyer(user: User, return_id: int) -> ReturnRequest:
    found = _find(return_id)
    if found.buyer_id != user.id:
        raise NotFound(_("There is no such return."))
    return found


def for_seller(user: User, return_id: int) -> ReturnRequest:
    found = _find(return_id)
    if not _is_seller(user, found):
        raise NotFound(_("There is no such return."))
    return found


def for_either(user: User, return_id: int) -> ReturnRequest:
    """The buyer, the seller, or a moderator once it was taken to them."""
    found = _find(return_id)
    if found.buyer_id == user.id or _is_seller(user, found):
        return found
    if is_moderator(user) and _was_escalated(found):
        return found
    raise NotFound(_("There is no such return."))


def _was_escalated(found: ReturnRequest) -> bool:
    return found.status == ReturnStatus.ESCALATED or any(
        e.kind == "escalated" for e in found.events
    )


def of_order(order: Order) -> list[ReturnRequest]:
    return list(
        db.session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.order_id == order.id)
            .order_by(ReturnRequest.id.desc())
        )
    )


def of_shop(shop_id: int, *, open_only: bool = True, limit: int = 100) -> list[ReturnRequest]:
    query = select(ReturnRequest).where(ReturnRequest.shop_id == shop_id)
    if open_only:
        query = query.where(ReturnRequest.status.in_(ReturnStatus.OPEN))
    return list(db.session.scalars(query.order_by(ReturnRequest.created_at.desc()).limit(limit)))


def escalated(moderator: User, limit: int = 100) -> list[ReturnRequest]:
    if not is_moderator(moderator):
        raise Forbidden(_("Only moderators can do that."))
    return list(
        db.session.scalars(
            select(ReturnRequest)
            .where(ReturnRequest.status == ReturnStatus.ESCALATED)
            .order_by(ReturnRequest.updated_at)
            .limit(limit)
        )
    )


def _locked(return_id: int) -> ReturnRequest:
    """Lock the return's order, then the return, and read both as committed."""
    order_id = db.session.scalar(
        select(ReturnRequest.order_id).where(ReturnRequest.id == return_id)
    )
    if order_id is None:
        raise NotFound(_("There is no such return."))
    orders.lock_order(order_id)
    found = db.session.scalar(
        for_update(select(ReturnRequest).where(ReturnRequest.id == return_id))
    )
    assert found is not None
    return found


# --- telling the other side ------------------------------------------------------------------


def _step(
    found: ReturnRequest, kind: str, actor: User | None, recipients: list[User], **details: object
) -> None:
    found.updated_at = utcnow()
    found.events.append(
        ReturnEvent(kind=kind, actor_id=actor.id if actor else None, details=dict(details))
    )
    db.session.flush()
    for person in recipients:
        if actor is not None and person.id == actor.id:
            continue
        signals.return_updated.send(
            _app(), return_request=found, step=kind, actor=actor, recipient_id=person.id
        )
        _email(person, found, kind)


def _email(person: User, found: ReturnRequest, kind: str) -> None:
    order = found.order
    as_buyer = person.id == found.buyer_id
    with force_locale(person.locale or "en"):
        subjects = {
            "requested": _("A return was asked for on order %(ref)s", ref=order.reference),
            "withdrawn": _("A return on order %(ref)s was withdrawn", ref=order.reference),
            "accepted": _("Your return on order %(ref)s was accepted", ref=order.reference),
            "auto_accepted": _("Your return on order %(ref)s was accepted", ref=order.reference)
            if as_buyer
            else _("Kindred accepted a return on order %(ref)s", ref=order.reference),
            "refused": _("Your return on order %(ref)s was refused", ref=order.reference),
            "escalated": _("A return on order %(ref)s went to Kindred", ref=order.reference),
            "decided_for_buyer": _(
                "Kindred's decision on the return of order %(ref)s", ref=order.reference
            ),
            "upheld": _("Kindred's decision on the return of order %(ref)s", ref=order.reference),
            "received": _("Your return on order %(ref)s is being refunded", ref=order.reference),
            "auto_refunded": _(
                "Your return on order %(ref)s is being refunded", ref=order.reference
            )
            if as_buyer
            else _("Kindred refunded a return on order %(ref)s", ref=order.reference),
        }
        mail.send(
            person.email,
            subjects[kind],
            "returns/step",
            user=person,
            return_request=found,
            order=order,
            step=kind,
            as_buyer=as_buyer,
        )


def _buyer(found: ReturnRequest) -> list[User]:
    return [found.buyer]


def _seller(found: ReturnRequest) -> list[User]:
    return [found.order.shop.owner]


# --- asking ----------------------------------------------------------------------------------


@dataclass
class ReturnAsk:
    # How many of each order line (by id) go back; lines not named stay.
    quantities: dict[int, int] = field(default_factory=dict)
    reason: str = ""
    reason_text: str = ""
    photos: list[bytes] = field(default_factory=list)


def _clean(text: str, field_name: str, maximum: int) -> str:
    clean = plain_text(text or "").strip()
    if len(clean) > maximum:
        raise RuleViolation(_("Use at most %(max)d characters.", max=maximum), field=field_name)
    return clean


def ask(buyer: User, order_id: int, request: ReturnAsk) -> ReturnRequest:
    """The buyer asks to send back some lines, within the window, never more than is left."""
    order = orders.order_for_buyer(buyer, order_id, lock=True)
    window = policy.window(order)
    if not window.accepts_returns:
        raise Conflict(_("%(shop)s does not accept returns.", shop=order.shop.name))
    if window.starts_at is None:
        raise Conflict(_("You can ask for a return once the order has shipped."))
    if not window.is_open():
        raise Conflict(_("The return window of this order has closed."))
    if request.reason not in ReturnReason.ALL:
        raise RuleViolation(_("Choose a reason from the list."), field="reason")
    reason_text = _clean(request.reason_text, "reason_text", REASON_TEXT_MAX)
    if request.reason == ReturnReason.OTHER and not reason_text:
        raise RuleViolation(_("Tell the seller what is wrong."), field="reason_text")
    if len(request.photos) > PHOTOS_MAX:
        raise RuleViolation(_("Add at most %(max)d photos.", max=PHOTOS_MAX), field="photos")
    lines = {line.id: line for line in order.lines}
    left = policy.returnable(order)
    errors: dict[str, list[str]] = {}
    wanted: list[ReturnLine] = []
    for line_id, quantity in request.quantities.items():
        if line_id not in lines:
            raise NotFound(_("That line is not part of this order."))
        if quantity < 0:
            errors[f"line-{line_id}"] = [_("A quantity cannot be negative.")]
        elif quantity > left[line_id]:
            errors[f"line-{line_id}"] = [
                _("At most %(left)d of this item can be returned.", left=left[line_id])
                if left[line_id]
                else _("This item cannot be returned again.")
            ]
        elif quantity:
            wanted.append(ReturnLine(order_line_id=line_id, quantity=quantity))
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors)
    if not wanted:
        raise RuleViolation(_("Choose at least one item to return."), field="lines")
    found = ReturnRequest(
        order_id=order.id,
        shop_id=order.shop_id,
        buyer_id=buyer.id,
        reason=request.reason,
        reason_text=reason_text,
        due_at=utcnow() + timedelta(days=policy.answer_days()),
    )
    found.lines = wanted
    _store_photos(found, request.photos)
    db.session.add(found)
    db.session.flush()
    _step(found, "requested", buyer, _seller(found))
    return found


def add_photos(buyer: User, return_id: int, photos: list[bytes]) -> ReturnRequest:
    """The buyer adds photos while the seller has not answered (4 in all)."""
    for_buyer(buyer, return_id)
    found = _locked(return_id)
    if found.status != ReturnStatus.REQUESTED:
        raise Conflict(_("Photos can be added until the seller answers."))
    if not photos:
        raise RuleViolation(_("Choose at least one photo."), field="photos")
    if len(found.photos) + len(photos) > PHOTOS_MAX:
        raise RuleViolation(_("Add at most %(max)d photos.", max=PHOTOS_MAX), field="photos")
    _store_photos(found, photos)
    db.session.flush()
    return found


def _store_photos(found: ReturnRequest, photos: list[bytes]) -> None:
    from app import media

    # Every photo is checked and re-encoded before any file is written.
    prepared = [
        media.prepare_image(data, thumbnail_sizes=(PHOTO_THUMBNAIL,), field_name="photos")
        for data in photos
    ]
    for stored in media.save(*prepared):
        found.photos.append(
            ReturnPhoto(
                key=stored.key,
                thumbnail_key=stored.thumbnails.get(PHOTO_THUMBNAIL, stored.key),
                width=stored.width,
                height=stored.height,
            )
        )


def withdraw(buyer: User, return_id: int) -> ReturnRequest:
    for_buyer(buyer, return_id)
    found = _locked(return_id)
    if found.status not in (ReturnStatus.REQUESTED, ReturnStatus.REFUSED):
        raise Conflict(_("This return can no longer be withdrawn."))
    found.status, found.due_at = ReturnStatus.WITHDRAWN, None
    _step(found, "withdrawn", buyer, _seller(found))
    return found


# --- the seller's answer ---------------------------------------------------------------------


def accept(seller: User, return_id: int, instructions: str) -> ReturnRequest:
    for_seller(seller, return_id)
    clean = _clean(instructions, "instructions", ANSWER_MAX)
    if not clean:
        raise RuleViolation(
            _("Tell the buyer where and how to send it back."), field="instructions"
        )
    found = _locked(return_id)
    if found.status != ReturnStatus.REQUESTED:
        raise Conflict(_("This return was already answered."))
    _accepted(found, clean)
    _step(found, "accepted", seller, _buyer(found), instructions=clean)
    return found


def _accepted(found: ReturnRequest, instructions: str) -> None:
    found.status = ReturnStatus.ACCEPTED
    found.instructions = instructions
    found.due_at = utcnow() + timedelta(days=policy.receipt_days())


def refuse(seller: User, return_id: int, reason: str) -> ReturnRequest:
    for_seller(seller, return_id)
    clean = _clean(reason, "reason", ANSWER_MAX)
    if not clean:
        raise RuleViolation(_("Tell the buyer why you refuse."), field="reason")
    found = _locked(return_id)
    if found.status != ReturnStatus.REQUESTED:
        raise Conflict(_("This return was already answered."))
    found.status, found.refusal_reason, found.due_at = ReturnStatus.REFUSED, clean, None
    _step(found, "refused", seller, _buyer(found), reason=clean)
    return found


# --- the moderators --------------------------------------------------------------------------


def escalate(buyer: User, return_id: int, note: str) -> ReturnRequest:
    for_buyer(buyer, return_id)
    clean = _clean(note, "note", ANSWER_MAX)
    found = _locked(return_id)
    if found.status != ReturnStatus.REFUSED:
        raise Conflict(_("Only a refused return can be taken to Kindred."))
    found.status, found.escalation_note = ReturnStatus.ESCALATED, clean
    _step(found, "escalated", buyer, _seller(found), note=clean)
    return found


def decide(moderator: User, return_id: int, *, for_buyer: bool, note: str) -> ReturnRequest:
    """A moderator accepts the return for the buyer (the seller then receives it as usual),
    or upholds the seller's refusal. Two moderators at once: the second finds it decided."""
    if not is_moderator(moderator):
        raise Forbidden(_("Only moderators can do that."))
    clean = _clean(note, "note", ANSWER_MAX)
    found = _locked(return_id)
    if found.status != ReturnStatus.ESCALATED:
        raise Conflict(_("This return was already decided."))
    found.decision_note = clean
    if for_buyer:
        _accepted(found, clean)
        _step(found, "decided_for_buyer", moderator, _buyer(found) + _seller(found), note=clean)
    else:
        found.status, found.due_at = ReturnStatus.CLOSED, None
        _step(found, "upheld", moderator, _buyer(found) + _seller(found), note=clean)
    return found


# --- the refund ------------------------------------------------------------------------------


def receive(seller: User, return_id: int, *, restock: bool = True) -> Refund | None:
    """The seller has the parcel back: refund the returned lines through the orders' refund
    path (recorded here, sent by the caller). A second click finds it refunded."""
    for_seller(seller, return_id)
    found = _locked(return_id)
    if found.status == ReturnStatus.REFUNDED:
        raise Conflict(_("This return is already refunded."))
    if found.status != ReturnStatus.ACCEPTED:
        raise Conflict(_("Only an accepted return can be marked as received."))
    return _refund(found, seller, "received", restock=restock)


def _refund(found: ReturnRequest, actor: User | None, kind: str, *, restock: bool) -> Refund | None:
    order = found.order
    returnable = policy.returnable(order, ignoring=found.id)
    left = policy.left_to_refund(order)
    amounts: dict[int, int] = {}
    quantities: dict[int, int] = {}
    for return_line in found.lines:
        line = return_line.order_line
        quantity = min(return_line.quantity, returnable.get(line.id, 0))
        amounts[line.id] = (
            policy.refund_amount(line, quantity, returnable.get(line.id, 0), left.get(line.id, 0))
            if quantity
            else 0
        )
        quantities[line.id] = return_line.quantity
    found.status, found.due_at, found.restock = ReturnStatus.REFUNDED, None, restock
    refund: Refund | None = None
    if sum(amounts.values()) > 0:
        refund = orders.request_refund(
            order.shop.owner,
            order,
            orders.RefundRequest(
                lines={k: v for k, v in amounts.items() if v},
                restock=restock,
                restock_quantities=quantities,
                reason=_reason(found),
            ),
        )
        found.refund_id = refund.id
    _step(
        found,
        kind,
        actor,
        _buyer(found) + ([] if actor else _seller(found)),
        amount=refund.amount_minor if refund else 0,
        restock=restock,
    )
    return refund


def _reason(found: ReturnRequest) -> str:
    # Stored on the refund (the buyer's e-mail and the order's timeline show it): the
    # deployment's language, short.
    return f"Return #{found.id}"


# --- when the seller does not act ------------------------------------------------------------


def due(limit: int = 200) -> list[int]:
    return list(
        db.session.scalars(
            select(ReturnRequest.id)
            .where(
                ReturnRequest.status.in_(ReturnStatus.FOR_SELLER),
                ReturnRequest.due_at <= utcnow(),
            )
            .order_by(ReturnRequest.due_at)
            .limit(limit)
        )
    )


def status_of(return_id: int) -> str | None:
    found: str | None = db.session.scalar(
        select(ReturnRequest.status).where(ReturnRequest.id == return_id)
    )
    return found


def settle_due(return_id: int) -> Refund | None:
    """The platform decides for a seller who did not act in time: a request unanswered is
    accepted; an accepted return not marked received is refunded (nothing restocked: the
    seller did not say it came back). Does nothing if the seller acted meanwhile."""
    found = _locked(return_id)
    if found.due_at is None or found.due_at > utcnow():
        return None
    if found.status == ReturnStatus.REQUESTED:
        _accepted(found, "")
        _step(found, "auto_accepted", None, _buyer(found) + _seller(found))
        return None
    if found.status == ReturnStatus.ACCEPTED:
        return _refund(found, None, "auto_refunded", restock=False)
    return None
