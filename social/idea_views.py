"""Pages of co-creation: the ideas home, a shop's board, calls, an idea (votes, comments, the
shop's review), submitting and editing, the shop's co-creation settings, and "my ideas"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.accounts.forms import ConfirmForm
from app.accounts.services import current_person, user_by_handle
from app.forms import apply_violation, int_arg, render_form, whole_number
from app.page_cache import cached_page
from app.rules import NotFound, RuleViolation
from app.web import uploads, viewer
from marketplace import categories, shops
from marketplace.models import Product, Shop
from social import ideas, reactions
from social.forms import CommentForm
from social.hooks import idea_manage_sections
from social.idea_forms import AdoptForm, CallForm, DeclineForm, IdeaForm, MemberForm, TermsForm
from social.idea_models import Idea, IdeaCall, IdeaStatus
from social.models import Target
from social.views import likes_limit

blueprint = Blueprint("ideas", __name__, template_folder="templates")

STATUS_FILTERS = ("", *IdeaStatus.LIVE, IdeaStatus.DECLINED)


def _listing_args() -> tuple[str, str, int]:
    sort = request.args.get("sort", "votes")
    status = request.args.get("status", "")
    return (
        sort if sort in ideas.SORTS else "votes",
        status if status in STATUS_FILTERS else "",
        int_arg("page", 1, min=1),
    )


def _board_context(page: Any) -> dict[str, Any]:
    who = viewer()
    return {
        "page": page,
        "voted": ideas.voted_ids(who, [i.id for i in page.items]),
        "sort": request.args.get("sort", "votes"),
        "status": request.args.get("status", ""),
        "statuses": STATUS_FILTERS,
    }


# --- browsing ---------------------------------------------------------------------------------


@blueprint.get("/ideas")
@cached_page
def index() -> str:
    sort, status, page_number = _listing_args()
    page = ideas.list_ideas(sort=sort, status=status, page=page_number)
    return render_template(
        "social/ideas/index.html", calls=ideas.open_calls(), **_board_context(page)
    )


@blueprint.get("/shops/<slug>/ideas")
def board(slug: str) -> str:
    shop = shops.shop_by_slug(slug, viewer())
    sort, status, page_number = _listing_args()
    page = ideas.list_ideas(shop_id=shop.id, sort=sort, status=status, page=page_number)
    return render_template(
        "social/ideas/board.html",
        shop=shop,
        terms=ideas.terms_of(shop.id),
        calls=ideas.calls_of(shop.id, open_only=True),
        **_board_context(page),
    )


@blueprint.get("/ideas/calls/<int:call_id>")
def call(call_id: int) -> str:
    found = ideas.get_call(call_id)
    sort, status, page_number = _listing_args()
    page = ideas.list_ideas(call_id=found.id, sort=sort, status=status, page=page_number)
    return render_template(
        "social/ideas/call.html",
        call=found,
        shop=found.shop,
        is_open=found.is_open(datetime.now(UTC)),
        confirm=ConfirmForm(),
        **_board_context(page),
    )


@blueprint.get("/ideas/<int:idea_id>")
def show(idea_id: int) -> str:
    who = viewer()
    idea = ideas.visible_idea(idea_id, who)
    is_owner = who is not None and who.id == idea.shop.owner_id
    adopt_form = decline_form = None
    if is_owner and idea.status in IdeaStatus.REVIEWABLE:
        adopt_form = _adopt_form(idea, formdata=None)
        decline_form = DeclineForm(formdata=None)
    return render_template(
        "social/ideas/show.html",
        idea=idea,
        voted=who is not None and ideas.has_voted(who.id, idea.id),
        can_vote=ideas.can_vote(who, idea),
        is_owner=is_owner,
        is_author=who is not None and who.id == idea.author_id,
        threads=reactions.comments_on(Target.IDEA, idea.id),
        comment_form=CommentForm(formdata=None, target_type=Target.IDEA, target_id=idea.id),
        adopt_form=adopt_form,
        decline_form=decline_form,
        confirm=ConfirmForm(),
        rewards=ideas.rewards(author_id=None, shop_id=idea.shop_id, limit=200) if is_owner else [],
        agreement=next(
            (a for a in ideas.product_agreements(idea.product_id or 0) if a.idea_id == idea.id),
            None,
        ),
        min_age_hours=int(ideas.min_account_age().total_seconds() // 3600),
    )


@blueprint.get("/ideas/mine")
@login_required
def mine() -> str:
    person = current_person()
    page = ideas.list_ideas(
        author_id=person.id,
        sort="newest",
        page=int_arg("page", 1, min=1),
        include_withdrawn=True,
    )
    return render_template(
        "social/ideas/mine.html",
        page=page,
        rewards=ideas.rewards(author_id=person.id),
    )


# --- submitting and editing -------------------------------------------------------------------


@blueprint.route("/shops/<slug>/ideas/new", methods=["GET", "POST"])
@login_required
def submit(slug: str) -> Any:
    shop = shops.shop_by_slug(slug, viewer())
    call_id = int_arg("call", values=request.values)
    chosen = ideas.get_call(call_id) if call_id else None
    form = IdeaForm()
    if form.validate_on_submit():
        try:
            idea = ideas.submit_idea(
                current_person(),
                shop,
                form.title.data or "",
                form.description.data or "",
                uploads(form.images, "images"),
                call=chosen,
            )
        except RuleViolation as violation:
            if violation.status == 404:
                raise
            apply_violation(form, violation)
        else:
            flash(_("Your idea is in. People can vote for it now."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    return render_form(
        "social/ideas/idea_form.html",
        form,
        shop=shop,
        call=chosen,
        terms=ideas.terms_of(shop.id),
        idea=None,
    )


@blueprint.route("/ideas/<int:idea_id>/edit", methods=["GET", "POST"])
@login_required
def edit(idea_id: int) -> Any:
    person = current_person()
    idea = ideas.visible_idea(idea_id, person)
    if idea.author_id != person.id:
        raise NotFound(_("There is no such idea."))
    form = IdeaForm(obj=idea) if request.method == "GET" else IdeaForm()
    if form.validate_on_submit():
        try:
            ideas.update_idea(
                person,
                idea,
                form.title.data or "",
                form.description.data or "",
                uploads(form.images, "images"),
                [
                    number
                    for raw in request.form.getlist("remove_image")
                    if (number := whole_number(raw, min=1)) is not None
                ],
            )
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Your idea is saved."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    return render_form(
        "social/ideas/idea_form.html", form, shop=idea.shop, call=idea.call, terms=None, idea=idea
    )


@blueprint.post("/ideas/<int:idea_id>/withdraw")
@login_required
def withdraw(idea_id: int) -> Response:
    person = current_person()
    idea = ideas.visible_idea(idea_id, person)
    if ConfirmForm().validate_on_submit():
        ideas.withdraw_idea(person, idea)
        flash(_("Your idea is withdrawn."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id))


# --- votes ------------------------------------------------------------------------------------


@blueprint.post("/ideas/<int:idea_id>/vote")
@login_required
@likes_limit()
def vote(idea_id: int) -> Response:
    person = current_person()
    idea = ideas.visible_idea(idea_id, person)
    if ConfirmForm().validate_on_submit():
        try:
            ideas.vote(person, idea)
        except RuleViolation as violation:
            flash(violation.message, "error")
            return redirect(url_for("ideas.show", idea_id=idea.id), 303)
        flash(_("Thank you for your vote."), "success")
    return redirect(_back(idea))


@blueprint.post("/ideas/<int:idea_id>/unvote")
@login_required
@likes_limit()
def unvote(idea_id: int) -> Response:
    person = current_person()
    idea = ideas.visible_idea(idea_id, person)
    if ConfirmForm().validate_on_submit():
        ideas.unvote(person, idea)
        flash(_("Your vote is withdrawn."), "success")
    return redirect(_back(idea))


def _back(idea: Idea) -> str:
    from app.security import safe_next

    return safe_next(request.form.get("next"), url_for("ideas.show", idea_id=idea.id))


# --- the shop's review ------------------------------------------------------------------------


def _own_idea(idea_id: int) -> Idea:
    person = current_person()
    idea = ideas.visible_idea(idea_id, person)
    if idea.shop.owner_id != person.id:
        raise NotFound(_("There is no such idea."))
    return idea


@blueprint.post("/ideas/<int:idea_id>/shortlist")
@login_required
def shortlist(idea_id: int) -> Response:
    idea = _own_idea(idea_id)
    if ConfirmForm().validate_on_submit():
        try:
            ideas.shortlist(current_person(), idea)
        except RuleViolation as violation:
            flash(violation.message, "error")
            return redirect(url_for("ideas.show", idea_id=idea.id), 303)
        flash(_("Shortlisted. Its author is told."), "success")
    return redirect(url_for("ideas.show", idea_id=idea.id))


@blueprint.route("/ideas/<int:idea_id>/decline", methods=["GET", "POST"])
@login_required
def decline(idea_id: int) -> Any:
    idea = _own_idea(idea_id)
    form = DeclineForm()
    if form.validate_on_submit():
        try:
            ideas.decline(current_person(), idea, form.reason.data or "")
        except RuleViolation as violation:
            apply_violation(form, violation)
        else:
            flash(_("Declined. Its author is told why."), "success")
            return redirect(url_for("ideas.show", idea_id=idea.id))
    return render_form("social/ideas/decline.html", form, idea=idea)


def _adopt_form(idea: Idea, formdata: Any = ...) -> AdoptForm:
    form = AdoptForm() if formdata is ... else AdoptForm(formdata=formdata)
    form.product_id.choices = [(0, _("Choose a product")), *ideas.products_to_adopt_into(idea)]
    form.category.choices = [("", _("Choose a category")), *categories.leaf_choices()]
    if not form.category.data:
        form.category.data = ideas.usual_category(idea.shop_id)
    return form


@blueprint.route("/ideas/<int:idea_id>/adopt", methods=["GET", "POST"])
@login_required
def adopt(idea_id: int) -> Any:
    idea = _own_idea(idea_id)
    form = _adopt_form(idea)
    if form.validate_on_submit() and _adopted(form, idea):
        flash(_("Adopted. Its author now shares every sale of the product."), "success")
        if form.mode.data == "link":
            return redirect(url_for("ideas.show", idea_id=idea.id))
        return redirect(url_for("seller.edit_product", product_id=idea.product_id))
    return render_form("social/ideas/adopt.html", form, idea=idea)


def _adopted(form: AdoptForm, idea: Idea) -> bool:
    try:
        if form.mode.data == "link":
            ideas.adopt(current_person(), idea, product_id=form.product_id.data or -1)
            return True
        ideas.adopt(
            current_person(),
            idea,
            new_product=ideas.NewProduct(
                form.price.data, form.stock.data or 0, form.category.data or ""
            ),
        )
        return True
    except RuleViolation as violation:
        for name in ("price_minor", "variants"):
            if name in violation.errors:
                form.price.errors = [*list(form.price.errors or []), *violation.errors[name]]
        apply_violation(form, violation)
        return False


# --- the shop's co-creation page --------------------------------------------------------------


def _promise_from(form: Any) -> ideas.Promise:
    return ideas.Promise(
        shortlist_reward_minor=form.shortlist_reward.data or 0,
        threshold_votes=form.threshold_votes.data,
        threshold_reward_minor=form.threshold_reward.data or 0,
        royalty_bps=form.royalty_percent.data or 0,
    )


def _fill_promise(form: Any, source: Any) -> None:
    form.shortlist_reward.data = source.shortlist_reward_minor or None
    form.threshold_votes.data = source.threshold_votes
    form.threshold_reward.data = source.threshold_reward_minor or None
    form.royalty_percent.data = source.royalty_bps or None


def _my_shop() -> Shop:
    found = shops.shop_of(current_person())
    if found is None:
        raise NotFound(_("Open a shop first: ideas are given to shops."))
    return found


@blueprint.route("/shop/ideas", methods=["GET", "POST"])
@login_required
def manage() -> Any:
    shop = _my_shop()
    terms = ideas.terms_of(shop.id)
    form = TermsForm()
    if request.method == "GET" and terms is not None:
        _fill_promise(form, terms)
        form.accepts_ideas.data = terms.accepts_ideas
        form.pool_percent.data = terms.pool_bps or None
    if form.validate_on_submit():
        try:
            ideas.update_terms(
                current_person(),
                shop,
                ideas.TermsChange(
                    **vars(_promise_from(form)),
                    accepts_ideas=bool(form.accepts_ideas.data),
                    pool_bps=form.pool_percent.data or 0,
                ),
            )
        except RuleViolation as violation:
            _place(form, violation)
        else:
            flash(_("Your co-creation terms are saved."), "success")
            return redirect(url_for("ideas.manage"))
    sections = [Markup(section(shop)) for section in idea_manage_sections()]  # noqa: S704
    return render_form(
        "social/ideas/manage.html",
        form,
        shop=shop,
        calls=ideas.calls_of(shop.id),
        members=ideas.named_members(shop.id),
        member_form=MemberForm(formdata=None),
        confirm=ConfirmForm(),
        sections=sections,
        page=ideas.list_ideas(shop_id=shop.id, status=IdeaStatus.SUBMITTED, per_page=10),
    )


def _place(form: Any, violation: RuleViolation) -> None:
    """Rates and rewards are typed as percentages and amounts: errors go to those fields."""
    names = {
        "royalty_bps": "royalty_percent",
        "pool_bps": "pool_percent",
        "shortlist_reward_minor": "shortlist_reward",
        "threshold_reward_minor": "threshold_reward",
    }
    for name, messages in violation.errors.items():
        field = getattr(form, names.get(name, name), None)
        if field is not None:
            field.errors = [*list(field.errors or []), *messages]
        else:
            form.form_errors.append(violation.message)


def _deadline(form: CallForm) -> datetime | None:
    if not form.deadline.data:
        return None
    return datetime.combine(form.deadline.data, time(23, 59), tzinfo=UTC)


@blueprint.route("/shop/ideas/calls/new", methods=["GET", "POST"])
@login_required
def new_call() -> Any:
    shop = _my_shop()
    form = CallForm()
    if request.method == "GET":
        terms = ideas.terms_of(shop.id)
        if terms is not None:
            _fill_promise(form, terms)
    created = _save_call(form, lambda data: ideas.open_call(current_person(), shop, data))
    if created is not None:
        flash(_("Your call for ideas is open."), "success")
        return redirect(url_for("ideas.call", call_id=created.id))
    return render_form("social/ideas/call_form.html", form, shop=shop, call=None)


def _save_call(form: CallForm, save: Callable[[ideas.CallInput], IdeaCall]) -> IdeaCall | None:
    """Open or change a call from its form; None (with the errors on the form) when refused."""
    if not form.validate_on_submit():
        return None
    data = ideas.CallInput(
        **vars(_promise_from(form)),
        title=form.title.data or "",
        brief=form.brief.data or "",
        deadline=_deadline(form),
    )
    try:
        return save(data)
    except RuleViolation as violation:
        _place(form, violation)
        return None


def _own_call(call_id: int) -> IdeaCall:
    found = ideas.get_call(call_id)
    if found.shop.owner_id != current_person().id:
        raise NotFound(_("There is no such call for ideas."))
    return found


@blueprint.route("/shop/ideas/calls/<int:call_id>/edit", methods=["GET", "POST"])
@login_required
def edit_call(call_id: int) -> Any:
    found = _own_call(call_id)
    form = CallForm(obj=found) if request.method == "GET" else CallForm()
    if request.method == "GET":
        _fill_promise(form, found)
        form.deadline.data = found.deadline.date() if found.deadline else None
    if _save_call(form, lambda data: ideas.update_call(current_person(), found, data)):
        flash(_("Your call for ideas is saved."), "success")
        return redirect(url_for("ideas.call", call_id=found.id))
    return render_form("social/ideas/call_form.html", form, shop=found.shop, call=found)


@blueprint.post("/shop/ideas/calls/<int:call_id>/close")
@login_required
def close_call(call_id: int) -> Response:
    found = _own_call(call_id)
    if ConfirmForm().validate_on_submit():
        ideas.close_call(current_person(), found)
        flash(_("The call is closed: no new ideas can be submitted to it."), "success")
    return redirect(url_for("ideas.call", call_id=found.id))


@blueprint.post("/shop/ideas/members")
@login_required
def add_member() -> Any:
    shop = _my_shop()
    form = MemberForm()
    if form.validate_on_submit():
        try:
            member = user_by_handle((form.handle.data or "").strip().lstrip("@"))
            ideas.name_member(current_person(), shop, member, form.weight.data or 1)
        except RuleViolation as violation:
            flash(violation.message, "error")
        else:
            flash(_("%(name)s is part of your collective.", name=member.name), "success")
    else:
        flash(_("Name a member by their handle."), "error")
    return redirect(url_for("ideas.manage") + "#collective")


@blueprint.post("/shop/ideas/members/<int:user_id>/remove")
@login_required
def remove_member(user_id: int) -> Response:
    shop = _my_shop()
    if ConfirmForm().validate_on_submit():
        ideas.remove_member(current_person(), shop, user_id)
        flash(_("Removed from your collective."), "success")
    return redirect(url_for("ideas.manage") + "#collective")


# --- sections of other pages ------------------------------------------------------------------


def shop_section(shop: Shop) -> Any:
    """On a shop page: its open calls and terms, when it asks for ideas."""
    terms = ideas.terms_of(shop.id)
    calls = ideas.calls_of(shop.id, open_only=True, limit=5)
    if not calls and not (terms and (terms.accepts_ideas or terms.pool_bps)):
        return ""
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template("social/ideas/_shop_section.html", shop=shop, terms=terms, calls=calls)
    )


def product_section(product: Product) -> Any:
    """On a product page: the idea it was made from and who co-created it."""
    idea = ideas.idea_of_product(product.id)
    if idea is None:
        return ""
    return Markup(  # noqa: S704 - rendered by an autoescaping template
        render_template("social/ideas/_product_section.html", idea=idea)
    )
