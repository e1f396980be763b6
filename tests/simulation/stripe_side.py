"""The simulation's hold on Stripe: webhook deliveries, the calls in flight, and ids.

* `Switchboard` stands between the emulator and our webhook endpoint: every delivery the
  emulator makes is held here, and the simulation delivers held events when it chooses, in
  the order it chooses, once or twice, signed afresh as Stripe signs each attempt.
* `CallHooks` wraps the in-process transport: the next call to a path can be made to run
  something while it is in flight (after Stripe executed it, before its answer reaches the
  caller: a webhook for it, another payout run), or to die before it is sent (the process
  killed between its commit and its call).
* `seeded_ids` makes Stripe's and our random ids follow the seed, so a replay is exact.
"""

from __future__ import annotations

import random
import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlsplit

from stripe_emulator.transport import EmulatorHTTPClient
from stripe_emulator.webhooks import sign


class TransactionAcrossCall(Exception):
    """A call to Stripe was made while the caller's database transaction was open."""


class ProcessKilled(BaseException):
    """The process died: nothing in the app may catch it (hence a BaseException)."""


@dataclass
class Held:
    url: str
    body: bytes
    event_type: str
    seq: int


class Switchboard:
    """Holds every webhook delivery until the simulation lets it through."""

    def __init__(
        self, emulator: Any, secret: Callable[[], str], handled: frozenset[str] | None = None
    ) -> None:
        self.emulator = emulator
        self.secret = secret
        # Events the app has no handler for are stored and acknowledged, nothing more: to
        # keep seeds fast they are acknowledged for it (None: deliver every event).
        self.handled = handled
        self.send: Callable[[str, bytes, dict[str, str]], int] = emulator.webhook_sender
        self.held: list[Held] = []
        self.delivered = 0
        self._seq = 0
        self._lock = threading.Lock()

    def install(self) -> None:
        self.emulator.webhook_sender = self._capture

    def uninstall(self) -> None:
        self.emulator.webhook_sender = self.send

    def _capture(self, url: str, body: bytes, _headers: dict[str, str]) -> int:
        import json

        with self._lock:
            self._seq += 1
            event_type = str(json.loads(body).get("type", "?"))
            if self.handled is not None and event_type not in self.handled:
                return 200
            self.held.append(Held(url, body, event_type, self._seq))
        return 200  # the emulator is done with it; from here on the simulation delivers

    def collect(self) -> None:
        """Take over whatever the emulator has due."""
        self.emulator.deliver_due_webhooks()

    def take(self, chosen: list[Held]) -> None:
        with self._lock:
            for held in chosen:
                if held in self.held:
                    self.held.remove(held)

    def deliver(self, held: Held) -> int:
        """One signed attempt; a refused one goes back to the queue (Stripe retries)."""
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": sign(held.body, self.secret()),
        }
        status = int(self.send(held.url, held.body, headers))
        self.delivered += 1
        if not 200 <= status < 300:
            with self._lock:
                self.held.append(held)
        return status

    def deliver_all(self) -> int:
        count = 0
        while True:
            self.collect()
            with self._lock:
                batch, self.held = self.held, []
            if not batch:
                return count
            for held in batch:
                self.deliver(held)
                count += 1
            if count > 500:
                raise RuntimeError("webhooks keep coming back refused")


# The calls that move money: these must never wait on (or hold) a database transaction.
MONEY_PATHS = ("/v1/refunds", "/v1/transfers")


@dataclass
class Hook:
    method: str
    path_prefix: str
    kind: str  # "during": run `action` while the call is in flight; "kill": die before it
    action: Callable[[], None] | None = None
    label: str = ""


@dataclass
class CallHooks:
    """Arms one-shot hooks on the next matching call to Stripe."""

    armed: list[Hook] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: list[tuple[str, str, str]] = field(default_factory=list)
    sqlite: bool = False
    # Asked before a transfer for a payout item is sent; what it returns runs after the call.
    on_transfer: Callable[[str], Callable[[], None]] | None = None

    @staticmethod
    def transaction_open() -> bool:
        from flask import has_app_context

        from app.extensions import db

        return has_app_context() and db.session().in_transaction()

    def arm(self, hook: Hook) -> None:
        with self.lock:
            self.armed.append(hook)

    def clear(self) -> list[Hook]:
        with self.lock:
            left, self.armed = self.armed, []
        return left

    def _take(self, method: str, path: str) -> Hook | None:
        with self.lock:
            for hook in self.armed:
                if method.upper() == hook.method and path.startswith(hook.path_prefix):
                    self.armed.remove(hook)
                    return hook
        return None

    @contextmanager
    def installed(self) -> Iterator[None]:
        original = EmulatorHTTPClient._send
        hooks = self

        def _send(client: Any, method: str, url: str, headers: Any, post_data: Any) -> Any:
            path = urlsplit(url).path
            if not path.startswith("/v1/") and "/v1/" in path:
                path = path[path.index("/v1/") :]
            key = dict(headers or {}).get("Idempotency-Key", "")
            with hooks.lock:
                hooks.calls.append((method.upper(), path, key))
            held = path.startswith(MONEY_PATHS) and hooks.transaction_open()
            if held:
                hooks.errors.append(TransactionAcrossCall(f"{method.upper()} {path}"))
            hook = hooks._take(method, path)
            if hook is not None and hook.kind == "kill":
                raise ProcessKilled(f"killed before {method.upper()} {path}")
            after: Callable[[], None] | None = None
            if (
                hooks.on_transfer is not None
                and method.upper() == "POST"
                and path == "/v1/transfers"
            ):
                item = parse_qs(str(post_data or "")).get("metadata[payout_item]")
                if item:
                    after = hooks.on_transfer(item[0])
            try:
                answer = original(client, method, url, headers, post_data)
                if after is not None:
                    try:
                        after()
                    except BaseException as error:  # reported by the simulation
                        hooks.errors.append(error)
                return answer
            finally:
                # On SQLite a transaction the caller holds is the database's write lock:
                # whatever happens meanwhile would wait for it, so it cannot happen.
                if hook is not None and hook.action is not None and not (held and hooks.sqlite):
                    try:
                        hook.action()
                    except BaseException as error:  # reported by the simulation as a finding
                        hooks.errors.append(error)

        with mock.patch.object(EmulatorHTTPClient, "_send", _send):
            yield


@contextmanager
def seeded_ids(seed: int) -> Iterator[None]:
    """Stripe's object ids and our public ids drawn from the seed, not the system."""
    rng = random.Random(f"ids-{seed}")
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

    def token_urlsafe(nbytes: int | None = None) -> str:
        return "".join(rng.choice(alphabet) for _ in range(((nbytes or 32) * 4 + 2) // 3))

    def token_hex(nbytes: int | None = None) -> str:
        return f"{rng.getrandbits((nbytes or 32) * 8):0{(nbytes or 32) * 2}x}"

    with (
        mock.patch.object(secrets, "choice", rng.choice),
        mock.patch.object(secrets, "token_urlsafe", token_urlsafe),
        mock.patch.object(secrets, "token_hex", token_hex),
    ):
        yield
