"""Numbers no INTEGER column can hold, and negative ones, in every page's forms and query strings.

A person can type any number into a number box, and anyone can edit a hidden field or a query
string. Whatever the number, the answer is the app's own: the form again with the field's
error (422) or a redirect with an error message for a number a person types; for a hidden id
or a choice the page never offers, the app's own refusal ("not found", "bad request") or the
value ignored. Never a server error, never the generic 400 the database's refusal falls back
to (app/errors.py logs "the database refused a value" when it does), and nothing is written.

The sweep is generated: every GET route of the URL map is visited as the owner of the
security tests' world (as the admin when the owner may not see it), every form on every page
is read from its HTML, and each of its integer fields (a number box, or a hidden field or a
choice whose value is a whole number) is sent with a 30-digit number and with a negative one.
The query parameters read as integers are found in the source, so a new one is covered too.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask_wtf import FlaskForm
from wtforms import IntegerField

from app import forms
from tests.security.access import Sender, fill
from tests.security.test_access_matrix import BODIES, OWNED, PARAMS
from tests.security.urlmap import rules
from tests.security.world import World, build_world, changes

HUGE = "9" * 30
JUST_OVER = str(2**31)  # SQLite stores it; a PostgreSQL INTEGER column does not
NEGATIVE = "-7"
VALUES = (HUGE, JUST_OVER, NEGATIVE)
SAFETY_NET = "the database refused a value"
ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app", "marketplace", "social", "payouts")


# --- reading forms from a page ---------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # "number" (a person types it), "hidden", "select", or another input's type
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    method: str
    fields: list[Field] = field(default_factory=list)

    def data(self) -> dict[str, str]:
        """What a browser sends, before any change."""
        sent: dict[str, str] = {}
        for f in self.fields:
            if f.name not in sent:
                sent[f.name] = f.value
        return sent

    def integer_fields(self) -> list[Field]:
        found = []
        for f in self.fields:
            if f.name == "csrf_token":
                continue
            whole = re.fullmatch(r"-?\d+", f.value or "") is not None
            if (
                f.kind == "number"
                or (f.kind == "hidden" and whole)
                or (f.kind == "select" and f.options and all(o.isdigit() for o in f.options))
            ):
                found.append(f)
        return found


class FormParser(HTMLParser):
    def __init__(self, page_url: str):
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = Form(a.get("action") or self.page_url, (a.get("method") or "get").upper())
            self.forms.append(self._form)
            return
        if self._form is None or not a.get("name"):
            if tag == "option" and self._select is not None:
                self._option(a)
            return
        name = a["name"]
        if tag == "input":
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind in ("file", "image", "reset", "button"):
                return
            if kind == "submit" and any(f.kind == "submit" for f in self._form.fields):
                return  # a browser sends the button that was pressed: the first
            if kind == "text" and a.get("inputmode") in ("numeric", "decimal"):
                kind = "number"
            self._form.fields.append(Field(name, kind, a.get("value", "")))
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            if not any(f.kind == "submit" for f in self._form.fields):
                self._form.fields.append(Field(name, "submit", a.get("value", "")))
        elif tag == "select":
            self._select = Field(name, "select")
            self._form.fields.append(self._select)
        elif tag == "textarea":
            self._textarea = Field(name, "textarea")
            self._form.fields.append(self._textarea)
        elif tag == "option" and self._select is not None:
            self._option(a)

    def _option(self, a: dict[str, str]) -> None:
        assert self._select is not None
        value = a.get("value", "")
        self._select.options.append(value)
        if "selected" in a or len(self._select.options) == 1:
            self._select.value = value

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


# --- what to send ------------------------------------------------------------------------------


def integer_query_parameters() -> list[str]:
    """The names of the query parameters the app reads as integers, from its source."""
    pattern = re.compile(r"""int_arg\(\s*["'](\w+)["']|\.get\(\s*["'](\w+)["'][^()\n]*type=int""")
    names: set[str] = set()
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            for match in pattern.finditer(path.read_text(encoding="utf-8")):
                names.add(match.group(1) or match.group(2))
    return sorted(names)


def pages(world: World) -> Iterator[tuple[str, str, Any]]:
    """(role, url, response) of every page of the URL map the owner (or else the admin) sees."""
    senders = {role: Sender(world.client(role)) for role in ("owner", "admin")}
    for rule in sorted(rules(world.app, {"GET"}), key=lambda r: (r.endpoint, r.rule)):
        if rule.rule.startswith("/api/") or rule.endpoint.startswith("api"):
            continue
        filled = fill(rule, world.objects(), PARAMS, {}, OWNED)
        assert filled is not None
        make_query = BODIES.get(f"{rule.endpoint} GET")
        query = make_query(world.objects()) if make_query else None
        for role, sender in senders.items():
            response = sender.send("GET", filled.url, query)
            sender.take_error_flash()
            if response.status_code == 200 and response.mimetype == "text/html":
                yield role, filled.url, response
                break


@dataclass
class Attempt:
    role: str
    page: str
    form: Form
    field: Field
    value: str


def attempts(world: World) -> list[Attempt]:
    found: list[Attempt] = []
    seen: set[tuple[str, str, tuple[str, ...], str]] = set()
    for role, url, response in pages(world):
        parser = FormParser(url)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            # The same form repeated (one per row) is tried once.
            names = tuple(sorted(re.sub(r"\d+", "#", f.name) for f in form.fields))
            action = re.sub(r"\d+", "#", urlsplit(form.action).path)
            for integer in form.integer_fields():
                key = (form.method, action, names, re.sub(r"\d+", "#", integer.name))
                if key in seen:
                    continue
                seen.add(key)
                for value in VALUES:
                    found.append(Attempt(role, url, form, integer, value))
    return found


# --- the tests ---------------------------------------------------------------------------------


@pytest.fixture
def world(app) -> World:
    return build_world(app)


def _untimed(rows: dict[Any, dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    return {key: {k: v for k, v in row.items() if k != "updated_at"} for key, row in rows.items()}


def _safety_net(caplog: pytest.LogCaptureFixture) -> bool:
    fired = any(SAFETY_NET in record.getMessage() for record in caplog.records)
    caplog.clear()
    return fired


def test_every_integer_field_of_the_pages_is_bounded(app):
    """A form's integer field is app.forms.IntegerField, which no INTEGER column overflows
    (the app's features, with their forms, are imported by the time it is built)."""

    def subclasses(cls: type) -> Iterator[type]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    unbounded = []
    for form_class in set(subclasses(FlaskForm)):
        if not form_class.__module__.startswith(PACKAGES):
            continue
        for name in dir(form_class):
            unbound = getattr(form_class, name, None)
            field_class = getattr(unbound, "field_class", None)
            if (
                isinstance(field_class, type)
                and issubclass(field_class, IntegerField)
                and not issubclass(field_class, forms.IntegerField)
            ):
                unbounded.append(f"{form_class.__module__}.{form_class.__name__}.{name}")
    assert not unbounded, f"integer fields any number reaches the database through: {unbounded}"


def test_huge_and_negative_numbers_in_page_forms_are_the_forms_errors(world, caplog):
    caplog.set_level(logging.WARNING)
    tries = attempts(world)
    # The pages' forms were read: the cart's quantity, a variant's stock, a hidden id...
    names = {attempt.field.name for attempt in tries}
    assert {"quantity", "stock", "target_id", "processing_days", "fee_bps"} <= names, names
    world.restore("owner")
    before = world.fingerprint()
    senders = {role: Sender(world.client(role)) for role in ("owner", "admin")}
    failures = []
    for attempt in tries:
        sender = senders[attempt.role]
        data = attempt.form.data()
        data[attempt.field.name] = attempt.value
        data.pop("csrf_token", None)
        response = sender.send(attempt.form.method, attempt.form.action, data)
        flashed_error = sender.take_error_flash()
        status = response.status_code
        net = _safety_net(caplog)
        where = f"{attempt.form.method} {attempt.form.action} {attempt.field.name}={attempt.value}"
        html = response.get_data(as_text=True)
        if status >= 500 or net:
            failures.append(f"{where} -> {status}{' (the 400 safety net)' if net else ''}")
        elif attempt.form.method == "GET":
            pass  # a search or a filter: any answer of its own will do
        elif attempt.field.kind == "number":
            # Typed by a person: the form again with the field's error, or an error flashed.
            shown = status == 422 and any(
                mark in html for mark in ('aria-invalid="true"', 'class="error', 'role="alert"')
            )
            if not (shown or (300 <= status < 400 and flashed_error)):
                failures.append(f"{where} -> {status}, not the field's error")
        if attempt.form.method != "GET":
            world.restore(attempt.role)
    after = world.fingerprint()
    assert tries
    assert not failures, f"{len(failures)} of {len(tries)} answers wrong:\n" + "\n".join(failures)
    # A form whose hidden id the view ignores may save the rest as it was: only the time moves.
    written = changes(_untimed(before), _untimed(after))
    assert not written, written


def test_huge_and_negative_integer_query_parameters_are_not_errors(world, caplog):
    caplog.set_level(logging.WARNING)
    names = integer_query_parameters()
    assert {"page", "before", "p", "call"} <= set(names), names
    sender = Sender(world.client("owner"))
    failures = []
    sent = 0
    for rule in sorted(rules(world.app, {"GET"}), key=lambda r: (r.endpoint, r.rule)):
        filled = fill(rule, world.objects(), PARAMS, {}, OWNED)
        assert filled is not None
        make_query = BODIES.get(f"{rule.endpoint} GET")
        base = make_query(world.objects()) if make_query else {}
        for value in VALUES:
            query = {**base, **dict.fromkeys(names, value)}
            response = sender.send("GET", filled.url, query)
            sender.take_error_flash()
            sent += 1
            if _safety_net(caplog) or response.status_code >= 500:
                failures.append(f"GET {filled.url} {value} -> {response.status_code}")
    assert sent
    assert not failures, "\n".join(failures)
