"""A tiny route table for the ``/v1`` API: handlers register with a method and path pattern."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Handler = Callable[..., dict[str, Any]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


ROUTES: list[Route] = []


def route(method: str, path: str) -> Callable[[Handler], Handler]:
    """Register ``handler(ctx, **path_args)``; ``{name}`` in the path captures one segment."""
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"

    def decorator(fn: Handler) -> Handler:
        ROUTES.append(Route(method.upper(), re.compile(regex), fn))
        return fn

    return decorator


def resolve(method: str, path: str) -> tuple[Handler, dict[str, str]] | None:
    for r in ROUTES:
        if r.method != method:
            continue
        m = r.pattern.match(path)
        if m:
            return r.handler, m.groupdict()
    return None
