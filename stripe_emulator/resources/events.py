"""Events and webhook endpoints."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from .. import shapes
from ..context import Ctx
from ..errors import invalid, missing_param
from ..ids import new_id, random_suffix
from ..params import apply_metadata
from ..router import route
from ..store import Selection
from .common import LIST_PARAMS, get, out, paginate, render, require_platform

# The events the emulator can emit; webhook endpoints may subscribe to these (or "*").
KNOWN_EVENTS = frozenset(
    {
        "account.updated",
        "balance.available",
        "charge.dispute.closed",
        "charge.dispute.created",
        "charge.dispute.funds_reinstated",
        "charge.dispute.funds_withdrawn",
        "charge.failed",
        "charge.refunded",
        "charge.succeeded",
        "charge.updated",
        "checkout.session.completed",
        "checkout.session.expired",
        "payment_intent.canceled",
        "payment_intent.created",
        "payment_intent.payment_failed",
        "payment_intent.succeeded",
        "payout.canceled",
        "payout.created",
        "payout.failed",
        "payout.paid",
        "refund.created",
        "transfer.created",
        "transfer.reversed",
        "transfer.updated",
    }
)


def emit(
    ctx: Ctx,
    type: str,
    obj: dict[str, Any],
    *,
    account: str | None = None,
    previous_attributes: dict[str, Any] | None = None,
    request: bool = True,
) -> dict[str, Any]:
    """Record an event with a snapshot of ``obj`` and queue its webhook deliveries.

    ``account`` is the connected account the event is about (Connect events carry it); it
    defaults to the account the request acts on.
    """
    account = ctx.account if account is None else account
    data: dict[str, Any] = {"object": render(ctx.store, obj, ctx.now)}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    event = shapes.event(
        id=new_id("evt"),
        api_version=ctx.emu.api_version,
        created=ctx.now,
        data=data,
        request=ctx.event_request() if request else {"id": None, "idempotency_key": None},
        type=type,
    )
    if account:
        event["account"] = account
    endpoints = [
        e
        for e in ctx.store.query("webhook_endpoint", account="")
        if e["status"] == "enabled" and _subscribed(e, type, bool(account))
    ]
    event["pending_webhooks"] = len(endpoints)
    ctx.store.insert(event, type="event", account=account)
    payload = json.dumps(event, indent=2)
    for endpoint in endpoints:
        ctx.store.conn.execute(
            "INSERT INTO deliveries (id, event_id, event_type, endpoint_id, url, status,"
            " attempts, next_attempt_at, created, payload)"
            " VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
            (
                new_id("whdel"),
                event["id"],
                type,
                endpoint["id"],
                endpoint["url"],
                ctx.now,
                ctx.now,
                payload,
            ),
        )
    return event


def _subscribed(endpoint: dict[str, Any], type: str, connect_event: bool) -> bool:
    # ``connect`` unset: the endpoint gets everything (convenient for a single test endpoint);
    # set explicitly, it behaves like Stripe: Connect endpoints only get connected-account
    # events, account endpoints only the platform's own.
    connect = endpoint.get("_connect")
    if connect is not None and bool(connect) != connect_event:
        return False
    return any(fnmatch.fnmatchcase(type, pattern) for pattern in endpoint["enabled_events"])


@route("GET", "/v1/events/{id}")
def retrieve_event(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "event"))


@route("GET", "/v1/events")
def list_events(ctx: Ctx) -> dict[str, Any]:
    ctx.params.check_known(LIST_PARAMS | {"type", "types", "delivery_success"})
    type_filter = ctx.params.get_str("type")
    types = [str(t) for t in ctx.params.get_list("types")]

    def match(e: dict[str, Any]) -> bool:
        # Stripe allows a trailing wildcard such as ``charge.*``.
        if type_filter and not fnmatch.fnmatchcase(e["type"], type_filter):
            return False
        return not types or e["type"] in types

    return paginate(ctx, Selection("event", ctx.account, where=match), "/v1/events")


# -- webhook endpoints -------------------------------------------------------------------------

_ENDPOINT_PARAMS = frozenset(
    {"url", "enabled_events", "description", "metadata", "api_version", "connect", "disabled"}
)


def _enabled_events(ctx: Ctx) -> list[str]:
    events = [str(e) for e in ctx.params.get_list("enabled_events")]
    for e in events:
        if e != "*" and e not in KNOWN_EVENTS and not e.endswith(".*"):
            raise invalid(f"Invalid event type: {e}", param="enabled_events")
    return events


@route("POST", "/v1/webhook_endpoints")
def create_webhook_endpoint(ctx: Ctx) -> dict[str, Any]:
    require_platform(ctx, "Creating webhook endpoints")
    p = ctx.params
    p.check_known(_ENDPOINT_PARAMS)
    url = p.req_str("url")
    if not url.startswith(("http://", "https://")):
        raise invalid("Invalid URL: must start with http:// or https://", param="url")
    events = _enabled_events(ctx)
    if not events:
        raise missing_param("enabled_events")
    secret = "whsec_" + random_suffix(32)
    endpoint = shapes.webhook_endpoint(
        id=new_id("we"),
        api_version=p.get_str("api_version"),
        created=ctx.now,
        description=p.get_str("description"),
        enabled_events=events,
        metadata=apply_metadata({}, p.metadata()),
        url=url,
        _secret=secret,
        _connect=p.get_bool("connect"),
    )
    ctx.store.insert(endpoint, type="webhook_endpoint", account="")
    data = out(ctx, endpoint)
    # Like Stripe, the signing secret is only revealed in the creation response.
    data["secret"] = secret
    return data


@route("GET", "/v1/webhook_endpoints/{id}")
def retrieve_webhook_endpoint(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, get(ctx, id, "webhook_endpoint"))


@route("POST", "/v1/webhook_endpoints/{id}")
def update_webhook_endpoint(ctx: Ctx, id: str) -> dict[str, Any]:
    endpoint = get(ctx, id, "webhook_endpoint")
    p = ctx.params
    p.check_known(_ENDPOINT_PARAMS - {"connect", "api_version"})
    if "url" in p:
        endpoint["url"] = p.req_str("url")
    if "enabled_events" in p:
        endpoint["enabled_events"] = _enabled_events(ctx)
    if "description" in p:
        endpoint["description"] = p.get_str("description")
    if "disabled" in p:
        endpoint["status"] = "disabled" if p.get_bool("disabled") else "enabled"
    endpoint["metadata"] = apply_metadata(endpoint["metadata"], p.metadata())
    ctx.store.save(endpoint)
    return out(ctx, endpoint)


@route("GET", "/v1/webhook_endpoints")
def list_webhook_endpoints(ctx: Ctx) -> dict[str, Any]:
    ctx.params.check_known(LIST_PARAMS)
    return paginate(ctx, Selection("webhook_endpoint", ctx.account), "/v1/webhook_endpoints")


@route("DELETE", "/v1/webhook_endpoints/{id}")
def delete_webhook_endpoint(ctx: Ctx, id: str) -> dict[str, Any]:
    get(ctx, id, "webhook_endpoint")
    ctx.store.delete(id)
    # Deliveries still queued for a deleted endpoint are dropped, as Stripe stops sending.
    ctx.store.conn.execute(
        "UPDATE deliveries SET status = 'canceled', next_attempt_at = NULL"
        " WHERE endpoint_id = ? AND status = 'pending'",
        (id,),
    )
    return {"id": id, "object": "webhook_endpoint", "deleted": True}
