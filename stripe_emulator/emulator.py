"""The :class:`Emulator`: state, configuration, time and the in-process control surface."""

from __future__ import annotations

import threading
from typing import Any

import stripe
from flask import has_request_context, request

from . import shapes
from .api import IN_PROCESS_ENVIRON_KEY, KeysInFlight
from .clock import Clock
from .context import Ctx
from .errors import StripeError
from .faults import FaultInjector
from .ids import new_id
from .resources import accounts, balance, checkout, payments
from .resources.common import out, render
from .store import Store
from .webhooks import DEFAULT_BACKOFF, DeliveryThread, WebhookSender, deliver_due, urllib_sender


class Emulator:
    """A Stripe-compatible API with its state in SQLite.

    ``wsgi_app`` serves the ``/v1`` API, the hosted pages and (with ``controls``) the
    ``/_emulator`` controls and dashboard; :meth:`http_client` gives the stripe SDK an
    in-process transport to it.
    """

    def __init__(
        self,
        db_path: str = ":memory:",
        public_url: str | None = None,
        fee_bps: int = 290,
        fee_fixed: int = 30,
        pending_seconds: int = 2 * 86400,
        api_base: str = "https://api.stripe.com",
        *,
        auto_deliver: bool = False,
        webhook_sender: WebhookSender | None = None,
        delivery_backoff: tuple[int, ...] = DEFAULT_BACKOFF,
        fault_timeout: float = 90.0,
        api_version: str | None = None,
        controls: bool = True,
    ) -> None:
        self.lock = threading.RLock()
        self.store = Store(db_path)
        self.public_url = public_url.rstrip("/") if public_url else None
        self.fee_bps = fee_bps
        self.fee_fixed = fee_fixed
        self.pending_seconds = pending_seconds
        self.api_base = api_base
        self.auto_deliver = auto_deliver
        self.webhook_sender: WebhookSender = webhook_sender or urllib_sender
        self.delivery_backoff = tuple(delivery_backoff)
        # How long a standalone "timeout" fault stalls (beyond the SDK's 80 s default).
        self.fault_timeout = fault_timeout
        self.api_version = api_version or stripe.api_version
        self.faults = FaultInjector()
        # Serve the /_emulator/ controls and the dashboard over HTTP. A test tool wants them; an
        # app that embeds the emulator where strangers can reach it does not (the Python
        # methods below stay available to the process itself either way).
        self.controls = controls
        self.keys_in_flight = KeysInFlight()
        self._delivery_thread: DeliveryThread | None = None
        with self.lock:
            offset = int(self.store.get_meta("clock_offset") or 0)
            self.clock = Clock(offset, on_change=self._persist_clock)
            self._ensure_platform()
            # Deliveries claimed by a process that died mid-send are up for grabs again.
            self.store.conn.execute("UPDATE deliveries SET in_flight = 0 WHERE in_flight = 1")

        from .server import create_app

        self.wsgi_app = create_app(self)

    # -- plumbing -----------------------------------------------------------------------------

    def _persist_clock(self, offset: int) -> None:
        with self.lock:
            self.store.set_meta("clock_offset", str(offset))

    def _ensure_platform(self) -> None:
        platform = self.store.get_meta("platform_account")
        if platform is None:
            self.store.set_meta("platform_account", new_id("acct", 16))

    @property
    def platform_id(self) -> str:
        with self.lock:
            value = self.store.get_meta("platform_account")
        assert value is not None
        return value

    def platform_account(self) -> dict[str, Any]:
        acct = shapes.account(
            id=self.platform_id,
            business_profile={**shapes.account()["business_profile"], "name": "Emulated platform"},
            capabilities={"card_payments": "active", "transfers": "active"},
            charges_enabled=True,
            created=0,
            details_submitted=True,
            email="platform@example.com",
            payouts_enabled=True,
            type="standard",
        )
        acct["controller"] = {"type": "account"}
        acct["external_accounts"] = shapes.empty_list(
            f"/v1/accounts/{acct['id']}/external_accounts"
        )
        return acct

    def base_url(self) -> str:
        """Absolute URL of the emulator's root, used in hosted page links handed to the app."""
        if self.public_url:
            return self.public_url
        if has_request_context():
            if request.environ.get(IN_PROCESS_ENVIRON_KEY):
                # In-process calls carry the SDK's api_base host, which no browser can reach.
                return "http://localhost"
            return request.host_url.rstrip("/") + request.script_root
        return "http://localhost"

    def ctx(self, account: str = "", now: int | None = None) -> Ctx:
        return Ctx(emu=self, now=self.clock.now() if now is None else now, account=account)

    def http_client(self, retry_sleep: float | None = None) -> stripe.HTTPClient:
        """An SDK transport that calls ``wsgi_app`` in-process (no sockets)."""
        from .transport import EmulatorHTTPClient

        return EmulatorHTTPClient(self, retry_sleep=retry_sleep)

    # -- time ---------------------------------------------------------------------------------

    def settle(self) -> None:
        """Process everything that became due by the emulator clock."""
        with self.lock:
            if not self.store.has_due_timers(self.clock.now()):
                return  # every request settles first: most find nothing due
        with self.lock, self.store.transaction():
            now = self.clock.now()
            for due_at, kind, ref in self.store.pop_due_timers(now):
                obj = self.store.get(ref)
                if obj is None:
                    continue
                ctx = self.ctx(account=self.store.account_of(ref) or "", now=due_at)
                if kind == "session_expire" and obj["status"] == "open":
                    checkout.expire_session(ctx, obj, request=False)
                elif kind == "payout_paid":
                    balance.pay_payout(ctx, obj)

    def advance(self, seconds: int) -> int:
        """Move the emulator clock forward and process what became due; returns the new now."""
        self.clock.advance(seconds)
        self.settle()
        self._after_action()
        return self.clock.now()

    def _after_action(self) -> None:
        if self.auto_deliver:
            self.deliver_due_webhooks()

    # -- webhooks -----------------------------------------------------------------------------

    def deliver_due_webhooks(self) -> int:
        return deliver_due(self)

    def deliveries(self, event_id: str | None = None) -> list[dict[str, Any]]:
        from .webhooks import list_deliveries

        return list_deliveries(self, event_id)

    def start_delivery_thread(self, interval: float = 1.0) -> None:
        """Deliver due webhooks (and settle timers) in the background, as the standalone does."""
        if self._delivery_thread is None:
            self._delivery_thread = DeliveryThread(self, interval)
            self._delivery_thread.start()

    def stop_delivery_thread(self) -> None:
        if self._delivery_thread is not None:
            self._delivery_thread.stop()
            self._delivery_thread = None

    # -- test controls ------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every object, event, delivery and fault; the clock returns to real time."""
        with self.lock:
            self.store.wipe()
            self.clock.set_offset(0)
            self._ensure_platform()
        self.faults.clear()

    def fail_next(
        self, path_prefix: str, count: int = 1, kind: str = "error", when: str = "before"
    ) -> None:
        self.faults.add(path_prefix, count, kind, when)

    def _control(self, obj_id: str, type: str) -> tuple[Ctx, dict[str, Any]]:
        obj = self.store.get(obj_id)
        if obj is None or obj.get("object") != type:
            raise KeyError(f"no {type} {obj_id!r}")
        return self.ctx(account=self.store.account_of(obj_id) or ""), obj

    def create_dispute(self, charge_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        with self.lock, self.store.transaction():
            self.settle()
            ctx, charge = self._control(charge_id, "charge")
            dispute = payments.create_dispute(ctx, charge, reason=reason)
            result = out(ctx, dispute)
        self._after_action()
        return result

    def close_dispute(self, dispute_id: str, won: bool) -> dict[str, Any]:
        with self.lock, self.store.transaction():
            ctx, dispute = self._control(dispute_id, "dispute")
            result = out(ctx, payments.close_dispute(ctx, dispute, won))
        self._after_action()
        return result

    def fail_payout(self, payout_id: str) -> dict[str, Any]:
        with self.lock, self.store.transaction():
            ctx, payout = self._control(payout_id, "payout")
            result = out(ctx, balance.fail_payout(ctx, payout))
        self._after_action()
        return result

    def complete_onboarding(self, account_id: str, **details: str) -> dict[str, Any]:
        """What submitting the hosted onboarding form does, without the browser."""
        with self.lock, self.store.transaction():
            ctx, account = self._control(account_id, "account")
            accounts.complete_onboarding(ctx.for_account(""), account, details)
            result = out(ctx, account)
        self._after_action()
        return result

    def pay_checkout_session(
        self, session_id: str, card_number: str = "4242424242424242", email: str | None = None
    ) -> dict[str, Any]:
        """What paying on the hosted checkout page does; raises StripeError on a decline."""
        with self.lock, self.store.transaction():
            self.settle()
            ctx, session = self._control(session_id, "checkout.session")
            pm = payments.card_for_number(card_number)
            if pm is None:
                raise StripeError("Your card number is invalid.", code="invalid_number")
            error = checkout.pay_session(ctx, session, pm, email, None)
            result = out(ctx, session)
        self._after_action()
        if error is not None:
            raise error
        return result

    # -- inspection ---------------------------------------------------------------------------

    def get(self, obj_id: str) -> dict[str, Any] | None:
        with self.lock:
            obj = self.store.get(obj_id)
            return render(self.store, obj, self.clock.now()) if obj else None

    def objects(self, type: str, account: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            now = self.clock.now()
            return [render(self.store, o, now) for o in self.store.query(type, account)]

    def events(self, type: str | None = None) -> list[dict[str, Any]]:
        """All events (platform and connected accounts), newest first."""
        return [e for e in self.objects("event") if type is None or e["type"] == type]

    def balance(self, account: str | None = None) -> dict[str, dict[str, int]]:
        with self.lock:
            acct = "" if not account or account == self.platform_id else account
            sums = self.store.balances(acct, self.clock.now())
        return {
            "available": {c: a for c, (a, _) in sums.items()},
            "pending": {c: p for c, (_, p) in sums.items()},
        }

    def close(self) -> None:
        self.stop_delivery_thread()
        with self.lock:
            self.store.close()
