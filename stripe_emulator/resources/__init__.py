"""API resources. Importing this package registers every ``/v1`` route."""

from . import accounts, balance, checkout, events, payments, transfers

__all__ = ["accounts", "balance", "checkout", "events", "payments", "transfers"]
