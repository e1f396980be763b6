"""Small helpers the catalogue's services share to check input and report every problem."""

from __future__ import annotations

from flask_babel import gettext as _

from app.rules import Forbidden, RuleViolation

# A sane ceiling for one price (in minor units): 100,000.00 in a two-decimal currency.
MAX_PRICE_MINOR = 10_000_000
MAX_STOCK = 1_000_000


class Problems:
    """Collects field errors so a form shows all of them at once, then raises one violation."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}

    def add(self, field: str, message: str) -> None:
        self.errors.setdefault(field, []).append(message)

    def check(self) -> None:
        if self.errors:
            first = next(iter(self.errors.values()))[0]
            raise RuleViolation(first, errors=self.errors)

    def __contains__(self, field: str) -> bool:
        return field in self.errors


def check_price(problems: Problems, field: str, value: int | None) -> None:
    if value is None:
        problems.add(field, _("Enter a price, such as 12.50."))
    elif value <= 0:
        problems.add(field, _("A price must be more than zero."))
    elif value > MAX_PRICE_MINOR:
        problems.add(field, _("That price is higher than Kindred allows."))


def check_stock(problems: Problems, field: str, value: int | None) -> None:
    if value is None or isinstance(value, bool) or not isinstance(value, int):
        problems.add(field, _("Enter the number in stock as a whole number."))
    elif value < 0:
        problems.add(field, _("Stock cannot be negative."))
    elif value > MAX_STOCK:
        problems.add(field, _("That is more stock than Kindred can track."))


def check_length(
    problems: Problems, field: str, value: str, *, maximum: int, minimum: int = 0
) -> None:
    if minimum and len(value) < minimum:
        if minimum == 1:
            problems.add(field, _("This field is required."))
        else:
            problems.add(field, _("Use at least %(min)d characters.", min=minimum))
    elif len(value) > maximum:
        problems.add(field, _("Use at most %(max)d characters.", max=maximum))


def not_yours() -> Forbidden:
    return Forbidden(_("Only the shop's owner can change it."))
