"""The app's URL map as the security tests walk it: every route and method, and a URL for each.

One place builds URLs from rules, so the CSRF sweep, the GET sweeps and the access matrix all
cover the same routes, and a new route is covered by all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Flask
from werkzeug.routing import (
    AnyConverter,
    IntegerConverter,
    PathConverter,
    Rule,
    UnicodeConverter,
)

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Methods Flask adds to every route by itself; they run the same view as GET.
IMPLIED = frozenset({"HEAD", "OPTIONS"})


def rules(app: Flask, methods: frozenset[str] | set[str], *, static: bool = False) -> list[Rule]:
    """The rules that answer any of `methods` (without the app's own /static unless asked)."""
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.methods and rule.methods & methods and (static or rule.endpoint != "static")
    ]


def operations(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, method) the app answers, HEAD and OPTIONS aside, in a stable order."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule)):
        for method in sorted((rule.methods or set()) - IMPLIED):
            yield rule, method


def converter_kinds(rule: Rule) -> dict[str, str]:
    """Each URL parameter's converter: "int", "string", "path" or "any" (or its class name)."""
    kinds = (
        (IntegerConverter, "int"),
        (AnyConverter, "any"),
        (PathConverter, "path"),
        (UnicodeConverter, "string"),
    )
    return {
        name: next(
            (kind for cls, kind in kinds if isinstance(converter, cls)),
            type(converter).__name__,
        )
        for name, converter in rule._converters.items()
    }


def choices(rule: Rule, name: str) -> list[str]:
    """The words an `any(...)` parameter accepts, sorted (the converter keeps a set)."""
    return sorted(getattr(rule._converters[name], "items", ()))


def placeholder(rule: Rule, name: str) -> Any:
    kind = converter_kinds(rule)[name]
    if kind == "int":
        return 1
    if kind == "any":
        return choices(rule, name)[0]
    return "x"


def build(rule: Rule, values: Mapping[str, Any] | None = None) -> str:
    """The rule's path with `values`, and a placeholder for every parameter not given."""
    filled = {name: placeholder(rule, name) for name in rule.arguments}
    filled.update(values or {})
    return rule.build(filled, append_unknown=False)[1]  # type: ignore[index]
