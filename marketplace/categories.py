"""The fixed category tree: a root and its leaves. Products are filed under a leaf.

Keys are stable (they are stored on products and used in URLs); labels are translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Category:
    key: str  # "home/ceramics" for a leaf, "home" for a root
    label: Any  # lazy string
    children: tuple[Category, ...] = field(default=())

    @property
    def root_key(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def is_root(self) -> bool:
        return "/" not in self.key


def _root(key: str, label: Any, leaves: list[tuple[str, Any]]) -> Category:
    return Category(key, label, tuple(Category(f"{key}/{leaf}", text) for leaf, text in leaves))


TREE: tuple[Category, ...] = (
    _root(
        "clothing",
        _l("Clothing"),
        [
            ("tops", _l("Tops")),
            ("knitwear", _l("Knitwear")),
            ("jeans-trousers", _l("Jeans and trousers")),
            ("dresses-skirts", _l("Dresses and skirts")),
            ("outerwear", _l("Coats and jackets")),
            ("shoes", _l("Shoes")),
        ],
    ),
    _root(
        "accessories",
        _l("Accessories"),
        [
            ("bags", _l("Bags")),
            ("jewellery", _l("Jewellery")),
            ("hats-scarves", _l("Hats and scarves")),
        ],
    ),
    _root(
        "home",
        _l("Home"),
        [
            ("ceramics", _l("Ceramics")),
            ("textiles", _l("Textiles")),
            ("decor", _l("Decor")),
            ("kitchen", _l("Kitchen")),
        ],
    ),
    _root(
        "craft",
        _l("Craft supplies"),
        [
            ("yarn", _l("Yarn and fibre")),
            ("patterns", _l("Patterns")),
            ("tools", _l("Tools")),
        ],
    ),
    _root(
        "art",
        _l("Art and prints"),
        [
            ("prints", _l("Prints")),
            ("paintings", _l("Paintings")),
            ("photography", _l("Photography")),
        ],
    ),
    _root(
        "outdoor",
        _l("Outdoor"),
        [("camping", _l("Camping")), ("cycling", _l("Cycling"))],
    ),
    _root("books", _l("Books"), [("fiction", _l("Fiction")), ("non-fiction", _l("Non-fiction"))]),
)

BY_KEY: dict[str, Category] = {}
for _top in TREE:
    BY_KEY[_top.key] = _top
    for _leaf in _top.children:
        BY_KEY[_leaf.key] = _leaf

LEAF_KEYS: tuple[str, ...] = tuple(key for key, cat in BY_KEY.items() if not cat.is_root)


def get(key: str | None) -> Category | None:
    return BY_KEY.get(key or "")


def root_of(key: str) -> Category:
    return BY_KEY[key.split("/", 1)[0]]


def leaf_choices() -> list[tuple[str, str]]:
    """Choices for a product's category: every leaf, labelled with its root."""
    return list(_leaf_choices(str(get_locale())))


@lru_cache(maxsize=16)
def _leaf_choices(_locale: str) -> tuple[tuple[str, str], ...]:
    # Translated once per language (the labels are lazy: they follow the locale in force).
    return tuple((leaf.key, f"{top.label} — {leaf.label}") for top in TREE for leaf in top.children)


def all_choices() -> list[tuple[str, str]]:
    """Roots and leaves, for a search filter (a root covers its leaves)."""
    return list(_all_choices(str(get_locale())))


@lru_cache(maxsize=16)
def _all_choices(_locale: str) -> tuple[tuple[str, str], ...]:
    choices: list[tuple[str, str]] = []
    for top in TREE:
        choices.append((top.key, str(top.label)))
        choices.extend((leaf.key, f"— {leaf.label}") for leaf in top.children)
    return tuple(choices)
