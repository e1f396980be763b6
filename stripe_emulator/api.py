"""The ``/v1`` request pipeline: auth, Connect header, faults, idempotency, dispatch, expand."""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import Request, Response

from . import resources  # noqa: F401 - registers the routes
from .context import Ctx
from .errors import StripeError, api_error, idempotency_in_progress
from .faults import Fault
from .ids import request_id as new_request_id
from .params import Params, decode
from .resources.common import expand
from .router import Handler, resolve

if TYPE_CHECKING:
    from .emulator import Emulator

log = logging.getLogger(__name__)

# Set by the in-process transport: the fault it already took for this request (or None). Its
# presence stops the API from consuming another one.
FAULT_ENVIRON_KEY = "stripe_emulator.fault"
# Marks requests coming from the in-process transport.
IN_PROCESS_ENVIRON_KEY = "stripe_emulator.in_process"
# Asks the WSGI layer to drop the connection after the view returned.
ABORT_ENVIRON_KEY = "stripe_emulator.abort"
# Stripe keeps an idempotency key (and the result saved for it) for 24 hours.
IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600
# Wall-clock seconds after which a key still claimed was left by a process that died
# mid-request (a request here takes milliseconds).
IN_PROGRESS_LEASE_SECONDS = 60.0


@dataclass
class Result:
    status: int
    body: bytes
    headers: dict[str, str]


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, indent=2).encode() + b"\n"


def _error(exc: StripeError, req_id: str) -> Result:
    return Result(exc.status, _json(exc.body(req_id)), dict(exc.headers))


def _api_key(req: Request) -> str | None:
    auth = req.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return auth[len("Bearer ") :].strip()
    if auth.startswith("Basic "):
        # curl -u sk_test_xxx: sends the key as the Basic user name.
        try:
            decoded = base64.b64decode(auth[len("Basic ") :]).decode()
        except ValueError:
            return ""
        return decoded.split(":", 1)[0]
    return None


def _check_auth(req: Request) -> str:
    key = _api_key(req)
    if not key:
        raise StripeError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for details, "
            "or we can help at https://support.stripe.com/.",
            status=401,
        )
    if not key.startswith(("sk_test_", "rk_test_")):
        masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
        raise StripeError(f"Invalid API Key provided: {masked}", status=401, code="api_key_invalid")
    return key


def _acting_account(emu: Emulator, req: Request, key: str) -> str:
    header = (req.headers.get("Stripe-Account") or "").strip()
    if not header or header == emu.platform_id:
        return ""
    obj = emu.store.get(header)
    if obj is None or obj.get("object") != "account":
        raise StripeError(
            f"The provided key '{key[:8]}***{key[-4:]}' does not have access to account "
            f"'{header}' (or that account does not exist). Application access may have been "
            "revoked.",
            status=403,
            code="account_invalid",
        )
    return header


def _params(req: Request) -> dict[str, Any]:
    query = req.query_string.decode()
    data = decode(query) if query else {}
    if req.method == "POST":
        body = req.get_data(cache=True)
        ctype = req.headers.get("Content-Type", "")
        if body and "json" in ctype:
            raise StripeError(
                "Invalid request: the v1 API expects form-encoded parameters "
                "(application/x-www-form-urlencoded), not JSON."
            )
        if body:
            data.update(decode(body))
    return data


def handle(emu: Emulator, req: Request) -> Response:
    req_id = new_request_id()
    fault: Fault | None
    environ = req.environ
    if FAULT_ENVIRON_KEY in environ:
        fault = environ[FAULT_ENVIRON_KEY]
    else:
        fault = emu.faults.take(req.path)

    if fault is not None and (fault.when == "before" or fault.kind == "rate_limit"):
        result = _fault_before(emu, req, fault, req_id)
    else:
        result = _process(emu, req, req_id)
        if fault is not None:
            result = _fault_after(emu, req, fault, req_id, result)

    headers = {
        "Content-Type": "application/json",
        "Request-Id": req_id,
        "Stripe-Version": req.headers.get("Stripe-Version") or emu.api_version,
        "Cache-Control": "no-cache, no-store",
        **result.headers,
    }
    if req.headers.get("Idempotency-Key") and req.method == "POST":
        headers["Idempotency-Key"] = req.headers["Idempotency-Key"]
    return Response(result.body, status=result.status, headers=headers)


def _injected_error(req_id: str) -> Result:
    return _error(api_error("An unknown error occurred (injected by the emulator)."), req_id)


def _fault_before(emu: Emulator, req: Request, fault: Fault, req_id: str) -> Result:
    if fault.kind == "rate_limit":
        return _error(
            StripeError(
                "Request rate limit exceeded. (injected by the emulator)",
                status=429,
                code="rate_limit",
            ),
            req_id,
        )
    if fault.kind == "timeout":
        # Standalone: stall longer than the client waits; whatever we answer is never read.
        time.sleep(emu.fault_timeout)
        return _injected_error(req_id)
    if fault.kind == "disconnect":
        req.environ[ABORT_ENVIRON_KEY] = True
    return _injected_error(req_id)


def _fault_after(emu: Emulator, req: Request, fault: Fault, req_id: str, result: Result) -> Result:
    if fault.kind == "error":
        return _injected_error(req_id)
    if fault.kind == "timeout":
        time.sleep(emu.fault_timeout)
    elif fault.kind == "disconnect":
        req.environ[ABORT_ENVIRON_KEY] = True
    return result


def abort_connection(environ: dict[str, Any]) -> None:
    """Drop the client's connection (werkzeug's dev server exposes the socket)."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    # werkzeug's server treats ConnectionError from the app as a dropped connection.
    raise ConnectionAbortedError("connection dropped by the emulator (fault injection)")


def _process(emu: Emulator, req: Request, req_id: str) -> Result:
    try:
        key = _check_auth(req)
    except StripeError as exc:
        return _error(exc, req_id)
    idem_key = req.headers.get("Idempotency-Key") if req.method == "POST" else None
    if not idem_key:
        return _validate_and_execute(emu, req, req_id, key, None)
    # A request with this key still executing in this process: answer at once, without
    # waiting for the emulator's lock, which that request holds.
    in_flight = (key, (req.headers.get("Stripe-Account") or "").strip(), idem_key)
    if not emu.keys_in_flight.begin(in_flight):
        return _error(idempotency_in_progress(idem_key), req_id)
    try:
        return _validate_and_execute(emu, req, req_id, key, idem_key)
    finally:
        emu.keys_in_flight.end(in_flight)


def _validate_and_execute(
    emu: Emulator, req: Request, req_id: str, key: str, idem_key: str | None
) -> Result:
    try:
        with emu.lock:
            account = _acting_account(emu, req, key)
        found = resolve(req.method, req.path)
        if found is None:
            raise StripeError(
                f"Unrecognized request URL ({req.method}: {req.path}). Please see "
                "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                status=404,
            )
        handler, args = found
        params = _params(req)
    except StripeError as exc:
        return _error(exc, req_id)

    ctx = Ctx(
        emu=emu,
        now=0,
        account=account,
        params=Params(params),
        request_id=req_id,
        idempotency_key=idem_key,
        path=req.path,
    )
    claim = None
    if idem_key:
        claim = Claim(
            scope=f"{key}|{account}",
            key=idem_key,
            method=req.method,
            path=req.path,
            fingerprint=json.dumps(params, sort_keys=True),
        )
    with emu.lock:
        emu.settle()
        ctx.now = emu.clock.now()
        if claim is not None:
            earlier = _claim(emu, claim, req_id, ctx.now)
            if earlier is not None:
                return earlier
        return _execute(emu, ctx, handler, args, claim)


@dataclass(frozen=True)
class Claim:
    """A request's hold on its idempotency key, while it executes and once it has a result."""

    scope: str  # the API key and the acting account: keys are per account
    key: str
    method: str
    path: str
    fingerprint: str

    @property
    def ident(self) -> tuple[str, str]:
        return (self.scope, self.key)


class KeysInFlight:
    """The idempotency keys (with the API key and account) this process has a request for."""

    def __init__(self) -> None:
        self._keys: set[tuple[str, str, str]] = set()
        self._lock = threading.Lock()

    def begin(self, ident: tuple[str, str, str]) -> bool:
        with self._lock:
            if ident in self._keys:
                return False
            self._keys.add(ident)
            return True

    def end(self, ident: tuple[str, str, str]) -> None:
        with self._lock:
            self._keys.discard(ident)


def _claim(emu: Emulator, claim: Claim, req_id: str, now: int) -> Result | None:
    """Take the key for this request (None), or answer from what holds it already: the saved
    result, a 409 while another request with it executes, a 400 if the parameters differ.

    The claim is committed before the request executes, so that other processes sharing the
    state (server workers) see the key in use too.
    """
    conn = emu.store.conn
    with emu.store.transaction():
        # Stripe forgets keys after 24 hours: a key reused later starts a new request.
        conn.execute(
            "DELETE FROM idempotency WHERE created <= ? AND in_progress = 0",
            (now - IDEMPOTENCY_KEY_TTL_SECONDS,),
        )
        row = conn.execute(
            "SELECT * FROM idempotency WHERE scope = ? AND key = ?", claim.ident
        ).fetchone()
        if (
            row is not None
            and row["in_progress"]
            and time.time() - float(row["claimed_at"]) > IN_PROGRESS_LEASE_SECONDS
        ):
            # Claimed by a process that died before it finished (its work was rolled back).
            conn.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", claim.ident)
            row = None
        if row is None:
            conn.execute(
                "INSERT INTO idempotency (scope, key, method, path, fingerprint, status, body,"
                " request_id, created, in_progress, claimed_at)"
                " VALUES (?, ?, ?, ?, ?, 0, X'', ?, ?, 1, ?)",
                (
                    claim.scope,
                    claim.key,
                    claim.method,
                    claim.path,
                    claim.fingerprint,
                    req_id,
                    now,
                    time.time(),
                ),
            )
            return None
    if row["in_progress"]:
        return _error(idempotency_in_progress(claim.key), req_id)
    if (
        row["method"] != claim.method
        or row["path"] != claim.path
        or row["fingerprint"] != claim.fingerprint
    ):
        return _error(
            StripeError(
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{claim.key}' if you meant to "
                "execute a different request.",
                type="idempotency_error",
            ),
            req_id,
        )
    return Result(
        int(row["status"]),
        bytes(row["body"]),
        {"Idempotent-Replayed": "true", "Original-Request": row["request_id"]},
    )


def _execute(
    emu: Emulator, ctx: Ctx, handler: Handler, args: dict[str, str], claim: Claim | None
) -> Result:
    """Run the endpoint in one transaction, and settle its claim on the key in the same one:
    the result is saved if the request began executing, the key let go if it did not."""
    conn = emu.store.conn
    try:
        with emu.store.transaction():
            result, began = _run(ctx, handler, args)
            if claim is not None and began:
                conn.execute(
                    "UPDATE idempotency SET status = ?, body = ?, in_progress = 0"
                    " WHERE scope = ? AND key = ?",
                    (result.status, result.body, *claim.ident),
                )
            elif claim is not None:
                conn.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", claim.ident)
        return result
    except Exception:
        log.exception("stripe emulator: could not record %s %s", ctx.path, ctx.request_id)
        if claim is not None:
            with contextlib.suppress(Exception), emu.store.transaction():
                conn.execute("DELETE FROM idempotency WHERE scope = ? AND key = ?", claim.ident)
        return _error(api_error(), ctx.request_id or "")


def _run(ctx: Ctx, handler: Handler, args: dict[str, str]) -> tuple[Result, bool]:
    """The endpoint's result, and whether it began executing (Stripe saves only those).

    What an error undid is undone here too, unless the error keeps it (a declined card leaves
    its failed charge behind); an unexpected failure is Stripe's 500, saved like any result.
    """
    req_id = ctx.request_id or ""
    try:
        with ctx.store.savepoint():
            try:
                data = handler(ctx, **args)
                data = expand(ctx, data, ctx.params.expand())
            except StripeError as exc:
                if not exc.persist:
                    raise
                return _error(exc, req_id), True
            return Result(200, _json(data), {}), True
    except StripeError as exc:
        return _error(exc, req_id), exc.began_execution
    except Exception:
        log.exception("stripe emulator: unhandled error in %s", ctx.path)
        return _error(api_error(), req_id), True
