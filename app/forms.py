"""Helpers shared by every feature's HTML forms."""

from __future__ import annotations

from typing import Any

from flask import render_template
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


def render_form(template: str, form: FlaskForm, **context: Any) -> tuple[str, int]:
    """Render a form page; 422 when it carries errors, so nothing of the request commits."""
    has_errors = bool(form.errors) or bool(form.form_errors)
    return render_template(template, form=form, **context), (422 if has_errors else 200)
