"""Helpers for social's tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.extensions import db
from tests.conftest import login


def as_user(client: Any, user: Any) -> Any:
    response = login(client, user)
    assert response.status_code == 302, response.status_code
    return client


def fresh(model: Any, **where: Any) -> list[Any]:
    db.session.commit()  # a fresh snapshot: read what the requests wrote
    statement = select(model)
    for name, value in where.items():
        statement = statement.where(getattr(model, name) == value)
    return list(db.session.scalars(statement))


def page_text(response: Any) -> str:
    return response.get_data(as_text=True)
