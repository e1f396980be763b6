"""Signals the accounts announce; features connect to them (e.g. the cart merges at login)."""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# sender: the app; kwargs: user, kept (what of the anonymous session survived the rotation)
logged_in = _signals.signal("logged-in")
