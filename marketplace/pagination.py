"""Pages of results without counting them.

A page is fetched with one more row than it shows: the extra row tells whether a next page
exists, so no query ever counts (or loads) every matching row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select

from app.extensions import db

T = TypeVar("T")

MAX_PAGE = 500  # deep offsets get slow; nobody pages this far through a listing


@dataclass
class Page(Generic[T]):
    items: Sequence[T]
    page: int
    per_page: int
    has_next: bool

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def to_dict(self, items: list[Any]) -> dict[str, Any]:
        return {
            "items": items,
            "page": self.page,
            "per_page": self.per_page,
            "has_next": self.has_next,
            "has_prev": self.has_prev,
        }


def clamp_page(page: Any) -> int:
    try:
        number = int(page)
    except (TypeError, ValueError):
        return 1
    return min(max(number, 1), MAX_PAGE)


def paginate_select(statement: Select[Any], page: int, per_page: int, scalars: bool = True) -> Page:
    page = clamp_page(page)
    statement = statement.limit(per_page + 1).offset((page - 1) * per_page)
    result = db.session.execute(statement)
    rows: list[Any] = list(result.unique().scalars() if scalars else result)
    return Page(rows[:per_page], page, per_page, len(rows) > per_page)
