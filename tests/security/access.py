"""The access matrix's machinery: policies, expectations, sending requests, judging answers.

The table itself (which endpoint follows which policy) is in test_access_matrix.py.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import urlsplit

from werkzeug.routing import Rule

from tests.conftest import CSRF_RE, KindredClient
from tests.security.urlmap import UNSAFE, build, choices, converter_kinds, operations

# What an answer may be, by class:
#   ok       allowed: GET gives 2xx/3xx; a change gives anything but 401/403/404 (a form error
#            or a conflict is the app saying yes to the person, no to the input)
#   login    pages redirect to the log-in page; the API answers 401 problem+json
#   deny     403 or 404 (problem+json on the API); a page may instead redirect with an error
#   refused  deny, or 400/409/422: turned down one way or another
#   bad      400 (a request nobody can make valid: a forged webhook, a made-up reset token)
#   any      anything but a server error or a log-in prompt
#   mine     deny when the URL names the owner's objects, else ok (the person's own things)
CLASSES = ("ok", "login", "deny", "refused", "bad", "any", "mine")


@dataclass(frozen=True)
class Policy:
    """The expected class of answer for each role."""

    name: str
    anon: str
    other: str
    owner: str
    admin: str

    def but(self, **roles: str) -> Policy:
        changed = replace(self, **roles)
        return replace(
            changed, name=f"{self.name}({', '.join(f'{k}={v}' for k, v in roles.items())})"
        )

    def for_role(self, role: str) -> str:
        expected: str = getattr(self, role)
        assert expected in CLASSES, expected
        return expected


PUBLIC = Policy("PUBLIC", "ok", "ok", "ok", "ok")
SIGNED_IN = Policy("SIGNED_IN", "login", "ok", "ok", "ok")
OWNER = Policy("OWNER", "login", "mine", "ok", "mine")
OWNER_OR_MOD = Policy("OWNER_OR_MOD", "login", "mine", "ok", "ok")
ADMIN = Policy("ADMIN", "login", "deny", "deny", "ok")
# A guest has a cart too: no log-in needed, but a line must be in your own cart.
GUEST_OWNER = Policy("GUEST_OWNER", "deny", "deny", "ok", "deny")
# Visible to its owner alone (a draft product), or to its owner and the moderators.
OWN_ONLY = Policy("OWN_ONLY", "deny", "deny", "ok", "deny")
OWN_OR_MOD_ONLY = Policy("OWN_OR_MOD_ONLY", "deny", "deny", "ok", "ok")
NOBODY = Policy("NOBODY", "bad", "bad", "bad", "bad")


@dataclass(frozen=True)
class Fixed:
    """A literal URL value (a static file's name), not one of the owner's objects."""

    value: Any


Body = Callable[[Mapping[str, Any]], dict[str, Any]]
# How to fill a URL parameter: a key of the person's objects, a Fixed value, or a function of
# the rule and the values filled so far returning either.
Param = str | Fixed | Callable[[Rule, dict[str, Any]], "str | Fixed"]


@dataclass(frozen=True)
class Expect:
    """`endpoints` (names or globs, space-separated) answer `methods` ("GET", "POST PUT",
    "UNSAFE" or "*") as `policy` says. `ids` fills URL parameters differently from PARAMS."""

    endpoints: str
    methods: str
    policy: Policy
    ids: Mapping[str, Param] = field(default_factory=dict)

    def matches(self, endpoint: str, method: str) -> bool:
        if self.methods == "*":
            method_ok = True
        elif self.methods == "UNSAFE":
            method_ok = method in UNSAFE
        else:
            method_ok = method in self.methods.split()
        return method_ok and any(fnmatchcase(endpoint, p) for p in self.endpoints.split())


def expectation_for(table: Iterable[Expect], endpoint: str, method: str) -> Expect | None:
    """The most specific row: one naming the endpoint beats a glob, one naming the method
    beats "*"; among equals, the first."""
    rows = [row for row in table if row.matches(endpoint, method)]
    if not rows:
        return None

    def specificity(row: Expect) -> tuple[bool, bool]:
        return endpoint in row.endpoints.split(), method in row.methods.split()

    return max(rows, key=specificity)  # max keeps the first of equals


def missing(app: Any, table: Iterable[Expect]) -> list[tuple[str, str, str]]:
    table = list(table)
    return [
        (rule.endpoint, method, rule.rule)
        for rule, method in operations(app)
        if expectation_for(table, rule.endpoint, method) is None
    ]


# --- filling URLs --------------------------------------------------------------------------


@dataclass
class Filled:
    url: str
    values: dict[str, Any]
    owned: list[str]  # the URL parameters that name one of the owner's objects
    keys: dict[str, str]  # URL parameter -> objects key it came from


def fill(
    rule: Rule,
    objects: Mapping[str, Any],
    params: Mapping[str, Param],
    overrides: Mapping[str, Param],
    owned_keys: set[str],
    mine: Mapping[str, Any] | None = None,
) -> Filled | None:
    """The rule's URL with the owner's objects. With `mine` (another person's objects), her
    own object for the first of two or more the URL names, or None for a URL naming fewer."""
    fixed: dict[str, Any] = {}
    keys: dict[str, str] = {}
    kinds = converter_kinds(rule)
    for name in rule._converters:  # in the order they appear in the URL
        how: Param | None = overrides.get(name, params.get(name))
        if how is None:
            how = Fixed(choices(rule, name)[0]) if kinds[name] == "any" else name
        if callable(how):
            how = how(rule, {**fixed, **keys})
        if isinstance(how, Fixed):
            fixed[name] = how.value
        elif how in objects:
            keys[name] = how
        else:
            raise LookupError(
                f"{rule.endpoint} {rule.rule}: no value for <{name}>: add it to PARAMS "
                "(and, for a new kind of object, to the world in tests/security/world.py)"
            )
    owned = [name for name, key in keys.items() if key in owned_keys]
    values = {**fixed, **{name: objects[key] for name, key in keys.items()}}
    if mine is not None:
        if len(owned) < 2:
            return None
        first = keys[owned[0]]
        if first not in mine:
            raise LookupError(
                f"{rule.endpoint}: the other user has no {first!r} of her own for the "
                "mixed-id check: add one to world.others"
            )
        values[owned[0]] = mine[first]
    return Filled(build(rule, values), values, owned, keys)


# --- sending and judging ---------------------------------------------------------------------


def is_api(path: str) -> bool:
    return path.startswith("/api/")


class Sender:
    """Sends a request as one client, with the CSRF token a page of the site would carry."""

    def __init__(self, client: KindredClient):
        self.client = client
        self._token: tuple[str, str] | None = None

    def csrf_token(self) -> str:
        with self.client.session_transaction() as session:
            raw = session.get("csrf_token")
        if self._token is None or self._token[0] != raw or raw is None:
            page = self.client.get("/password/forgot")
            match = CSRF_RE.search(page.get_data(as_text=True))
            assert match, "no CSRF token on the page"
            with self.client.session_transaction() as session:
                self._token = (session.get("csrf_token"), match.group(1))
        return self._token[1]

    def send(self, method: str, url: str, body: dict[str, Any] | None) -> Any:
        body = dict(body or {})
        if method == "GET":
            return self.client.get(url, query_string=body)
        token = self.csrf_token()
        files = any(isinstance(v, bytes) for v in body.values())
        data = {
            k: (io.BytesIO(v), f"{k}.png") if isinstance(v, bytes) else v for k, v in body.items()
        }
        if is_api(url):
            headers = {"X-CSRFToken": token}
            if files:
                return self.client.open(url, method=method, data=data, headers=headers)
            return self.client.open(url, method=method, json=body, headers=headers)
        data["csrf_token"] = token
        return self.client.open(url, method=method, data=data)

    def take_error_flash(self) -> bool:
        """Whether the last answer left an error message for the next page (and clear it)."""
        with self.client.session_transaction() as session:
            flashes = session.pop("_flashes", [])
        return any(category == "error" for category, _message in flashes)


def judge(expected: str, method: str, url: str, response: Any, error_flash: bool) -> bool:
    status = response.status_code
    api = is_api(url)
    problem = response.mimetype == "application/problem+json"
    location = urlsplit(response.headers.get("Location", "")).path
    to_login = status in (301, 302, 303) and location == "/login"
    if expected == "login":
        return (status == 401 and problem) if api else to_login
    if status >= 500 or to_login:
        return False
    denied = status in (403, 404) and (problem or not api)
    if not api and 300 <= status < 400 and error_flash:
        denied = True
    if expected == "deny":
        return denied
    if expected == "refused":
        return denied or status in (400, 409, 422)
    if expected == "bad":
        return status == 400
    if expected == "any":
        return True
    # ok
    if method in UNSAFE:
        return status not in (401, 403, 404)
    return 200 <= status < 400
