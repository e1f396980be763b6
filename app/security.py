"""Response headers that keep pages safe, and the rule for `next=` redirects."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self' {form_action}",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)


def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it stays on this site, else `fallback` (no open redirects)."""
    if not target:
        return fallback
    target = target.strip()
    # Browsers treat a backslash like a slash: "/\\evil.com" would leave the site.
    if "\\" in target or target.startswith("//") or any(ord(c) < 32 for c in target):
        return fallback
    host_url = request.host_url
    joined = urlsplit(urljoin(host_url, target))
    here = urlsplit(host_url)
    if joined.scheme not in ("http", "https") or joined.netloc != here.netloc:
        return fallback
    path = joined.path or "/"
    # Joining resolves dot segments, so "/.//evil.example" only becomes "//evil.example" here:
    # a Location starting with two slashes is another host to a browser.
    if path.startswith("//"):
        return fallback
    return path + (f"?{joined.query}" if joined.query else "")


def csrf_exempt(view):
    """For endpoints that authenticate requests another way (e.g. Stripe's signed webhooks)."""
    view._kindred_csrf_exempt = True
    return view


def init_app(app: Flask) -> None:
    # Forms may post to Stripe's hosted pages when keys are set (the checkout redirect).
    policy = CONTENT_SECURITY_POLICY.format(form_action=app.config.get("CSP_FORM_ACTION", ""))
    # Built once: every response gets the same ones, unless a view set its own.
    static = [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("X-Frame-Options", "DENY"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]
    hsts = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")

    @app.after_request
    def _headers(response: Response) -> Response:
        headers = response.headers
        present = {name.lower() for name, _value in headers.items()}
        headers.extend([(n, v) for n, v in static if n.lower() not in present])
        if request.is_secure and hsts[0].lower() not in present:
            headers.add(*hsts)
        return response
