"""What every feature's views share: who is looking, and the files a form brings."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from werkzeug.datastructures import FileStorage

from app import media
from app.accounts.models import User
from app.accounts.services import current_person


def viewer() -> User | None:
    """Who is looking: the signed-in person, or None for a visitor who is not signed in."""
    return current_person() if current_user.is_authenticated else None


def upload(field: Any, name: str) -> bytes | None:
    """The picture a file field brings, checked and read within the upload limits; None when
    the field is empty."""
    data = field.data
    if isinstance(data, FileStorage) and data.filename:
        return media.read_upload(data.stream, field_name=name)
    return None


def uploads(field: Any, name: str) -> list[bytes]:
    """Every picture a multiple-file field brings, each checked and read within the limits."""
    files = [f for f in (field.data or []) if isinstance(f, FileStorage) and f.filename]
    return [media.read_upload(f.stream, field_name=name) for f in files]
