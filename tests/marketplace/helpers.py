"""Helpers for the catalogue's tests: images, tokens, query counting."""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from PIL import Image
from sqlalchemy import event

from app.extensions import db
from tests.conftest import login


def image_bytes(size=(320, 240), colour=(40, 120, 90), fmt="PNG", **save: Any) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, **save)
    return out.getvalue()


def make_token(client, user) -> str:
    login(client, user)
    response = client.api("POST", "/api/v1/tokens", json={"name": "tests"})
    assert response.status_code == 201, response.get_json()
    client.post_form("/logout")
    return response.get_json()["token"]


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@contextmanager
def count_queries() -> Iterator[list[str]]:
    """Every SQL statement sent to the database inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
