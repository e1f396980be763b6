"""The house's rules that no single feature's tests would notice breaking."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("app", "marketplace", "social", "payouts")
# The worker process builds its app with the factory, which wires the worker in: the one
# circle a factory cannot avoid.
FACTORY_CIRCLE = {"app", "app.worker"}


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
    assert borrowed == set()


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _import_graph() -> dict[str, set[str]]:
    """Which first-party module imports which, counting imports inside functions too (they
    hide a circle, they do not remove it)."""
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    edges.add(full if full in modules else known(node.module) or "")
            elif isinstance(node, ast.Import):
                edges.update(known(alias.name) or "" for alias in node.names)
        graph[name] = edges - {"", name}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                circles.append(group)

    for node in graph:
        if node not in index:
            visit(node)
    return circles


def test_no_circle_of_imports():
    """Each module can be read knowing only what it imports: no two modules need each other,
    however deep in a function the import hides."""
    assert [c for c in _circles(_import_graph()) if c != FACTORY_CIRCLE] == []
