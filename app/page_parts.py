"""The parts of a page that are the visitor's own: what lets signed-in people share a page.

Most of a product page is the same for every signed-in person: the pictures, the price, the
description, the curators who picked it. A few parts are not: the header (their name, their
cart, their unread messages), whether they liked the product, their collections to add it
to. A template names each such part with `viewer_part(name, **args)`:

* rendering a page as usual, the part is rendered there and then, for the current visitor;
* rendering a page's shared *shell* (see `app.page_cache`), the part is left as a marker, and
  the page is rendered for a signed-in nobody, so nothing of anyone leaks into it;
* serving the shell to someone, each marker is replaced by the part rendered for them, the
  data of all parts of one kind loaded at once (one query for every like button on a page).

A part is a template and, when it needs data about the visitor, a loader:
`load(viewer, calls) -> one dict per call`, given every call's arguments at once. A part
drawn many times on a page (a like button) is better a template defining only a macro
`part(...)` of the arguments and the loaded data (`macro=True`): its imports then run once
per page, not once per button.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy import inspect

from app.web import viewer

if TYPE_CHECKING:
    from app.accounts.models import User

Calls = Sequence[Mapping[str, Any]]
Loader = Callable[["User | None", Calls], list[dict[str, Any]]]
# One part as a shell holds it: its name and its arguments (sorted: a stable, hashable key).
Call = tuple[str, tuple[tuple[str, Any], ...]]


@dataclass(frozen=True)
class Part:
    template: str
    load: Loader | None = None
    macro: bool = False  # the template defines `part(...)` and renders nothing itself


def _parts(app: Flask | None = None) -> dict[str, Part]:
    app = app or current_app
    registry: dict[str, Part] = app.extensions.setdefault("kindred_viewer_parts", {})
    return registry


def register(
    app: Flask, name: str, template: str, load: Loader | None = None, macro: bool = False
) -> None:
    _parts(app)[name] = Part(template, load, macro)


def _marker_secret() -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"page-shell-part", hashlib.sha256).hexdigest()[:20]


def _marker_pattern() -> re.Pattern[str]:
    return re.compile("<!--kindred-part-" + _marker_secret() + r"-(\d+)-->")


@dataclass(frozen=True)
class Fragment:
    """Rendered text with holes: text, part, text, ..., text (one more text than parts)."""

    texts: tuple[str, ...]
    calls: tuple[Call, ...]


def start_collecting() -> list[Call] | None:
    """Render the parts named from now on as markers; returns what to give `stop_collecting`
    (a fragment may be rendered while a page is)."""
    outer: list[Call] | None = g.get("page_shell_parts")
    g.page_shell_parts = []
    return outer


def stop_collecting(text: str, outer: list[Call] | None) -> Fragment | None:
    """The text rendered since `start_collecting`, cut at its markers; None when a marker
    is missing or repeated (never fill a page with a hole in it)."""
    calls: list[Call] = g.pop("page_shell_parts", None) or []
    if outer is not None:
        g.page_shell_parts = outer
    pieces = _marker_pattern().split(text)
    found = [int(index) for index in pieces[1::2]]
    if sorted(found) != list(range(len(calls))):
        return None
    # The parts in the order they are on the page (a section may be rendered before the
    # layout around it).
    return Fragment(tuple(pieces[0::2]), tuple(calls[index] for index in found))


def nobody() -> User:
    """The signed-in nobody what is shared is rendered for: never saved, no id, no name, no
    rights. Whatever of a visitor a template shows outside a part is then nobody's."""
    from app.accounts.models import User

    return User(id=0, handle="", display_name="", email="", is_admin=False, locale=None)


@contextmanager
def as_nobody() -> Iterator[None]:
    """Render as the signed-in nobody (Flask-Login's user for this request, swapped back).
    A page that tried to save something for the nobody is a bug, and is refused."""
    real = g.get("_login_user")
    stand_in = nobody()
    g._login_user = stand_in
    try:
        yield
    finally:
        if real is None:
            g.pop("_login_user", None)
        else:
            g._login_user = real
        session: Any = inspect(stand_in).session
        if session is not None:
            session.expunge(stand_in)
            raise RuntimeError("a shared page was about to save its signed-in nobody")


def render_fragments(template: str, contexts: Sequence[Mapping[str, Any]]) -> list[Fragment]:
    """The template rendered once per context for nobody, each with its parts left as holes,
    to keep and fill for each viewer (the items of a feed); the template and the layout's
    context are looked up once."""
    found: list[Fragment] = []
    with as_nobody():
        shared: dict[str, Any] = {}
        current_app.update_template_context(shared)
        compiled = current_app.jinja_env.get_template(template)
        for context in contexts:
            outer = start_collecting()
            text = ""
            try:
                text = compiled.render({**shared, **context})
            finally:
                fragment = stop_collecting(text, outer)
            if fragment is None:
                raise RuntimeError(f"{template}: a viewer part's marker was lost")
            found.append(fragment)
    return found


def fill(viewer: User | None, fragments: Sequence[Fragment]) -> list[Markup]:
    """The fragments with every part rendered for this viewer, each kind's data loaded once
    for all of them."""
    rendered = iter(render_parts(viewer, [call for f in fragments for call in f.calls]))
    filled: list[Markup] = []
    for fragment in fragments:
        pieces = [fragment.texts[0]]
        for text in fragment.texts[1:]:
            pieces.append(next(rendered))
            pieces.append(text)
        filled.append(Markup("".join(pieces)))  # noqa: S704 - escaped when rendered
    return filled


def viewer_part(context: Context, name: str, **args: Any) -> Markup:
    """The Jinja global: the part, or its marker in a shell."""
    collected: list[Call] | None = g.get("page_shell_parts")
    if collected is not None:
        collected.append((name, tuple(sorted(args.items()))))
        return Markup(f"<!--kindred-part-{_marker_secret()}-{len(collected) - 1}-->")  # noqa: S704
    part = _parts()[name]
    extra = part.load(viewer(), [args])[0] if part.load is not None else {}
    return _render(part, context.get_all(), [{**args, **extra}])[0]


def render_parts(viewer: User | None, calls: Sequence[Call]) -> list[Markup]:
    """Every part of a shell, rendered for this viewer: each kind's data loaded once."""
    if not calls:
        return []
    context: dict[str, Any] = {}
    current_app.update_template_context(context)
    by_name: dict[str, list[int]] = {}
    for index, (name, _args) in enumerate(calls):
        by_name.setdefault(name, []).append(index)
    rendered: list[Markup] = [Markup("")] * len(calls)
    for name, indexes in by_name.items():
        part = _parts()[name]
        arguments = [dict(calls[i][1]) for i in indexes]
        extras = part.load(viewer, arguments) if part.load is not None else [{}] * len(indexes)
        values = [{**args, **extra} for args, extra in zip(arguments, extras, strict=True)]
        for index, html in zip(indexes, _render(part, context, values), strict=True):
            rendered[index] = html
    return rendered


def _render(part: Part, context: dict[str, Any], values: list[dict[str, Any]]) -> list[Markup]:
    """The part once per set of values. A part drawn many times on a page (a like button)
    is its template's macro `part`: the template's imports then run once, not once each."""
    template = current_app.jinja_env.get_template(part.template)
    if part.macro:
        macro = getattr(template.make_module(context), "part")  # noqa: B009 - a macro
        return [Markup(macro(**each)) for each in values]  # noqa: S704 - autoescaped
    return [Markup(template.render({**context, **each})) for each in values]  # noqa: S704


def init_app(app: Flask) -> None:
    from jinja2 import pass_context

    app.jinja_env.globals["viewer_part"] = pass_context(viewer_part)
