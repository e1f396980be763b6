"""Helpers shared by every feature's HTML forms."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, overload

from flask import Response, render_template, request
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup
from wtforms import IntegerField as _IntegerField
from wtforms import StringField
from wtforms.validators import StopValidation
from wtforms.widgets import Select

from app.api import INT_MIN
from app.i18n import format_amount, format_percent, parse_amount, parse_percent
from app.models import INT_MAX
from app.rules import RuleViolation


class RememberedSelect(Select):
    """A select rendered once per language, choices, value and attributes, then reused.

    A search filter's category list is a hundred options, each escaped and assembled by
    WTForms on every page; the same few combinations come back all day. The key holds
    everything the widget's output depends on, so a reused rendering is the same text.
    """

    LIMIT = 512
    _kept: OrderedDict[tuple[Any, ...], Markup] = OrderedDict()
    _lock = threading.Lock()

    def _render(self, field: Any, **kwargs: Any) -> Markup:
        rendered: Markup = super().__call__(field, **kwargs)  # WTForms escapes each option
        return rendered

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        if callable(choices) or isinstance(choices, dict):  # grouped or lazy: not kept
            return self._render(field, **kwargs)
        try:
            key = (
                type(field).__name__,
                field.name,
                field.id,
                str(get_locale()),
                tuple(
                    (c.value, str(c.label), c.render_kw and tuple(sorted(c.render_kw.items())))
                    if hasattr(c, "render_kw")
                    else tuple(str(part) for part in c)
                    for c in choices
                ),
                repr(field.data),
                tuple(sorted((k, repr(v)) for k, v in kwargs.items())),
                tuple(sorted((field.render_kw or {}).items())),
                self.multiple,
            )
            hash(key)
        except TypeError:  # something in it cannot be a key: render as usual
            return self._render(field, **kwargs)
        with self._lock:
            found = self._kept.get(key)
        if found is None:
            found = self._render(field, **kwargs)
            with self._lock:
                self._kept[key] = found
                while len(self._kept) > self.LIMIT:
                    self._kept.popitem(last=False)
        return found


class _NumberTyped(StringField):
    """A number a person types in their own notation and the database keeps as an integer:
    shown back as they typed it, or as `shown(data)`. A value that cannot be read is the
    field's one error (the range checks then have nothing to check). Blank is None: a
    required field says so with InputRequired (0 is a value, not a blank)."""

    def shown(self, data: int) -> str:
        raise NotImplementedError

    def read(self, raw: str) -> int | None:
        raise NotImplementedError

    def error(self) -> str:
        raise NotImplementedError

    def process_formdata(self, valuelist: list[Any]) -> None:
        raw = str(valuelist[0]) if valuelist and valuelist[0] is not None else ""
        self.data = None
        if raw.strip():
            self.data = self.read(raw)
            if self.data is None:
                raise ValueError(self.error())

    def pre_validate(self, form: Any) -> None:
        if self.process_errors:
            raise StopValidation()

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return self.shown(self.data) if isinstance(self.data, int) else ""


class AmountField(_NumberTyped):
    """An amount typed in major units of the currency ("4.90", "4,90", "1,250.00" in English,
    "1 250,00" in French); its data is the integer in minor units (490) that the database
    keeps, and it shows one back in the visitor's notation."""

    def read(self, raw: str) -> int | None:
        return parse_amount(raw)

    def shown(self, data: int) -> str:
        return format_amount(data)

    def error(self) -> str:
        return amount_error()


class PercentField(_NumberTyped):
    """A rate typed as a percentage ("10", "10.5", "10,5 %"); its data is the integer in basis
    points (1000, 1050) that the database keeps, and it shows one back as "10.5" ("10,5" in
    French). A hundredth of a percent is the finest a basis point holds."""

    def read(self, raw: str) -> int | None:
        return parse_percent(raw)

    def shown(self, data: int) -> str:
        return format_percent(data)

    def error(self) -> str:
        return _(
            "Enter a percentage such as %(whole)s or %(decimal)s, with at most two decimals.",
            whole=format_percent(1000),
            decimal=format_percent(1050),
        )


def amount_error() -> str:
    """What a person reads when an amount they typed cannot be read."""
    return _("Enter an amount such as %(example)s.", example=format_amount(1250))


class IntegerField(_IntegerField):
    """An integer field whose number an INTEGER column can hold (32 bits on PostgreSQL): a
    larger one is the field's error, not a database error. Validators narrow it further."""

    def pre_validate(self, form: Any) -> None:
        number = getattr(self, "data", None)
        if isinstance(number, int) and not INT_MIN <= number <= INT_MAX:
            raise StopValidation(_("That number is out of range."))


def fits_integer_column(form: Any, field: Any) -> None:
    """A validator for a field that coerces to int some other way (a choice with
    `coerce=int`): a number no INTEGER column holds is the field's error."""
    number = getattr(field, "data", None)
    if isinstance(number, int) and not INT_MIN <= number <= INT_MAX:
        raise StopValidation(_("That number is out of range."))


@overload
def int_arg(
    name: str,
    default: int,
    *,
    min: int = ...,
    max: int = ...,
    values: Mapping[str, str] | None = ...,
) -> int: ...
@overload
def int_arg(
    name: str,
    default: None = None,
    *,
    min: int = ...,
    max: int = ...,
    values: Mapping[str, str] | None = ...,
) -> int | None: ...
def int_arg(
    name: str,
    default: int | None = None,
    *,
    min: int = INT_MIN,
    max: int = INT_MAX,
    values: Mapping[str, str] | None = None,
) -> int | None:
    """The whole number `name` of the query string (or of `values`, such as `request.form`),
    or `default` when it is absent, not a whole number, or outside `min`..`max` (by default
    what an INTEGER column holds): `request.args.get(name, type=int)` would let any number
    through to the database, which refuses it with an error instead of finding nothing."""
    number = whole_number((request.args if values is None else values).get(name), min=min, max=max)
    return default if number is None else number


def whole_number(raw: str | None, *, min: int = INT_MIN, max: int = INT_MAX) -> int | None:
    """`raw` as a whole number within `min`..`max`; None when it is not one."""
    raw = (raw or "").strip()
    if not raw or len(raw) > 20:  # no number in range has more digits; int() of 5,000 is slow
        return None
    try:
        number = int(raw)
    except ValueError:
        return None
    return number if min <= number <= max else None


def apply_violation(form: FlaskForm, violation: RuleViolation) -> None:
    """Show a service's rule violation on the form: by field where it names one."""
    placed = False
    for name, messages in violation.errors.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), *messages]
            placed = True
    if not placed:
        form.form_errors.append(violation.message)
    retry_after = getattr(violation, "retry_after", None)
    if violation.status == 429 and isinstance(retry_after, int):
        form.retry_after = retry_after  # render_form says when to try again


def render_form(template: str, form: FlaskForm, **context: Any) -> tuple[str, int] | Response:
    """Render a form page; 422 when it carries errors, so nothing of the request commits (with
    `Retry-After` when one of them is a rate limit: too many pictures sent)."""
    has_errors = bool(form.errors) or bool(form.form_errors)
    page = render_template(template, form=form, **context)
    retry_after = getattr(form, "retry_after", None)
    if has_errors and isinstance(retry_after, int):
        return Response(page, 422, {"Retry-After": str(retry_after)}, mimetype="text/html")
    return page, (422 if has_errors else 200)
