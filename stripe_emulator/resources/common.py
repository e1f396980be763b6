"""Helpers shared by the resource modules: lookup, rendering, lists and expansion."""

from __future__ import annotations

import copy
import itertools
from typing import Any

from ..context import Ctx
from ..errors import StripeError, invalid, no_such
from ..params import as_int
from ..store import Selection, Store


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
        refunds = store.query("refund", match={"charge": out["id"]})
        out["refunds"] = sublist([public(r) for r in refunds], f"/v1/charges/{out['id']}/refunds")
    elif kind == "transfer":
        reversals = store.query("transfer_reversal", match={"transfer": out["id"]})
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
    obj, account = ctx.store.get_owned(obj_id)
    if obj is None or obj.get("object") != type or account != ctx.account:
        raise no_such(name or type, obj_id, param=param)
    return obj


def out(ctx: Ctx, obj: dict[str, Any]) -> dict[str, Any]:
    return render(ctx.store, obj, ctx.now)


def _created_bounds(ctx: Ctx) -> dict[str, int] | None:
    """The list's ``created`` filter as bounds on the creation time; None when it can match
    nothing (``created=`` given empty)."""
    created = ctx.params.raw("created")
    if created is None:
        return {}
    if isinstance(created, str):
        exact = as_int(created, "created")
        return None if exact is None else {"eq": exact}
    if isinstance(created, dict):
        bounds: dict[str, int] = {}
        for op, raw in created.items():
            bound = as_int(raw, f"created[{op}]")
            assert bound is not None
            if op in ("gt", "gte", "lt", "lte"):
                bounds[op] = bound
        return bounds
    raise invalid("Invalid created filter", param="created")


LIST_PARAMS = frozenset({"limit", "starting_after", "ending_before", "created", "expand"})


def paginate(ctx: Ctx, selection: Selection, url: str) -> dict[str, Any]:
    """Stripe's cursor pagination over a newest-first list.

    A page reads from the cursor on, in the store's order, only as many objects as it shows
    (plus one, to know whether there are more): paging through a long list costs the same on
    its last page as on its first.
    """
    p = ctx.params
    limit = p.get_int("limit", default=10)
    assert limit is not None
    if not 1 <= limit <= 100:
        raise invalid("Invalid limit: must be between 1 and 100", param="limit")
    created = _created_bounds(ctx)
    starting_after = p.get_str("starting_after")
    ending_before = p.get_str("ending_before")
    if starting_after and ending_before:
        raise invalid(
            "You may only specify one of these parameters: starting_after, ending_before.",
            param="ending_before",
        )
    cursor = starting_after or ending_before
    if cursor and (created is None or not ctx.store.selects(selection, cursor, created=created)):
        param = "starting_after" if starting_after else "ending_before"
        raise no_such("object", cursor, param=param)
    if created is None:
        page, has_more = [], False
    else:
        found = list(
            itertools.islice(
                ctx.store.scan(
                    selection, after=starting_after, before=ending_before, created=created
                ),
                limit + 1,
            )
        )
        page, has_more = found[:limit], len(found) > limit
        if ending_before:
            page.reverse()  # read oldest first from the cursor; shown newest first
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
