"""Signed webhook delivery with retries and exponential back-off.

Deliveries are queued when an event is emitted and sent by :func:`deliver_due`, which never
holds the emulator lock while talking to the receiver: the receiver may well call back into the
emulator (an app's webhook handler retrieving the checkout session, say).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .emulator import Emulator

WebhookSender = Callable[[str, bytes, dict[str, str]], int]

# Delays before the 2nd, 3rd, ... attempt, by the emulator clock (Stripe retries for ~3 days).
DEFAULT_BACKOFF: tuple[int, ...] = (60, 300, 1800, 7200, 18000, 36000, 86400, 86400)

_local = threading.local()


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header value for ``payload``.

    Signed with the real wall-clock time, not the emulator clock: receivers check the timestamp
    against their own clock (5 minutes tolerance by default).
    """
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def urllib_sender(url: str, body: bytes, headers: dict[str, str]) -> int:
    """Default sender: POST with urllib, return the HTTP status (non-2xx are not exceptions)."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"refusing to deliver to non-HTTP URL {url!r}")
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - scheme checked
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def deliver_due(emu: Emulator, max_rounds: int = 20) -> int:
    """Attempt every delivery due by the emulator clock; returns the number of attempts."""
    if getattr(_local, "delivering", False):
        # A receiver called back into the emulator from inside a delivery on this thread: the
        # outer loop picks up whatever became due, so don't recurse.
        return 0
    _local.delivering = True
    try:
        attempted = 0
        for _ in range(max_rounds):
            batch = _claim_due(emu)
            if not batch:
                break
            for row in batch:
                _attempt(emu, row)
                attempted += 1
        return attempted
    finally:
        _local.delivering = False


def _claim_due(emu: Emulator) -> list[dict[str, Any]]:
    with emu.lock:
        now = emu.clock.now()
        conn = emu.store.conn
        rows = conn.execute(
            "SELECT * FROM deliveries WHERE status = 'pending' AND in_flight = 0"
            " AND next_attempt_at <= ? ORDER BY created, rowid",
            (now,),
        ).fetchall()
        claimed = [dict(r) for r in rows]
        if claimed:
            conn.executemany(
                "UPDATE deliveries SET in_flight = 1 WHERE id = ?", [(r["id"],) for r in claimed]
            )
        return claimed


def _attempt(emu: Emulator, row: dict[str, Any]) -> None:
    with emu.lock:
        endpoint = emu.store.get(row["endpoint_id"])
    payload = row["payload"].encode()
    status: int | None = None
    error: str | None = None
    started = time.monotonic()
    if endpoint is None or endpoint.get("status") != "enabled":
        error = "endpoint deleted or disabled"
    else:
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(payload, endpoint["_secret"]),
            "Cache-Control": "no-cache",
            "Accept": "*/*; q=0.5, application/xml",
        }
        try:
            status = int(emu.webhook_sender(row["url"], payload, headers))
        except Exception as exc:  # any failure to deliver is recorded and retried
            error = f"{type(exc).__name__}: {exc}"
    duration_ms = int((time.monotonic() - started) * 1000)
    _record(emu, row, status, error, duration_ms, endpoint is not None)


def _record(
    emu: Emulator,
    row: dict[str, Any],
    status: int | None,
    error: str | None,
    duration_ms: int,
    endpoint_exists: bool,
) -> None:
    with emu.lock, emu.store.transaction():
        now = emu.clock.now()
        conn = emu.store.conn
        attempt = int(row["attempts"]) + 1
        conn.execute(
            "INSERT INTO delivery_attempts (delivery_id, attempt, at, wall_time, status_code,"
            " error, duration_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (row["id"], attempt, now, time.time(), status, error, duration_ms),
        )
        ok = status is not None and 200 <= status < 300
        if ok:
            new_status, next_at = "succeeded", None
        elif not endpoint_exists:
            new_status, next_at = "canceled", None
        elif attempt > len(emu.delivery_backoff):
            new_status, next_at = "failed", None
        else:
            new_status, next_at = "pending", now + emu.delivery_backoff[attempt - 1]
        conn.execute(
            "UPDATE deliveries SET status = ?, attempts = ?, next_attempt_at = ?, in_flight = 0"
            " WHERE id = ?",
            (new_status, attempt, next_at, row["id"]),
        )
        if new_status != "pending":
            event = emu.store.get(row["event_id"])
            if event is not None and event["pending_webhooks"] > 0:
                event["pending_webhooks"] -= 1
                emu.store.save(event)


def list_deliveries(emu: Emulator, event_id: str | None = None) -> list[dict[str, Any]]:
    with emu.lock:
        conn = emu.store.conn
        sql = (
            "SELECT id, event_id, event_type, endpoint_id, url, status, attempts,"
            " next_attempt_at, created FROM deliveries"
        )
        args: tuple[Any, ...] = ()
        if event_id:
            sql += " WHERE event_id = ?"
            args = (event_id,)
        sql += " ORDER BY created DESC, rowid DESC"
        out = [dict(r) for r in conn.execute(sql, args)]
        for d in out:
            d["attempt_history"] = [
                dict(a)
                for a in conn.execute(
                    "SELECT attempt, at, wall_time, status_code, error, duration_ms"
                    " FROM delivery_attempts WHERE delivery_id = ? ORDER BY attempt",
                    (d["id"],),
                )
            ]
        return out


class DeliveryThread(threading.Thread):
    """Background loop of the standalone server: settle timers, send due webhooks."""

    def __init__(self, emu: Emulator, interval: float = 1.0) -> None:
        super().__init__(name="stripe-emulator-webhooks", daemon=True)
        self.emu = emu
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.emu.settle()
                self.emu.deliver_due_webhooks()
            except Exception:  # keep the loop alive; the next tick retries
                import logging

                logging.getLogger(__name__).exception("webhook delivery loop failed")
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(timeout=5)
