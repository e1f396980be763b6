"""The error a use case raises when a rule says no.

Services raise `RuleViolation` with a message a person can read and, where it belongs to an
input, the field's name. Pages show it next to the field; the API turns it into
application/problem+json with the same field errors. Either way nothing is committed.
"""

from __future__ import annotations

from typing import Any


class RuleViolation(Exception):
    status = 422

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if status is not None:
            self.status = status
        self.errors: dict[str, list[str]] = dict(errors or {})
        if field and field not in self.errors:
            self.errors[field] = [message]

    def to_problem(self) -> dict[str, Any]:
        problem: dict[str, Any] = {"title": self.message, "status": self.status}
        if self.errors:
            problem["errors"] = self.errors
        return problem


class NotFound(RuleViolation):
    status = 404


class Forbidden(RuleViolation):
    status = 403


class Conflict(RuleViolation):
    status = 409
