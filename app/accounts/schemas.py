from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.accounts.models import BIO_MAX, DEFAULT_SCOPES, DISPLAY_NAME_MAX, TOKEN_SCOPES


class UserPublicSchema(Schema):
    handle = fields.String(dump_only=True, metadata={"example": "ana"})
    display_name = fields.String(dump_only=True, metadata={"example": "Ana Lima"})
    bio = fields.String(
        dump_only=True, metadata={"example": "Potter in Porto: bowls, mugs and the odd vase."}
    )
    avatar_url = fields.String(
        dump_only=True,
        allow_none=True,
        metadata={"example": "https://kindred.example/media/avatars/5.webp"},
    )
    profile_url = fields.String(
        dump_only=True, metadata={"example": "https://kindred.example/@ana"}
    )
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-01-12T08:00:00+00:00"})


class UserPrivateSchema(UserPublicSchema):
    id = fields.Integer(dump_only=True, metadata={"example": 5})
    email = fields.String(dump_only=True, metadata={"example": "ana@example.com"})
    locale = fields.String(dump_only=True, allow_none=True, metadata={"example": "en"})


class ProfileUpdateSchema(Schema):
    display_name = fields.String(
        validate=validate.Length(max=DISPLAY_NAME_MAX), metadata={"example": "Ana Lima"}
    )
    bio = fields.String(
        validate=validate.Length(max=BIO_MAX),
        metadata={"example": "Potter in Porto: bowls, mugs and the odd vase."},
    )
    locale = fields.String(
        allow_none=True, validate=validate.OneOf(["en", "fr", ""]), metadata={"example": "en"}
    )


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True, metadata={"example": 14})
    name = fields.String(
        required=True,
        validate=validate.Length(min=1, max=80),
        metadata={"example": "Stock sync script"},
    )
    prefix = fields.String(dump_only=True, metadata={"example": "kdr_q8Zt2W"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-01T09:00:00+00:00"})
    last_used_at = fields.DateTime(
        dump_only=True, allow_none=True, metadata={"example": "2026-03-14T06:00:00+00:00"}
    )
    revoked_at = fields.DateTime(dump_only=True, allow_none=True, metadata={"example": None})
    scopes = fields.List(
        fields.String(validate=validate.OneOf(TOKEN_SCOPES)),
        attribute="scope_list",
        validate=validate.Length(min=1),
        load_default=list(DEFAULT_SCOPES),
        metadata={
            "description": "What the token may do: read, write (change things), payouts "
            "(change where money is paid; needs two-step sign-in on). Default: read and write.",
            "example": ["read", "write"],
        },
    )


class NewTokenSchema(TokenSchema):
    token = fields.String(
        dump_only=True,
        metadata={
            "description": "The secret; shown only once.",
            "example": "kdr_q8Zt2WvB7xLm4NcR1sYd9KpE3hJu6TgA0fQ",
        },
    )


class LoginSessionSchema(Schema):
    """A place where the person is logged in (a browser session)."""

    id = fields.Integer(dump_only=True, metadata={"example": 201})
    device = fields.String(
        dump_only=True,
        metadata={"description": "e.g. Firefox on Windows", "example": "Firefox on Windows"},
    )
    ip_address = fields.String(dump_only=True, metadata={"example": "203.0.113.24"})
    created_at = fields.DateTime(dump_only=True, metadata={"example": "2026-03-10T18:20:00+00:00"})
    last_seen_at = fields.DateTime(
        dump_only=True,
        metadata={
            "description": "Updated every few minutes, not per request.",
            "example": "2026-03-14T10:05:00+00:00",
        },
    )
    current = fields.Boolean(
        dump_only=True,
        metadata={"description": "Whether this request comes from it.", "example": True},
    )
