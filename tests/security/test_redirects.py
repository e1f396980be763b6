"""`next=` and `back=` never send anyone off the site, however the path is spelled.

Browsers read a Location that starts with two slashes (or a slash and a backslash) as a
link to another host, so a path that only becomes `//evil.example` after joining or
normalising is as dangerous as one written that way.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest

from app.security import safe_next
from tests.conftest import login
from tests.factories import DEFAULT_PASSWORD, ProductFactory, UserFactory

HOSTILE = [
    "https://evil.example/phish",
    "//evil.example/",
    "/\\evil.example",
    "/.//evil.example",
    "/./\\evil.example",
    "/a/..//evil.example",
    "/%2e//evil.example",
    "///evil.example",
    "/..//evil.example",
    " //evil.example",
    "\t/.//evil.example",
    "javascript:alert(1)",
    "http:/evil.example",
    "/\x00//evil.example",
]


def _leaves_site(location: str) -> bool:
    location = location.replace("http://kindred.test", "", 1)
    return not location.startswith("/") or location.startswith(("//", "/\\"))


@pytest.mark.parametrize("target", HOSTILE)
def test_safe_next_never_leaves_the_site(app, target):
    with app.test_request_context("/"):
        result = safe_next(target, "/fallback")
    # Whatever comes back is a path on this host: a browser cannot read it as another host.
    assert result.startswith("/")
    assert not result.startswith("//")
    assert not result.startswith("/\\")
    assert "\\" not in result
    assert not any(ord(c) < 32 for c in result)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/account/tokens", "/account/tokens"),
        ("/search?q=mugs&page=2", "/search?q=mugs&page=2"),
        ("/a/./b", "/a/b"),
        ("/shop/x/../y", "/shop/y"),
    ],
)
def test_safe_next_keeps_paths_on_the_site(app, target, expected):
    with app.test_request_context("/"):
        assert safe_next(target, "/fallback") == expected


@pytest.mark.parametrize("target", ["/.//evil.example", "/a/..//evil.example"])
def test_login_pages_do_not_redirect_off_site(client, target):
    user = UserFactory()
    response = client.post_form(
        f"/login?next={quote(target)}", {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert not _leaves_site(response.headers["Location"])
    # Already signed in, the log-in page redirects at once: the same rule holds.
    response = client.get(f"/login?next={quote(target)}")
    assert response.status_code == 302
    assert not _leaves_site(response.headers["Location"])


def test_add_to_cart_does_not_redirect_off_site(client):
    variant = ProductFactory().variants[0]
    login(client, UserFactory())
    response = client.post_form(
        "/cart/add", {"variant_id": str(variant.id), "quantity": "1", "next": "/.//evil.example"}
    )
    assert response.status_code == 302
    assert not _leaves_site(response.headers["Location"])
