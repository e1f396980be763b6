"""Pages: the storefront, categories, shops, products and search for shoppers
(`catalogue`), and the seller's shop and products under /account/shop (`seller`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.accounts.forms import ConfirmForm
from app.accounts.models import User
from app.accounts.services import current_person
from app.forms import apply_violation, int_arg, render_form
from app.i18n import parse_amount
from app.page_cache import cached_page, personal_to
from app.rules import RuleViolation
from app.security import safe_next
from app.web import upload, uploads, viewer
from marketplace import browse, categories, orders, product_page, products, shops
from marketplace.forms import (
    AltTextForm,
    ImagesForm,
    NewProductForm,
    ProductForm,
    QuickEditForm,
    SearchForm,
    ShopForm,
    VariantForm,
)
from marketplace.hooks import catalogue_hooks
from marketplace.models import Product, Shop

catalogue = Blueprint(
    "catalogue",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static/marketplace",
)
seller = Blueprint("seller", __name__, url_prefix="/account/shop", template_folder="templates")

# Service field names -> form field names, so a rule's message lands next to its input.
FIELD_NAMES = {
    "price_minor": "price",
    "shipping_flat_minor": "shipping_flat",
    "free_shipping_over_minor": "free_shipping_over",
    "curator_commission_bps": "curator_commission",
    "logo": "logo",
    "banner": "banner",
    "variants": "price",
}


def per_page() -> int:
    return int(current_app.config.get("CATALOGUE_PAGE_SIZE", 24))


def show_violation(form: FlaskForm, violation: RuleViolation) -> None:
    errors = {FIELD_NAMES.get(name, name): messages for name, messages in violation.errors.items()}
    apply_violation(form, RuleViolation(violation.message, errors=errors))


def card_badges(items: list[Product]) -> dict[int, list[Any]]:
    """What later features add to product cards, computed once per page."""
    badges: dict[int, list[Any]] = {}
    for provider in catalogue_hooks().card_badges:
        for product_id, badge in provider(items).items():
            badges.setdefault(product_id, []).append(badge)
    return badges


# --- shoppers --------------------------------------------------------------------------------


@cached_page(signed_in=True)
def storefront() -> str:
    size = min(per_page(), 12)
    newest, popular = browse.newest(1, size), browse.trending(1, size)
    return render_template(
        "marketplace/storefront.html",
        newest=newest,
        trending=popular,
        tree=categories.TREE,
        badges=card_badges([*newest.items, *popular.items]),
    )


@catalogue.get("/new")
@cached_page(signed_in=True)
def new_arrivals() -> str:
    page = browse.newest(int_arg("page", 1, min=1), per_page())
    return render_template(
        "marketplace/listing.html",
        title=_("New arrivals"),
        page=page,
        endpoint="catalogue.new_arrivals",
        args={},
        badges=card_badges(list(page.items)),
    )


@catalogue.get("/trending")
@cached_page(signed_in=True)
def trending() -> str:
    page = browse.trending(int_arg("page", 1, min=1), per_page())
    return render_template(
        "marketplace/listing.html",
        title=_("Trending"),
        page=page,
        endpoint="catalogue.trending",
        args={},
        badges=card_badges(list(page.items)),
    )


@catalogue.get("/categories")
@cached_page(signed_in=True)
def category_index() -> str:
    return render_template("marketplace/categories.html", tree=categories.TREE)


@catalogue.get("/categories/<path:key>")
@cached_page(signed_in=True)
def category(key: str) -> str:
    page = browse.in_category(key, int_arg("page", 1, min=1), per_page())
    current = categories.BY_KEY[key]
    return render_template(
        "marketplace/listing.html",
        title=current.label,
        category=current,
        parent=None if current.is_root else categories.root_of(key),
        page=page,
        endpoint="catalogue.category",
        args={"key": key},
        badges=card_badges(list(page.items)),
    )


@catalogue.get("/shops/<slug>")
@cached_page(signed_in=True)
def shop(slug: str) -> str:
    found = shops.shop_by_slug(slug, viewer())
    personal_to(found.owner_id)  # the owner's page offers to edit it
    page = browse.of_shop(found, int_arg("page", 1, min=1), per_page())
    rating, reviews = orders.shop_reviews(found.id, limit=5)  # one round trip for both
    return render_template(
        "marketplace/shop.html",
        shop=found,
        page=page,
        badges=card_badges(list(page.items)),
        bounds=shops.commission_bounds(),
        rating=rating,
        reviews=reviews,
        sections=[s for s in (section(found) for section in catalogue_hooks().shop_sections) if s],
    )


@catalogue.get("/products/<int:product_id>")
@catalogue.get("/products/<int:product_id>/<slug>")
@cached_page(signed_in=True)
def product(product_id: int, slug: str | None = None) -> str:
    found = products.public_product(product_id, viewer())
    personal_to(found.shop.owner_id)  # the owner's page offers to edit it
    sections = [section(found) for section in catalogue_hooks().product_sections]
    reviews = orders.product_reviews(found.id, found.shop_id)
    more = products.more_from_shop(found)
    return render_template(
        "marketplace/product.html",
        product=found,
        shop=found.shop,
        slides=product_page.slides(found),
        reviews=reviews,
        structured_data=product_page.structured_data(found, reviews),
        more=more,
        badges=card_badges(more),
        sections=[s for s in sections if s],  # Markup from each feature's templates
        category=categories.get(found.category),
        root=categories.root_of(found.category),
    )


@catalogue.get("/products/<int:product_id>/reviews")
@cached_page(signed_in=True)
def product_reviews(product_id: int) -> str:
    found = products.public_product(product_id, viewer())
    personal_to(found.shop.owner_id)
    page = orders.reviews_of_product(found.id, int_arg("page", 1, min=1), per_page())
    return render_template(
        "marketplace/reviews.html",
        product=found,
        shop=found.shop,
        page=page,
        rating=orders.product_rating(found.id),
        endpoint="catalogue.product_reviews",
        args={"product_id": found.id},
    )


@catalogue.get("/shops/<slug>/reviews")
@cached_page(signed_in=True)
def shop_reviews(slug: str) -> str:
    found = shops.shop_by_slug(slug, viewer())
    personal_to(found.owner_id)
    page = orders.reviews_of_shop(found.id, int_arg("page", 1, min=1), per_page())
    return render_template(
        "marketplace/reviews.html",
        product=None,
        shop=found,
        page=page,
        rating=orders.shop_rating(found.id),
        endpoint="catalogue.shop_reviews",
        args={"slug": found.slug},
    )


def search_query_from(form: SearchForm) -> browse.SearchQuery:
    min_price, max_price = form.min_price.data, form.max_price.data
    return browse.SearchQuery(
        text=form.q.data or "",
        category=form.category.data or "",
        min_price=min_price,
        max_price=max_price,
        condition=form.condition.data or "",
        shop=(form.shop.data or "").strip(),
        in_stock=bool(form.in_stock.data),
        sort=form.sort.data or "",
        exact=bool(form.exact.data),
    )


@catalogue.get("/search")
@cached_page(signed_in=True)
def search() -> Any:
    """Search results with their count, a correction of words that find nothing, and the
    applied filters as chips, each a link to the same search without it."""
    from app.i18n import money
    from marketplace.forms import condition_choices

    form = SearchForm(request.args)
    found = None
    status = 200
    form.validate()
    query = search_query_from(form)
    if form.errors:
        status = 422
    else:
        try:
            found = browse.run_search(query, int_arg("page", 1, min=1), per_page())
        except RuleViolation as violation:
            show_violation(form, violation)
            status = 422
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    chips: list[tuple[str, str]] = []
    if found is not None:
        category = categories.get(query.category)
        conditions = dict(condition_choices())
        labels = {
            "category": str(category.label) if category is not None else "",
            "min_price": _("From %(price)s", price=money(query.min_price))
            if query.min_price is not None
            else "",
            "max_price": _("Up to %(price)s", price=money(query.max_price))
            if query.max_price is not None
            else "",
            "condition": _("Condition: %(condition)s", condition=conditions[query.condition])
            if query.condition in conditions
            else "",
            "shop": _("Shop: %(shop)s", shop=query.shop) if query.shop else "",
            "in_stock": _("In stock only") if query.in_stock else "",
        }
        for name, label in labels.items():
            if label and name in args:
                rest: dict[str, Any] = {k: v for k, v in args.items() if k != name}
                chips.append((label, url_for("catalogue.search", **rest)))
    return render_template(
        "marketplace/search.html",
        form=form,
        found=found,
        page=found.page if found is not None else None,
        query=query,
        args=args,
        chips=chips,
        badges=card_badges(list(found.page.items)) if found is not None else {},
    ), status


def profile_section(user: User) -> Any:
    """The person's shop on their profile page, with its newest products."""
    found = shops.shop_of(user)
    if found is None or not found.is_open:
        return ""
    page = browse.of_shop(found, 1, 4)
    html = render_template("marketplace/_profile_shop.html", shop=found, page=page)
    return Markup(html)  # noqa: S704 - rendered by an autoescaping template


# --- sellers: the shop ---------------------------------------------------------------------


def _shop_details(form: ShopForm) -> tuple[shops.ShopDetails, shops.ShopImages]:
    images = shops.ShopImages(
        logo=upload(form.logo, "logo"),
        banner=upload(form.banner, "banner"),
        remove_logo=bool(form.remove_logo.data),
        remove_banner=bool(form.remove_banner.data),
    )
    return (
        shops.ShopDetails(
            name=form.name.data or "",
            slug=form.slug.data or "",
            description=form.description.data or "",
            return_policy=form.return_policy.data or "",
            shipping_flat_minor=form.shipping_flat.data or 0,
            free_shipping_over_minor=form.free_shipping_over.data,
            processing_days=form.processing_days.data,
            return_window_days=form.return_window_days.data,
            curator_commission_bps=form.curator_commission.data,
        ),
        images,
    )


def _fill_shop_form(form: ShopForm, shop: Shop | None) -> None:
    bounds = shops.commission_bounds()
    if shop is None:
        form.processing_days.data = 3
        form.return_window_days.data = 30
        form.shipping_flat.data = 0
        form.curator_commission.data = bounds.default_bps
        return
    form.shipping_flat.data = shop.shipping_flat_minor
    form.free_shipping_over.data = shop.free_shipping_over_minor
    form.curator_commission.data = shop.curator_commission_bps


@seller.route("/open", methods=["GET", "POST"])
@login_required
def open_shop() -> Any:
    user = current_person()
    if shops.shop_of(user) is not None:
        return redirect(url_for("seller.edit_shop"))
    form = ShopForm()
    if request.method == "GET":
        _fill_shop_form(form, None)
    if form.validate_on_submit():
        try:
            details, images = _shop_details(form)
            shops.open_shop(user, details, images)
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("Your shop is open. Now list your first product."), "success")
            return redirect(url_for("seller.new_product"))
    return render_form(
        "marketplace/seller/shop_form.html", form, shop=None, bounds=shops.commission_bounds()
    )


@seller.route("/", methods=["GET", "POST"])
@login_required
def edit_shop() -> Any:
    user = current_person()
    shop = shops.shop_of(user)
    if shop is None:
        return redirect(url_for("seller.open_shop"))
    form = ShopForm(obj=shop) if request.method == "GET" else ShopForm()
    if request.method == "GET":
        _fill_shop_form(form, shop)
    if form.validate_on_submit():
        try:
            details, images = _shop_details(form)
            shops.update_shop(user, shop, details, images)
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("Your shop is saved."), "success")
            return redirect(url_for("seller.edit_shop"))
    return render_form(
        "marketplace/seller/shop_form.html",
        form,
        shop=shop,
        bounds=shops.commission_bounds(),
        confirm=ConfirmForm(),
    )


@seller.post("/pause")
@login_required
def pause_shop() -> Response:
    if ConfirmForm().validate_on_submit():
        shops.pause_shop(current_person(), shops.own_shop(current_person()))
        flash(_("Your shop is paused: hidden from shoppers until you reopen it."), "info")
    return redirect(url_for("seller.edit_shop"))


@seller.post("/reopen")
@login_required
def reopen_shop() -> Response:
    if ConfirmForm().validate_on_submit():
        shops.reopen_shop(current_person(), shops.own_shop(current_person()))
        flash(_("Your shop is open again."), "success")
    return redirect(url_for("seller.edit_shop"))


# --- sellers: products ---------------------------------------------------------------------


@seller.get("/products")
@login_required
def dashboard() -> Any:
    return _render_dashboard({})


def _render_dashboard(errors: dict[int, list[str]], status: int = 200) -> Any:
    shop = shops.shop_of(current_person())
    if shop is None:
        return redirect(url_for("seller.open_shop"))
    filter_status = request.args.get("status", "")
    page = browse.shop_dashboard(shop, int_arg("page", 1, min=1), 20, filter_status)
    return render_template(
        "marketplace/seller/dashboard.html",
        shop=shop,
        page=page,
        counts=products.count_products(shop),
        filter_status=filter_status,
        quick_form=QuickEditForm(),
        errors=errors,
    ), status


@seller.post("/products/<int:product_id>/quick")
@login_required
def quick_edit(product_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = QuickEditForm()
    if not form.validate_on_submit():
        return _render_dashboard({product.id: [_("Please check the status.")]}, 422)
    edit = products.QuickEdit(status=form.status.data or None)
    for variant in product.variants:
        raw_price = request.form.get(f"price-{variant.id}")
        raw_stock = request.form.get(f"stock-{variant.id}")
        price = parse_amount(raw_price) if raw_price else None
        if raw_price and price is None:
            price = -1  # malformed: the service refuses it with the usual message
        stock: int | None = None
        if raw_stock not in (None, ""):
            # Malformed or beyond any column: the service refuses it with the usual message.
            stock = int_arg(f"stock-{variant.id}", -1, values=request.form)
        edit.variants[variant.id] = (price, stock)
    try:
        products.quick_edit(user, product, edit)
    except RuleViolation as violation:
        messages = [m for ms in violation.errors.values() for m in ms] or [violation.message]
        return _render_dashboard({product.id: messages}, violation.status)
    flash(_("“%(title)s” is saved.", title=product.title), "success")
    return redirect(safe_next(request.form.get("back"), url_for("seller.dashboard")))


def _details_from(form: ProductForm) -> products.ProductDetails:
    return products.ProductDetails(
        title=form.title.data or "",
        description=form.description.data or "",
        category=form.category.data or "",
        tags=form.tags.data or "",
        condition=form.condition.data or "",
        option1_name=form.option1_name.data or "",
        option2_name=form.option2_name.data or "",
    )


@seller.route("/products/new", methods=["GET", "POST"])
@login_required
def new_product() -> Any:
    user = current_person()
    shop = shops.shop_of(user)
    if shop is None:
        flash(_("Open your shop first."), "info")
        return redirect(url_for("seller.open_shop"))
    form = NewProductForm()
    if request.method == "GET":
        form.status.data = "active"
        form.condition.data = "new"
    if form.validate_on_submit():
        try:
            pictures = [products.ImageUpload(data) for data in uploads(form.images, "images")]
            created = products.create_product(
                user,
                shop,
                _details_from(form),
                [_variant_input(form)],
                status=form.status.data or "draft",
                images=pictures,
            )
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("“%(title)s” is listed.", title=created.title), "success")
            if created.option1_name:  # next: the other variants
                return redirect(url_for("seller.variants", product_id=created.id))
            return redirect(url_for("seller.dashboard"))
    return render_form("marketplace/seller/product_form.html", form, product=None)


@seller.route("/products/<int:product_id>", methods=["GET", "POST"])
@login_required
def edit_product(product_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = ProductForm(obj=product) if request.method == "GET" else ProductForm()
    if request.method == "GET":
        form.tags.data = ", ".join(product.tag_list)
        form.status.data = "active" if product.status == "sold_out" else product.status
    if form.validate_on_submit():
        try:
            products.update_product(user, product, _details_from(form))
            products.set_status(user, product, form.status.data or product.status)
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("“%(title)s” is saved.", title=product.title), "success")
            return redirect(url_for("seller.edit_product", product_id=product.id))
    return render_form(
        "marketplace/seller/product_form.html", form, product=product, confirm=ConfirmForm()
    )


@seller.post("/products/<int:product_id>/delete")
@login_required
def delete_product(product_id: int) -> Response:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    if ConfirmForm().validate_on_submit():
        title = product.title
        outcome = products.delete_product(user, product)
        if outcome == "archived":
            flash(
                _("“%(title)s” has orders, so it is archived rather than deleted.", title=title),
                "info",
            )
        else:
            flash(_("“%(title)s” is deleted.", title=title), "success")
    return redirect(url_for("seller.dashboard"))


# --- sellers: variants ---------------------------------------------------------------------


def _render_variants(
    product: Product,
    add_form: VariantForm,
    edit_errors: dict[int, list[str]] | None = None,
    status: int = 200,
) -> Any:
    return render_template(
        "marketplace/seller/variants.html",
        product=product,
        form=add_form,
        edit_errors=edit_errors or {},
        confirm=ConfirmForm(),
    ), status


def _variant_input(form: VariantForm | NewProductForm) -> products.VariantInput:
    return products.VariantInput(
        price_minor=form.price.data,
        stock=form.stock.data if form.stock.data is not None else 0,
        sku=form.sku.data or "",
        option1=form.option1.data or "",
        option2=form.option2.data or "",
    )


@seller.route("/products/<int:product_id>/variants", methods=["GET", "POST"])
@login_required
def variants(product_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = VariantForm()
    if request.method == "GET":
        form.stock.data = 1
        return _render_variants(product, form)
    if form.validate_on_submit():
        try:
            products.add_variant(user, product, _variant_input(form))
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("The variant is added."), "success")
            return redirect(url_for("seller.variants", product_id=product.id))
    return _render_variants(product, form, status=422)


@seller.post("/products/<int:product_id>/variants/<int:variant_id>")
@login_required
def update_variant(product_id: int, variant_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = VariantForm()
    if form.validate_on_submit():
        try:
            products.update_variant(user, product, variant_id, _variant_input(form))
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("The variant is saved."), "success")
            return redirect(url_for("seller.variants", product_id=product.id))
    messages = [m for ms in form.errors.values() for m in ms] + list(form.form_errors)
    return _render_variants(product, VariantForm(formdata=None), {variant_id: messages}, 422)


@seller.post("/products/<int:product_id>/variants/<int:variant_id>/delete")
@login_required
def delete_variant(product_id: int, variant_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    if ConfirmForm().validate_on_submit():
        try:
            products.remove_variant(user, product, variant_id)
        except RuleViolation as violation:
            return _render_variants(
                product,
                VariantForm(formdata=None),
                {variant_id: [violation.message]},
                violation.status,
            )
        flash(_("The variant is removed."), "success")
    return redirect(url_for("seller.variants", product_id=product.id))


# --- sellers: images -----------------------------------------------------------------------


@seller.route("/products/<int:product_id>/images", methods=["GET", "POST"])
@login_required
def images(product_id: int) -> Any:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = ImagesForm()
    if form.validate_on_submit():
        try:
            alt_text = form.alt_text.data or ""
            pictures = [
                products.ImageUpload(data, alt_text) for data in uploads(form.images, "images")
            ]
            products.add_images(user, product, pictures)
        except RuleViolation as violation:
            show_violation(form, violation)
        else:
            flash(_("The pictures are added."), "success")
            return redirect(url_for("seller.images", product_id=product.id))
    return render_form(
        "marketplace/seller/images.html",
        form,
        product=product,
        confirm=ConfirmForm(),
        alt_form=AltTextForm(formdata=None),
    )


@seller.post("/products/<int:product_id>/images/<int:image_id>/move")
@login_required
def move_image(product_id: int, image_id: int) -> Response:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    if ConfirmForm().validate_on_submit():
        step = -1 if request.form.get("direction") == "up" else 1
        products.move_image(user, product, image_id, step)
    return redirect(url_for("seller.images", product_id=product.id))


@seller.post("/products/<int:product_id>/images/<int:image_id>/delete")
@login_required
def delete_image(product_id: int, image_id: int) -> Response:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    if ConfirmForm().validate_on_submit():
        products.remove_image(user, product, image_id)
        flash(_("The picture is removed."), "success")
    return redirect(url_for("seller.images", product_id=product.id))


@seller.post("/products/<int:product_id>/images/<int:image_id>/alt")
@login_required
def image_alt(product_id: int, image_id: int) -> Response:
    user = current_person()
    product = products.product_for_owner(user, product_id)
    form = AltTextForm()
    if form.validate_on_submit():
        products.set_alt_text(user, product, image_id, form.alt_text.data or "")
        flash(_("The description is saved."), "success")
    return redirect(url_for("seller.images", product_id=product.id))
