"""The platform's money settings: one row, created from the config defaults, edited by admins."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask, current_app
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.models import utcnow
from app.rules import RuleViolation
from payouts.models import PlatformSettings


def _defaults() -> dict[str, int]:
    config = current_app.config
    return {
        "fee_bps": int(config.get("PLATFORM_FEE_BPS", 800)),
        "commission_min_bps": int(config.get("CURATOR_COMMISSION_MIN_BPS", 0)),
        "commission_max_bps": int(config.get("CURATOR_COMMISSION_MAX_BPS", 3000)),
        "seller_min_bps": int(config.get("SELLER_MIN_BPS", 5000)),
        "hold_days": int(config.get("EARNINGS_HOLD_DAYS", 7)),
        "min_payout_minor": int(config.get("MIN_PAYOUT_MINOR", 1000)),
    }


def current() -> PlatformSettings:
    """The settings in force: the admins' row, or (never written by a read) the defaults."""
    found = db.session.scalar(select(PlatformSettings).order_by(PlatformSettings.id).limit(1))
    return found if found is not None else PlatformSettings(**_defaults())


@dataclass
class SettingsChange:
    fee_bps: int
    commission_min_bps: int
    commission_max_bps: int
    seller_min_bps: int
    hold_days: int
    min_payout_minor: int


def add_settings_guard(app: Flask, guard: Callable[[PlatformSettings], None]) -> None:
    """`guard(proposed)` raises RuleViolation when the platform may not take these settings
    (co-creation: the shares shops promised must still fit)."""
    app.extensions.setdefault("kindred_settings_guards", []).append(guard)


def update(admin: User, change: SettingsChange) -> PlatformSettings:
    if not admin.is_admin:
        raise RuleViolation(_("Only an administrator can change this."), status=403)
    errors: dict[str, list[str]] = {}

    def check(name: str, value: int, low: int, high: int) -> None:
        if not low <= value <= high:
            errors[name] = [_("Choose a value between %(low)d and %(high)d.", low=low, high=high)]

    check("fee_bps", change.fee_bps, 0, 5000)
    check("commission_min_bps", change.commission_min_bps, 0, 5000)
    check("commission_max_bps", change.commission_max_bps, 0, 5000)
    check("seller_min_bps", change.seller_min_bps, 0, 10000)
    check("hold_days", change.hold_days, 0, 90)
    check("min_payout_minor", change.min_payout_minor, 0, 10_000_00)
    if change.commission_min_bps > change.commission_max_bps:
        errors["commission_min_bps"] = [_("The minimum cannot be above the maximum.")]
    if change.fee_bps + change.commission_max_bps > 10000 - change.seller_min_bps:
        errors["seller_min_bps"] = [
            _("The fee and the highest commission would leave the seller less than this.")
        ]
    if errors:
        raise RuleViolation(next(iter(errors.values()))[0], errors=errors)
    proposed = PlatformSettings(**vars(change))
    for guard in current_app.extensions.get("kindred_settings_guards", []):
        guard(proposed)
    settings = current()
    if settings.id is None:
        db.session.add(settings)
    for name, value in vars(change).items():
        setattr(settings, name, value)
    settings.updated_at = utcnow()
    settings.updated_by_id = admin.id
    return settings
