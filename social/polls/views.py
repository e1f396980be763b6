"""Poll pages: a poll (vote, results), a shop's polls, and the shop's own: its list, a new
poll, closing one early, deleting one nobody voted in."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from app import media
from app.accounts.forms import ConfirmForm
from app.accounts.services import current_person
from app.forms import apply_violation, int_arg, render_form
from app.models import utcnow
from app.rules import NotFound, RuleViolation
from app.web import viewer
from marketplace import shops
from marketplace.models import Shop
from social import ideas
from social.idea_models import IdeaStatus
from social.polls import services as polls
from social.polls.forms import SHOWN_AT_FIRST, PollForm, VoteForm
from social.polls.models import Poll, PollState
from social.views import likes_limit

blueprint = Blueprint(
    "polls",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/polls",
)


def _poll_context(poll: Poll) -> dict[str, Any]:
    who = viewer()
    now = utcnow()
    return {
        "poll": poll,
        "now": now,
        "state": poll.state(now),
        "choice": polls.choice_of(who, poll),
        "refusal": polls.vote_refusal(who, poll, now),
        "results": polls.results_shown_to(who, poll, now),
        "is_owner": who is not None and who.id == poll.shop.owner_id,
        "leaders": {option.id for option in poll.leaders},
    }


@blueprint.get("/polls/<int:poll_id>")
def show(poll_id: int) -> str:
    poll = polls.get_poll(poll_id, viewer())
    return render_template(
        "polls/show.html",
        form=VoteForm(formdata=None),
        confirm=ConfirmForm(),
        **_poll_context(poll),
    )


@blueprint.post("/polls/<int:poll_id>/vote")
@login_required
@likes_limit()
def vote(poll_id: int) -> Any:
    person = current_person()
    poll = polls.get_poll(poll_id, person)
    form = VoteForm()
    if form.validate_on_submit():
        if form.option_id.data is None:
            form.option_id.errors = [_("Choose one of the options.")]
        else:
            try:
                new = polls.vote(person, poll, form.option_id.data)
            except RuleViolation as violation:
                if violation.status == 404 and "option_id" not in violation.errors:
                    raise
                apply_violation(form, violation)
            else:
                if new:
                    flash(_("Thank you: your vote is in."), "success")
                else:
                    flash(_("You have already voted in this poll."), "info")
                return redirect(url_for("polls.show", poll_id=poll.id, _anchor="options"))
    return render_form("polls/show.html", form, confirm=ConfirmForm(), **_poll_context(poll))


@blueprint.get("/shops/<slug>/polls")
def of_shop(slug: str) -> str:
    shop = shops.shop_by_slug(slug, viewer())
    page = polls.shop_polls(shop, int_arg("page", 1, min=1))
    return render_template("polls/shop_polls.html", shop=shop, page=page, now=utcnow())


def shop_section(shop: Shop) -> Any:
    """On a shop page: its polls open now, to vote in."""
    found = polls.open_polls(shop_id=shop.id)
    if not found:
        return ""
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template("polls/_section.html", shop=shop, polls=found)
    )


def idea_section(*, idea_id: int | None = None, call_id: int | None = None) -> Markup:
    """On an idea's or a call's page: the polls open about it."""
    found = polls.open_polls(idea_id=idea_id, call_id=call_id)
    if not found:
        return Markup("")
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template("polls/_section.html", shop=None, polls=found)
    )


# --- the shop's own ---------------------------------------------------------------------------


def _my_shop() -> Shop:
    found = shops.shop_of(current_person())
    if found is None:
        raise NotFound(_("Open a shop first: polls are asked by shops."))
    return found


def _own_poll(poll_id: int) -> Poll:
    shop = _my_shop()
    poll = polls.get_poll(poll_id, current_person())
    if poll.shop_id != shop.id:
        raise NotFound(_("There is no such poll."))
    return poll


@blueprint.get("/shop/polls")
@login_required
def manage() -> str:
    shop = _my_shop()
    page = polls.shop_polls(shop, int_arg("page", 1, min=1))
    return render_template(
        "polls/manage.html", shop=shop, page=page, now=utcnow(), confirm=ConfirmForm()
    )


def _end_of(day: Any) -> datetime:
    return datetime.combine(day, time.max, tzinfo=UTC).replace(microsecond=0)


def _start_of(day: Any) -> datetime:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return max(start, utcnow())


def _picture(storage: Any) -> bytes | None:
    if isinstance(storage, FileStorage) and storage.filename:
        return media.read_upload(storage.stream, field_name="options")
    return None


def _choices(form: PollForm, shop: Shop) -> None:
    live = ideas.list_ideas(shop_id=shop.id, sort="newest", page=1, per_page=100)
    form.idea_id.choices = [("", _("None"))] + [
        (str(idea.id), idea.title) for idea in live.items if idea.status in IdeaStatus.LIVE
    ]
    form.call_id.choices = [("", _("None"))] + [
        (str(call.id), call.title) for call in ideas.calls_of(shop.id)
    ]


@blueprint.route("/shop/polls/new", methods=["GET", "POST"])
@login_required
def new() -> Any:
    shop = _my_shop()
    form = PollForm()
    _choices(form, shop)
    if request.method == "GET":
        today = utcnow().date()
        form.opens_on.data = today
        form.closes_on.data = today + timedelta(days=7)
        idea = int_arg("idea")
        call = int_arg("call")
        form.idea_id.data = idea
        form.call_id.data = call
    if form.validate_on_submit():
        try:
            options = []
            for row in form.options:
                label, picture = (row.title.data or "").strip(), _picture(row.picture.data)
                if label or picture:  # the rows left empty are not options
                    options.append(polls.OptionInput(label, picture))
            poll = polls.open_poll(
                current_person(),
                shop,
                polls.PollInput(
                    question=form.question.data or "",
                    details=form.details.data or "",
                    opens_at=_start_of(form.opens_on.data),
                    closes_at=_end_of(form.closes_on.data),
                    results_shown=form.results_shown.data or "",
                    idea_id=form.idea_id.data,
                    call_id=form.call_id.data,
                    options=options,
                ),
            )
        except RuleViolation as violation:
            if violation.errors.get("closes_at"):
                violation.errors["closes_on"] = violation.errors.pop("closes_at")
            if violation.errors.get("opens_at"):
                violation.errors["opens_on"] = violation.errors.pop("opens_at")
            apply_violation(form, violation)
        else:
            if poll.state(utcnow()) == PollState.OPEN:
                flash(_("Your poll is open: your followers see it in their feed."), "success")
            else:
                flash(_("Your poll is scheduled."), "success")
            return redirect(url_for("polls.show", poll_id=poll.id))
    return render_form("polls/form.html", form, shop=shop, shown_at_first=SHOWN_AT_FIRST)


@blueprint.post("/shop/polls/<int:poll_id>/close")
@login_required
def close(poll_id: int) -> Response:
    poll = _own_poll(poll_id)
    if ConfirmForm().validate_on_submit():
        try:
            polls.close_now(current_person(), poll)
        except RuleViolation as violation:
            flash(violation.message, "error")
        else:
            flash(_("The poll is closed and its result is in your followers' feeds."), "success")
    return redirect(url_for("polls.show", poll_id=poll.id))


@blueprint.post("/shop/polls/<int:poll_id>/delete")
@login_required
def delete(poll_id: int) -> Response:
    poll = _own_poll(poll_id)
    if ConfirmForm().validate_on_submit():
        try:
            polls.delete_poll(current_person(), poll)
        except RuleViolation as violation:
            flash(violation.message, "error")
            return redirect(url_for("polls.show", poll_id=poll.id))
        flash(_("The poll is deleted."), "success")
    return redirect(url_for("polls.manage"))
