from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "marketplace", "social", "payouts")
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**/templates/**.txt", "jinja2"),
    ("**.py", "python"),
]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}


def extracted_ids(package: str) -> set[str]:
    ids: set[str] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / package, METHODS, keywords=KEYWORDS
    ):
        ids.add(message if isinstance(message, str) else message[0])
    return {i for i in ids if i}


def french_ids() -> set[str]:
    """What the merged French catalogues translate (packages may share strings)."""
    ids: set[str] = set()
    for po in ROOT.glob("*/translations/fr/LC_MESSAGES/messages.po"):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale="fr")
        ids |= {
            m.id if isinstance(m.id, str) else m.id[0]
            for m in catalog
            if m.id and m.string and not m.fuzzy
        }
    return ids


@pytest.mark.parametrize("package", [p for p in PACKAGES if (ROOT / p).exists()])
def test_every_marked_string_has_a_french_translation(package):
    missing = sorted(extracted_ids(package) - french_ids())
    assert missing == [], (
        f"{package}: strings without a French translation (run `make i18n`): {missing[:20]}"
    )
