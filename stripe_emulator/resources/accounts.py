"""Connected accounts, capabilities, account links and login links."""

from __future__ import annotations

from typing import Any

from .. import shapes
from ..context import Ctx
from ..errors import StripeError, invalid, no_such
from ..ids import new_id, random_suffix
from ..params import apply_metadata
from ..router import route
from ..store import Selection
from .common import LIST_PARAMS, out, paginate, public, require_platform
from .events import emit

CAPABILITIES = frozenset({"card_payments", "transfers"})

# What a fresh Express account still has to provide; the hosted onboarding page clears it.
ONBOARDING_REQUIREMENTS = [
    "business_profile.mcc",
    "business_profile.url",
    "business_type",
    "external_account",
    "individual.dob.day",
    "individual.dob.month",
    "individual.dob.year",
    "individual.email",
    "individual.first_name",
    "individual.last_name",
    "tos_acceptance.date",
    "tos_acceptance.ip",
]

CURRENCY_BY_COUNTRY = {
    "US": "usd",
    "GB": "gbp",
    "CA": "cad",
    "AU": "aud",
    "JP": "jpy",
    "CH": "chf",
    "SE": "sek",
    "NO": "nok",
    "DK": "dkk",
}
EURO_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "CY",
        "DE",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PT",
        "SI",
        "SK",
    ]
)

_ACCOUNT_PARAMS = frozenset(
    {
        "type",
        "country",
        "email",
        "capabilities",
        "controller",
        "metadata",
        "business_type",
        "business_profile",
        "default_currency",
        "settings",
        "tos_acceptance",
        "individual",
        "company",
        "external_account",
    }
)


def default_currency(country: str) -> str:
    if country in EURO_COUNTRIES:
        return "eur"
    return CURRENCY_BY_COUNTRY.get(country, "usd")


def _controller(ctx: Ctx) -> tuple[dict[str, Any], str]:
    """Derive the ``controller`` hash and the legacy ``type`` from either style of request."""
    p = ctx.params
    legacy = p.get_str("type")
    ctrl = p.get_dict("controller")
    if legacy and ctrl:
        raise invalid(
            "You cannot specify both `type` and `controller` when creating an account.",
            param="controller",
        )
    if legacy:
        if legacy not in ("express", "custom", "standard"):
            raise invalid(f"Invalid type: {legacy}", param="type")
        dashboard = {"express": "express", "custom": "none", "standard": "full"}[legacy]
        fees = "application" if legacy != "standard" else "account"
        return (
            {
                "fees": {"payer": "application" if legacy != "standard" else "account"},
                "is_controller": True,
                "losses": {"payments": fees},
                "requirement_collection": "stripe" if legacy != "custom" else "application",
                "stripe_dashboard": {"type": dashboard},
                "type": "application",
            },
            legacy,
        )
    dashboard = (ctrl.get("stripe_dashboard") or {}).get("type", "full")
    if dashboard not in ("express", "none", "full"):
        raise invalid(
            f"Invalid controller[stripe_dashboard][type]: {dashboard}",
            param="controller[stripe_dashboard][type]",
        )
    account_type = {"express": "express", "none": "custom", "full": "standard"}[dashboard]
    controller = {
        "fees": {"payer": (ctrl.get("fees") or {}).get("payer", "application")},
        "is_controller": True,
        "losses": {"payments": (ctrl.get("losses") or {}).get("payments", "application")},
        "requirement_collection": ctrl.get("requirement_collection", "stripe"),
        "stripe_dashboard": {"type": dashboard},
        "type": "application",
    }
    return controller, account_type if ctrl else "standard"


def _requested_capabilities(ctx: Ctx) -> dict[str, bool]:
    requested: dict[str, bool] = {}
    for name, spec in ctx.params.get_dict("capabilities").items():
        if name not in CAPABILITIES:
            raise invalid(f"Unsupported capability: {name}", param=f"capabilities[{name}]")
        if not isinstance(spec, dict) or "requested" not in spec:
            raise invalid(
                f"Missing capabilities[{name}][requested]",
                param=f"capabilities[{name}][requested]",
            )
        requested[name] = spec["requested"] == "true"
    return requested


def _apply_business_profile(account: dict[str, Any], profile: dict[str, Any]) -> None:
    for key in (
        "mcc",
        "name",
        "product_description",
        "support_email",
        "support_phone",
        "support_url",
        "url",
    ):
        if key in profile:
            account["business_profile"][key] = profile[key] or None


@route("POST", "/v1/accounts")
def create_account(ctx: Ctx) -> dict[str, Any]:
    require_platform(ctx, "Creating connected accounts")
    p = ctx.params
    p.check_known(_ACCOUNT_PARAMS)
    controller, account_type = _controller(ctx)
    country = (p.get_str("country") or "US").upper()
    requested = _requested_capabilities(ctx)
    if account_type in ("express", "custom") and not any(requested.values()):
        raise invalid(
            "Accounts without a full Stripe dashboard must request at least one capability, "
            "e.g. capabilities[transfers][requested]=true.",
            param="capabilities",
        )
    onboarded = account_type == "standard"
    account = shapes.account(
        id=new_id("acct", 16),
        business_type=p.get_str("business_type"),
        controller=controller,
        country=country,
        created=ctx.now,
        default_currency=p.currency("default_currency", required=False)
        or default_currency(country),
        email=p.get_str("email"),
        metadata=apply_metadata({}, p.metadata()),
        type=account_type,
    )
    _apply_business_profile(account, p.get_dict("business_profile"))
    account["external_accounts"] = shapes.empty_list(
        f"/v1/accounts/{account['id']}/external_accounts"
    )
    account["_capabilities_requested"] = {k: v for k, v in requested.items() if v}
    account["_requested_at"] = ctx.now
    account["_onboarded"] = onboarded
    _refresh_status(account)
    ctx.store.insert(account, type="account", account="")
    return out(ctx, account)


def _refresh_status(account: dict[str, Any]) -> None:
    """Recompute the flags and requirements that follow from onboarding state."""
    onboarded = bool(account.get("_onboarded"))
    account["capabilities"] = {
        name: "active" if onboarded else "inactive"
        for name in sorted(account.get("_capabilities_requested", {}))
    }
    account["details_submitted"] = onboarded
    # Simplification: onboarding enables charges even for a transfers-only account, so apps
    # that gate on ``charges_enabled`` behave the same whichever capabilities they request.
    account["charges_enabled"] = onboarded
    account["payouts_enabled"] = onboarded
    if onboarded:
        account["requirements"] = shapes.requirements([], None)
    else:
        # Stripe gives new accounts an immediate deadline: everything due is also past due,
        # which is why the account is disabled until onboarding is done.
        account["requirements"] = shapes.requirements(
            ONBOARDING_REQUIREMENTS, "requirements.past_due"
        )
    account["future_requirements"] = shapes.requirements([], None)


def _get_account(ctx: Ctx, acct_id: str) -> dict[str, Any]:
    if ctx.account and acct_id != ctx.account:
        raise no_such("account", acct_id, param="account")
    obj = ctx.store.get(acct_id)
    if obj is None or obj.get("object") != "account":
        raise StripeError(
            f"No such account: '{acct_id}'", status=404, code="resource_missing", param="account"
        )
    return obj


def get_account(ctx: Ctx, acct_id: str) -> dict[str, Any]:
    return _get_account(ctx.for_account(""), acct_id)


def save_account(
    ctx: Ctx, account: dict[str, Any], before: dict[str, Any], *, request: bool = True
) -> dict[str, Any]:
    """Persist and emit ``account.updated`` with the changed top-level attributes."""
    _refresh_status(account)
    ctx.store.save(account)
    old, new = public(before), public(account)
    previous = {k: old.get(k) for k in new if old.get(k) != new[k]}
    if previous:
        emit(
            ctx,
            "account.updated",
            account,
            account=account["id"],
            previous_attributes=previous,
            request=request,
        )
    return account


def complete_onboarding(ctx: Ctx, account: dict[str, Any], details: dict[str, str]) -> None:
    """What finishing the hosted Express onboarding does to the account."""
    before = public(account)
    account["_onboarded"] = True
    account["business_type"] = account.get("business_type") or "individual"
    profile = account["business_profile"]
    profile["name"] = details.get("business_name") or profile.get("name")
    profile["url"] = details.get("url") or profile.get("url")
    profile["mcc"] = profile.get("mcc") or "5734"
    profile["product_description"] = details.get("product_description") or profile.get(
        "product_description"
    )
    profile["support_phone"] = details.get("phone") or profile.get("support_phone")
    if details.get("email"):
        account["email"] = details["email"]
    account["tos_acceptance"] = {"date": ctx.now, "ip": details.get("ip"), "user_agent": None}
    account["settings"]["dashboard"]["display_name"] = profile["name"]
    if not account["external_accounts"]["data"]:
        routing = details.get("routing_number") or "110000000"
        number = details.get("account_number") or "000123456789"
        bank = shapes.bank_account(
            id=new_id("ba"),
            account=account["id"],
            account_holder_name=details.get("name") or profile["name"],
            account_holder_type="individual",
            country=account["country"],
            currency=account["default_currency"],
            fingerprint=random_suffix(16),
            last4=number[-4:],
            routing_number=routing,
        )
        account["external_accounts"]["data"] = [bank]
        account["external_accounts"]["total_count"] = 1
    save_account(ctx, account, before, request=False)


@route("GET", "/v1/accounts/{id}")
def retrieve_account(ctx: Ctx, id: str) -> dict[str, Any]:
    return out(ctx, _get_account(ctx, id))


@route("GET", "/v1/account")
def retrieve_own_account(ctx: Ctx) -> dict[str, Any]:
    if ctx.account:
        return out(ctx, _get_account(ctx, ctx.account))
    return ctx.emu.platform_account()


@route("POST", "/v1/accounts/{id}")
def update_account(ctx: Ctx, id: str) -> dict[str, Any]:
    account = _get_account(ctx, id)
    p = ctx.params
    p.check_known(_ACCOUNT_PARAMS - {"type", "country", "controller"})
    before = public(account)
    if "email" in p:
        account["email"] = p.get_str("email")
    if "business_type" in p:
        account["business_type"] = p.get_str("business_type")
    _apply_business_profile(account, p.get_dict("business_profile"))
    for name, wanted in _requested_capabilities(ctx).items():
        if wanted:
            account["_capabilities_requested"][name] = True
        else:
            account["_capabilities_requested"].pop(name, None)
    account["metadata"] = apply_metadata(account["metadata"], p.metadata())
    save_account(ctx, account, before)
    return out(ctx, account)


@route("GET", "/v1/accounts")
def list_accounts(ctx: Ctx) -> dict[str, Any]:
    require_platform(ctx, "Listing connected accounts")
    ctx.params.check_known(LIST_PARAMS)
    return paginate(ctx, Selection("account", ""), "/v1/accounts")


@route("DELETE", "/v1/accounts/{id}")
def delete_account(ctx: Ctx, id: str) -> dict[str, Any]:
    require_platform(ctx, "Deleting connected accounts")
    _get_account(ctx, id)
    ctx.store.delete(id)
    return {"id": id, "object": "account", "deleted": True}


def _capability(ctx: Ctx, account: dict[str, Any], name: str) -> dict[str, Any]:
    status = account["capabilities"].get(name, "unrequested")
    requirements = (
        account["requirements"] if status == "inactive" else shapes.requirements([], None)
    )
    return shapes.capability(
        id=name,
        account=account["id"],
        requested=name in account["capabilities"],
        requested_at=account.get("_requested_at") if name in account["capabilities"] else None,
        requirements=requirements,
        status=status,
    )


@route("GET", "/v1/accounts/{id}/capabilities")
def list_capabilities(ctx: Ctx, id: str) -> dict[str, Any]:
    account = _get_account(ctx, id)
    return {
        "object": "list",
        "data": [_capability(ctx, account, n) for n in sorted(CAPABILITIES)],
        "has_more": False,
        "url": f"/v1/accounts/{id}/capabilities",
    }


@route("GET", "/v1/accounts/{id}/capabilities/{name}")
def retrieve_capability(ctx: Ctx, id: str, name: str) -> dict[str, Any]:
    account = _get_account(ctx, id)
    if name not in CAPABILITIES:
        raise no_such("capability", name)
    return _capability(ctx, account, name)


@route("POST", "/v1/accounts/{id}/capabilities/{name}")
def update_capability(ctx: Ctx, id: str, name: str) -> dict[str, Any]:
    account = _get_account(ctx, id)
    if name not in CAPABILITIES:
        raise no_such("capability", name)
    ctx.params.check_known({"requested"})
    before = public(account)
    if ctx.params.get_bool("requested"):
        account["_capabilities_requested"][name] = True
    else:
        account["_capabilities_requested"].pop(name, None)
    save_account(ctx, account, before)
    return _capability(ctx, account, name)


@route("POST", "/v1/account_links")
def create_account_link(ctx: Ctx) -> dict[str, Any]:
    require_platform(ctx, "Creating account links")
    p = ctx.params
    p.check_known({"account", "refresh_url", "return_url", "type", "collect", "collection_options"})
    account = _get_account(ctx, p.req_str("account"))
    link_type = p.req_str("type")
    if link_type not in ("account_onboarding", "account_update"):
        raise invalid(f"Invalid type: {link_type}", param="type")
    if link_type == "account_update" and not account.get("_onboarded"):
        raise invalid(
            "You cannot create `account_update` type Account Links for an account that has "
            "not completed onboarding.",
            param="type",
        )
    refresh_url, return_url = p.req_str("refresh_url"), p.req_str("return_url")
    token = random_suffix(12)
    link = {
        "id": new_id("acctlink"),
        "object": "emulator.account_link",
        "created": ctx.now,
        "account": account["id"],
        "type": link_type,
        "token": token,
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": ctx.now + 300,
        "used": False,
    }
    ctx.store.insert(link, type="emulator.account_link", account="")
    return shapes.account_link(
        created=ctx.now,
        expires_at=link["expires_at"],
        url=f"{ctx.emu.base_url()}/setup/e/{account['id']}/{token}",
    )


def find_account_link(ctx: Ctx, acct_id: str, token: str) -> dict[str, Any] | None:
    links = ctx.store.query(
        "emulator.account_link", match={"account": acct_id}, where=lambda lk: lk["token"] == token
    )
    return links[0] if links else None


@route("POST", "/v1/accounts/{id}/login_links")
def create_login_link(ctx: Ctx, id: str) -> dict[str, Any]:
    require_platform(ctx, "Creating login links")
    account = _get_account(ctx, id)
    if account["controller"].get("stripe_dashboard", {}).get("type") != "express":
        raise invalid(
            "Login links can only be created for accounts with access to the Express Dashboard.",
            param="account",
        )
    if not account.get("_onboarded"):
        raise invalid(
            "Cannot create a login link for an account that has not completed onboarding.",
            param="account",
        )
    token = random_suffix(12)
    return shapes.login_link(
        created=ctx.now, url=f"{ctx.emu.base_url()}/express/{account['id']}/{token}"
    )
