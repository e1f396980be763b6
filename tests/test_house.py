"""The house's rules that no single feature's tests would notice breaking."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "marketplace", "social", "payouts")
# Still to move (#15): co-creation's money section reaches into the ideas pages to add itself.
KNOWN = {("payouts/cocreation.py", "social.idea_views")}


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_package_borrows_another_packages_views():
    """What views share lives in app/web.py and app/forms.py, not in one package's views for
    another to import: a page module is free to change without breaking another package."""
    borrowed = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            own = path.relative_to(ROOT).parts[0]
            for module in _imports(path):
                top, _, rest = module.partition(".")
                if top in PACKAGES and top != own and rest.split(".")[-1].endswith("views"):
                    borrowed.add((str(path.relative_to(ROOT)), module))
    assert borrowed - KNOWN == set()
