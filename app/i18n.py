"""Languages (English and French), and money, numbers and dates formatted for the locale.

A page's locale has two parts: its language, one of LANGUAGES (what the words are in), and
the region it is formatted for (what dates and numbers look like: 07/12/2026 in Britain,
12/7/26 in the United States, 2026-12-07 in Quebec). The language is the one the person
chose (saved in their account, or picked on the site and kept in a cookie), else the first
of their browser's languages we have; the region is the one their browser names for that
language, when Babel knows that locale. The page cache keys pages by the whole locale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel import Locale, localedata
from babel.dates import format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import (
    NumberFormatError,
    format_currency,
    format_decimal,
    get_currency_precision,
    parse_decimal,
)
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import (
    format_date,
    format_datetime,
    get_locale,
    get_translations,
    to_user_timezone,
)
from flask_login import current_user

ROOT = Path(__file__).resolve().parent.parent
# Each package keeps its own catalogue in <package>/translations; Flask-Babel merges them.
CATALOGUE_PACKAGES = ("app", "marketplace", "social", "payouts")


def translation_dirs() -> list[Path]:
    return [
        ROOT / name / "translations"
        for name in CATALOGUE_PACKAGES
        if (ROOT / name / "translations").is_dir()
    ]


def minor_unit_exponent(currency: str) -> int:
    """Digits after the decimal point of the currency's minor unit (CLDR via Babel)."""
    return int(get_currency_precision(currency.upper()))


# The language a visitor picked on the site (the switcher in the footer), for a year.
LANGUAGE_COOKIE = "language"
LANGUAGE_COOKIE_MAX_AGE = 365 * 24 * 3600
# A browser's language tag as we take it: a language, and a region of two letters or none
# ("en", "en-GB", "fr_CA"); scripts, variants and private tags are not formats we need.
_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_]([A-Za-z]{2}))?")


def choose_locale(language: str | None, accepted: Iterable[str], languages: Sequence[str]) -> str:
    """The locale of a page, as Babel names it ("en_GB", "fr", "fr_CA").

    `language` is the one the person chose (None: their browser's); `accepted` are their
    browser's language tags, best first. Only LANGUAGES and locales Babel knows come out, so
    a made-up header can neither break a page nor make the cache keep endless copies of it.
    """
    chosen = language if language in languages else None
    for tag in accepted:
        match = _TAG.fullmatch(tag.strip())
        if match is None:
            continue
        tongue, region = match.group(1).lower(), (match.group(2) or "").upper()
        if chosen is None and tongue in languages:
            chosen = tongue
        if tongue != chosen:
            continue
        regional = f"{tongue}_{region}"
        return regional if region and localedata.exists(regional) else tongue
    return chosen or languages[0]


def chosen_language() -> str | None:
    """The language this visitor picked on the site, if any (and if we still offer it)."""
    picked = request.cookies.get(LANGUAGE_COOKIE)
    return picked if picked in current_app.config["LANGUAGES"] else None


def _accepted() -> list[str]:
    return [tag for tag, _quality in request.accept_languages]


def select_locale() -> str | None:
    languages = current_app.config["LANGUAGES"]
    saved = getattr(current_user, "locale", None) if current_user else None
    saved = saved if saved in languages else None
    if not has_request_context():
        return saved
    return choose_locale(saved or chosen_language(), _accepted(), languages)


def visitor_locale() -> str:
    """The locale of someone signed out: the language they picked or their browser's best
    that we have, formatted for their browser's region."""
    return choose_locale(chosen_language(), _accepted(), current_app.config["LANGUAGES"])


def language_tag() -> str:
    """The page's locale as HTML's lang attribute wants it ("en-GB", "fr")."""
    return str(get_locale() or "en").replace("_", "-")


@lru_cache(maxsize=8)
def _offered(languages: tuple[str, ...]) -> list[tuple[str, str]]:
    return [
        (code, (Locale.parse(code).get_display_name(code) or code).capitalize())
        for code in languages
    ]


def offered_languages() -> list[tuple[str, str]]:
    """Each language of the site with its name in itself ("English", "Français")."""
    return _offered(tuple(current_app.config["LANGUAGES"]))


def language() -> str:
    """The page's language, one of LANGUAGES (whatever region it is formatted for)."""
    locale = get_locale()
    return locale.language if locale is not None else "en"


def money(amount_minor: int | None, currency: str | None = None) -> str:
    """Format an integer amount in minor units for the current locale (e.g. 1234 -> €12.34)."""
    if amount_minor is None:
        return ""
    cur = (currency or current_app.config["CURRENCY"]).upper()
    return _format_money(int(amount_minor), cur, str(get_locale() or "en"))


@lru_cache(maxsize=4096)
def _format_money(amount_minor: int, currency: str, locale: str) -> str:
    # Babel's formatting costs ~0.1 ms a call and a page makes dozens; prices repeat a lot.
    value = Decimal(amount_minor).scaleb(-minor_unit_exponent(currency))
    return format_currency(value, currency, locale=locale)


# --- numbers people type -----------------------------------------------------------------
# A price or a rate typed into a form is read in the visitor's notation ("1,250.50" in
# English, "1 250,50" in French) and shown back in it; a number with one separator and no
# grouping ("12,50" in English, "12.50" in French) is read with that separator as the decimal
# point, as people write it whatever their language.

_TYPED_NUMBER = re.compile(r"-?[0-9][0-9.,]*")
_ONE_SEPARATOR = re.compile(r"(-?[0-9]+)[.,]([0-9]+)")
_SPACES = str.maketrans("", "", " \u00a0\u202f\u2009")


def _locale_name() -> str:
    return str(get_locale() or "en")


def read_number(raw: str | None) -> Decimal | None:
    """A number typed by a person, in their locale's notation or with one decimal separator;
    None when blank or not a plain number (no exponent, no other digits, at most 40 signs)."""
    text = (raw or "").translate(_SPACES)
    if not text or len(text) > 40 or not _TYPED_NUMBER.fullmatch(text):
        return None
    try:
        return parse_decimal(text, locale=_locale_name(), strict=True)
    except (NumberFormatError, InvalidOperation):
        pass
    found = _ONE_SEPARATOR.fullmatch(text)
    return Decimal(f"{found.group(1)}.{found.group(2)}") if found else None


def parse_amount(raw: str | None, currency: str | None = None) -> int | None:
    """ "12.50" (or "12,50", or "1,250.50" in English) in major units -> minor units (1250);
    None when blank, malformed, or finer than the currency's minor unit."""
    value = read_number(raw)
    if value is None:
        return None
    minor = value.scaleb(minor_unit_exponent(currency or current_app.config["CURRENCY"]))
    if minor != minor.to_integral_value():
        return None
    return int(minor)


def format_amount(minor: int | None, currency: str | None = None) -> str:
    """1250 -> "12.50" in English, "12,50" in French: the value a form field shows back (no
    grouping and no symbol, so that it reads back as it is)."""
    if minor is None:
        return ""
    exponent = minor_unit_exponent(currency or current_app.config["CURRENCY"])
    pattern = "0." + "0" * exponent if exponent else "0"
    return str(format_decimal(Decimal(minor).scaleb(-exponent), pattern, locale=_locale_name()))


def parse_percent(raw: str | None) -> int | None:
    """A percentage ("10", "10.5", "10,5 %") -> basis points (1000, 1050); None when blank,
    malformed, negative or finer than a hundredth of a percent."""
    value = read_number((raw or "").strip().removesuffix("%"))
    if value is None or value < 0:
        return None
    bps = value.scaleb(2)
    if bps != bps.to_integral_value():
        return None
    return int(bps)


def format_percent(bps: int | None) -> str:
    """1050 basis points -> "10.5" ("10,5" in French); 1000 -> "10"."""
    if bps is None:
        return ""
    return str(format_decimal(Decimal(bps).scaleb(-2), "0.##", locale=_locale_name()))


def request_translations() -> Any:
    """The translations in force, as Flask-Babel finds them, kept while the locale stays the
    same: templates ask for every string they show (dozens a page), and Flask-Babel's own
    look-up walks the request's context and names the locale each time. `force_locale`
    (mail in the recipient's language) makes another locale object, so another answer."""
    locale = get_locale()
    if locale is None:  # no app context
        return get_translations()
    kept = g.get("_kindred_translations")
    if kept is not None and kept[0] is locale:
        return kept[1]
    translations = get_translations()
    g._kindred_translations = (locale, translations)
    return translations


def date(value: datetime | None, style: str = "medium") -> str:
    return format_date(value, style) if value else ""


def datetime_(value: datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style) if value else ""


def day(value: datetime | None) -> str:
    """The day something happened, as a feed or an inbox says it: "Dec 7" (or "7 déc.") this
    year, with the year before ("Mar 2, 2025"). The time goes in a title beside it."""
    if not value:
        return ""
    when = to_user_timezone(value)
    this_year = to_user_timezone(datetime.now(UTC)).year
    skeleton = "MMMd" if when.year == this_year else "yMMMd"
    return str(format_skeleton(skeleton, when, locale=get_locale()))


def number(value: int | float | Decimal | None) -> str:
    """A count or a quantity as the locale writes it (1,234 / 1 234 / 1'234)."""
    return "" if value is None else str(format_decimal(value, locale=_locale_name()))


def compile_catalogs(force: bool = False) -> int:
    """Compile each .po catalogue to .mo when it is newer; returns how many were written.

    The .mo files are build products and not committed; `make install` and the test suite
    compile them, and so does the app factory when one is missing.
    """
    written = 0
    po_paths = [p for d in translation_dirs() for p in d.glob("*/LC_MESSAGES/*.po")]
    for po_path in po_paths:
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parts[-3])
        tmp = mo_path.with_suffix(".mo.part")
        with tmp.open("wb") as mo_file:
            write_mo(mo_file, catalog, use_fuzzy=False)
        tmp.replace(mo_path)
        written += 1
    return written


def init_app(app: Flask) -> None:
    from app.extensions import babel

    compile_catalogs()
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(str(d) for d in translation_dirs())
    babel.init_app(app, locale_selector=select_locale)
    # Flask-Babel's template callables, with the translations looked up once per locale.
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
    )
    app.jinja_env.filters["money"] = money
    app.jinja_env.globals["format_amount"] = format_amount
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["datetime"] = datetime_
    app.jinja_env.filters["day"] = day
    app.jinja_env.filters["number"] = number
    app.jinja_env.globals["current_locale"] = language_tag
    app.jinja_env.globals["current_language"] = language
    app.jinja_env.globals["offered_languages"] = offered_languages
