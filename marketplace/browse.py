"""What shoppers browse: the storefront, categories, a shop's products, search results.

Every listing is one query on `products` (its shop joined in), in an order an index serves,
cut to a page; what each card needs (cover, lowest price, stock) is on the product row.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import contains_eager, joinedload

from app.database import kept_statement
from app.extensions import db
from app.rules import RuleViolation
from marketplace import categories, search
from marketplace.models import Condition, Product, Shop
from marketplace.pagination import Page, clamp_page, paginate_select
from marketplace.rules import MAX_PRICE_MINOR

SORTS = ("relevance", "newest", "price_asc", "price_desc")


def _listed() -> Select[Any]:
    return select(Product).where(Product.listed.is_(True)).options(joinedload(Product.shop))


def _newest(statement: Select[Any]) -> Select[Any]:
    return statement.order_by(Product.published_at.desc(), Product.id.desc())


def newest(page: int = 1, per_page: int = 24) -> Page[Product]:
    return paginate_select(_newest(_listed()), page, per_page)


def trending(page: int = 1, per_page: int = 24) -> Page[Product]:
    statement = _listed().order_by(
        Product.popularity.desc(), Product.published_at.desc(), Product.id.desc()
    )
    return paginate_select(statement, page, per_page)


def in_category(key: str, page: int = 1, per_page: int = 24) -> Page[Product]:
    category = categories.get(key)
    if category is None:
        raise RuleViolation(_("There is no such category."), status=404)
    column = Product.category_root if category.is_root else Product.category
    return paginate_select(_newest(_listed().where(column == category.key)), page, per_page)


def of_shop(shop: Shop, page: int = 1, per_page: int = 24) -> Page[Product]:
    statement = (
        select(Product)
        .where(Product.shop_id == shop.id, Product.listed.is_(True))
        .options(joinedload(Product.shop))
    )
    return paginate_select(_newest(statement), page, per_page)


def shop_dashboard(shop: Shop, page: int = 1, per_page: int = 20, status: str = "") -> Page:
    """The seller's own list: every status, newest first, with variants for quick edits."""
    from sqlalchemy.orm import selectinload

    statement = (
        select(Product)
        .where(Product.shop_id == shop.id)
        .options(selectinload(Product.variants))
        .order_by(Product.created_at.desc(), Product.id.desc())
    )
    if status:
        statement = statement.where(Product.status == status)
    return paginate_select(statement, page, per_page)


@dataclass
class SearchQuery:
    text: str = ""
    category: str = ""
    min_price: int | None = None
    max_price: int | None = None
    condition: str = ""
    shop: str = ""  # a shop's slug
    in_stock: bool = False
    sort: str = ""
    # The words as typed, even when none is known: no correction is offered in their place.
    exact: bool = False

    @property
    def effective_sort(self) -> str:
        if self.sort in SORTS and (self.sort != "relevance" or search.query_words(self.text)):
            return self.sort
        return "relevance" if search.query_words(self.text) else "newest"


def check_query(query: SearchQuery) -> None:
    errors: dict[str, list[str]] = {}
    if query.category and categories.get(query.category) is None:
        errors["category"] = [_("There is no such category.")]
    if query.condition and query.condition not in Condition.ALL:
        errors["condition"] = [_("Choose the item's condition from the list.")]
    for name in ("min_price", "max_price"):
        value = getattr(query, name)
        if value is not None and not 0 <= value <= MAX_PRICE_MINOR:
            errors[name] = [_("Enter a price of zero or more.")]
    if (
        query.min_price is not None
        and query.max_price is not None
        and query.min_price > query.max_price
    ):
        errors["max_price"] = [_("The highest price is below the lowest.")]
    if query.sort and query.sort not in SORTS:
        errors["sort"] = [_("Choose one of the offered orders.")]
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors, status=422)


# A text search ranks at most this many matching products: the most recently created ones
# that pass the filters. Ranking every match would make a common word's search grow with the
# catalogue; with the cap its cost stays flat, and a query with fewer matches is exact.
SEARCH_CANDIDATES = 500


def _filter_params(query: SearchQuery) -> dict[str, Any]:
    """The filters' values, as named parameters (see `_filtered`)."""
    category = categories.get(query.category)
    return {
        "filter_category": category.key if category is not None else None,
        "filter_min": query.min_price,
        "filter_max": query.max_price,
        "filter_condition": query.condition,
        "filter_shop": query.shop.lower(),
    }


def _facets(query: SearchQuery) -> search.Facets:
    """The filters the search index answers with the words: the category, the price range."""
    category = categories.get(query.category)
    return search.filter_facets(
        category.key if category is not None else "", query.min_price, query.max_price
    )


def _filter_shape(query: SearchQuery) -> tuple[Any, ...]:
    """Which filters a statement has (`_filtered`), without their values."""
    category = categories.get(query.category)
    return (
        None if category is None else category.is_root,
        query.min_price is not None,
        query.max_price is not None,
        bool(query.condition),
        bool(query.shop),
        query.in_stock,
    )


def _filtered(statement: Select[Any], query: SearchQuery) -> Select[Any]:
    values = _filter_params(query)

    def value(name: str) -> Any:
        return bindparam(name, values[name])

    statement = statement.where(Product.listed.is_(True))
    category = categories.get(query.category)
    if category is not None:
        column = Product.category_root if category.is_root else Product.category
        statement = statement.where(column == value("filter_category"))
    if query.min_price is not None:
        statement = statement.where(Product.price_minor >= value("filter_min"))
    if query.max_price is not None:
        statement = statement.where(Product.price_minor <= value("filter_max"))
    if query.condition:
        statement = statement.where(Product.condition == value("filter_condition"))
    if query.shop:
        shop_id = select(Shop.id).where(Shop.slug == value("filter_shop")).scalar_subquery()
        statement = statement.where(Product.shop_id == shop_id)
    if query.in_stock:
        statement = statement.where(Product.stock_total > 0)
    return statement


@dataclass
class Found:
    """A page of a search's results, how many there are, and a correction of its words."""

    page: Page[Product]
    # How many products match, counted up to SEARCH_CANDIDATES (`more`: at least that many).
    total: int
    # The query's words corrected ("stonewear" -> "stoneware"), when it finds nothing.
    suggestion: str = ""
    # Whether `page` shows the suggestion's results (the query's own found nothing).
    corrected: bool = False

    @property
    def more(self) -> bool:
        return self.total >= SEARCH_CANDIDATES


def run_search(query: SearchQuery, page: int = 1, per_page: int = 24) -> Found:
    """Search listed products; the same filters, orders and counts on SQLite and PostgreSQL.

    When words find nothing, and some of them are not in the index, they are corrected
    (`search.correction`): the page shows what the corrected words find, if anything and
    unless the query asks for its words as typed (`exact`); otherwise it only suggests them."""
    check_query(query)
    terms = search.query_terms(query.text)
    if not terms:
        return _filter_search(query, page, per_page)
    found = Found(*_text_search(query, terms, page, per_page))
    if found.total or found.page.page > 1:
        return found
    corrected = search.correction(terms)
    if corrected is None:
        return found
    found.suggestion = " ".join(corrected)
    if query.exact:
        return found
    instead = replace(query, text=found.suggestion)
    page_, total = _text_search(instead, search.query_terms(instead.text), page, per_page)
    if total:
        return Found(page_, total, found.suggestion, corrected=True)
    return found


def _filter_search(query: SearchQuery, page: int, per_page: int) -> Found:
    statement = select(Product).join(Shop, Shop.id == Product.shop_id)
    statement = _filtered(statement.options(contains_eager(Product.shop)), query)
    sort = query.effective_sort
    if sort == "price_asc":
        statement = statement.order_by(Product.price_minor.asc(), Product.id.desc())
    elif sort == "price_desc":
        statement = statement.order_by(Product.price_minor.desc(), Product.id.desc())
    else:
        statement = _newest(statement)
    # Counted up to SEARCH_CANDIDATES, as a text search's candidates are: a count of
    # everything listed would grow with the catalogue.
    matching = _filtered(select(Product.id), query).limit(SEARCH_CANDIDATES).subquery()
    total = db.session.scalar(select(func.count()).select_from(matching)) or 0
    return Found(paginate_select(statement, page, per_page), total)


def _text_search(
    query: SearchQuery, terms: list[search.Term], page: int, per_page: int
) -> tuple[Page[Product], int]:
    """Sort the candidates (their ids and sort keys only), then load one page of products;
    each row carries the number of candidates.

    Building this statement costs more than running it, so it is built once per shape (the
    words' count and lengths, which filters, the order, the page, and the numbers it was
    built with) and kept; the words and the filters' values are its parameters."""
    page = clamp_page(page)
    sort = query.effective_sort
    key = (
        "browse.text_search",
        db.session.get_bind().dialect.name,
        search.shape(terms, _facets(query)),
        search.settings(),
        SEARCH_CANDIDATES,
        _filter_shape(query),
        sort,
        page,
        per_page,
    )
    statement = kept_statement(key, lambda: _text_search_statement(query, terms, page, per_page))
    values = {**search.params(terms, _facets(query)), **_filter_params(query)}
    rows = list(db.session.execute(statement, values).unique())
    products = [product for product, _total in rows]
    if rows:
        total = rows[0][1]
    elif page > 1:  # past the last page: the candidates are counted on their own
        found = search.candidates(
            terms,
            lambda candidates: _filtered(candidates, query),
            SEARCH_CANDIDATES,
            _facets(query),
        )
        total = db.session.scalar(select(func.count()).select_from(found), values) or 0
    else:
        total = 0
    return Page(products[:per_page], page, per_page, len(products) > per_page), total


def _text_search_statement(
    query: SearchQuery, terms: list[search.Term], page: int, per_page: int
) -> Select[Any]:
    found = search.candidates(
        terms, lambda candidates: _filtered(candidates, query), SEARCH_CANDIDATES, _facets(query)
    )
    sort = query.effective_sort

    def order(keys: Any) -> list[Any]:
        if sort == "price_asc":
            return [keys.price_minor.asc(), keys.id.desc()]
        if sort == "price_desc":
            return [keys.price_minor.desc(), keys.id.desc()]
        newest = [keys.published_at.desc(), keys.id.desc()]
        return [keys.score.desc(), *newest] if sort == "relevance" else newest

    # The count of the candidates comes with each row of the page (a window over all of
    # them, computed before the page is cut), so that counting costs no second search.
    shown = (
        select(found, func.count().over().label("total"))
        .order_by(*order(found.c))
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
        .subquery("shown")
    )
    return (
        select(Product, shown.c.total)
        .join(shown, shown.c.id == Product.id)
        .join(Shop, Shop.id == Product.shop_id)
        .options(contains_eager(Product.shop))
        .order_by(*order(shown.c))
    )
