"""Helpers shared by every feature's HTML forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, overload

from flask import Response, render_template, request
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import IntegerField as _IntegerField
from wtforms.validators import StopValidation

from app.api import INT_MIN
from app.models import INT_MAX
from app.rules import RuleViolation


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
