"""Helpers shared by the resource modules: lookup, rendering, lists and expansion."""

from __future__ import annotations

import copy
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid, no_such
from ..params import as_int
from ..store import Store


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop emulator-private fields (stored with a leading underscore)."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


def render(store: Store, obj: dict[str, Any], now: int) -> dict[str, Any]:
    """The object as the API shows it now: private fields removed, derived fields filled."""
    out = public(obj)
    kind = out.get("object")
    if kind == "balance_transaction":
        out["status"] = "available" if out["available_on"] <= now else "pending"
    elif kind == "charge":
        refunds = store.query("refund", where=lambda r: r["charge"] == out["id"])
        out["refunds"] = sublist([public(r) for r in refunds], f"/v1/charges/{out['id']}/refunds")
    elif kind == "transfer":
        reversals = store.query("transfer_reversal", where=lambda r: r["transfer"] == out["id"])
        out["reversals"] = sublist(
            [public(r) for r in reversals], f"/v1/transfers/{out['id']}/reversals"
        )
    return out


def sublist(items: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """An embedded list as Stripe nests them (first page of 10)."""
    return {
        "object": "list",
        "data": items[:10],
        "has_more": len(items) > 10,
        "total_count": len(items),
        "url": url,
    }


def get(
    ctx: Ctx, obj_id: str, type: str, name: str | None = None, param: str = "id"
) -> dict[str, Any]:
    """Fetch an object of ``type`` visible to the acting account, or raise Stripe's 404."""
    obj = ctx.store.get(obj_id)
    if obj is None or obj.get("object") != type or ctx.store.account_of(obj_id) != ctx.account:
        raise no_such(name or type, obj_id, param=param)
    return obj


def out(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    return render(ctx.store, obj, ctx.now)


def _created_ok(ctx: Ctx, obj: dict[str, Any]) -> bool:
    created = ctx.params.raw("created")
    if created is None:
        return True
    value = obj.get("created") or 0
    if isinstance(created, str):
        return value == as_int(created, "created")
    if isinstance(created, dict):
        for op, raw in created.items():
            bound = as_int(raw, f"created[{op}]")
            assert bound is not None
            if (
                (op == "gt" and not value > bound)
                or (op == "gte" and not value >= bound)
                or (op == "lt" and not value < bound)
                or (op == "lte" and not value <= bound)
            ):
                return False
        return True
    raise invalid("Invalid created filter", param="created")


LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


def paginate(ctx: Ctx, objs: list[dict[str, Any]], url: str) -> dict[str, Any]:
    """Stripe's cursor pagination over a newest-first list."""
    p = ctx.params
    limit = p.get_int("limit", default=10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    objs = [o for o in objs if _created_ok(ctx, o)]
    ids = [o["id"] for o in objs]
    starting_after = p.get_str("starting_after")
    ending_before = p.get_str("ending_before")
    if starting_after and ending_before:
        raise invalid(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    if starting_after:
        if starting_after not in ids:
            raise no_such("object", starting_after, param="starting_after")
        start = ids.index(starting_after) + 1
        page = objs[start : start + limit]
        has_more = start + limit < len(objs)
    elif ending_before:
        if ending_before not in ids:
            raise no_such("object", ending_before, param="ending_before")
        end = ids.index(ending_before)
        start = max(0, end - limit)
        page = objs[start:end]
        has_more = start > 0
    else:
        page = objs[:limit]
        has_more = len(objs) > limit
    return {
        "object": "list",
        "data": [out(ctx, o) for o in page],
        "has_more": has_more,
        "url": url,
    }


def expand(ctx: Ctx, data: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    for path in paths:
        _expand(ctx, data, path.split("."), path)
    return data


def _expand(ctx: Ctx, node: Any, parts: list[str], full: str) -> None:
    if not parts or node is None:
        return
    if isinstance(node, list):
        for item in node:
            _expand(ctx, item, parts, full)
        return
    head, rest = parts[0], parts[1:]
    if not isinstance(node, dict) or head not in node:
        raise StripeError(f"This property cannot be expanded ({head}).", param="expand")
    value = node[head]
    if isinstance(value, str):
        target = ctx.store.get(value)
        if target is None:
            raise StripeError(f"This property cannot be expanded ({head}).", param="expand")
        value = out(ctx, target)
        node[head] = value
    elif value is not None and not isinstance(value, dict | list):
        raise StripeError(f"This property cannot be expanded ({head}).", param="expand")
    _expand(ctx, value, rest, full)


def require_platform(ctx: Ctx, what: str) -> None:
    if ctx.account:
        raise StripeError(
            f"{what} can only be performed by the platform, without a Stripe-Account header.",
            status=403,
        )
