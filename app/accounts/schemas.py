from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.accounts.models import BIO_MAX, DEFAULT_SCOPES, DISPLAY_NAME_MAX, TOKEN_SCOPES


class UserPublicSchema(Schema):
    handle = fields.String(dump_only=True)
    display_name = fields.String(dump_only=True)
    bio = fields.String(dump_only=True)
    avatar_url = fields.String(dump_only=True, allow_none=True)
    profile_url = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class UserPrivateSchema(UserPublicSchema):
    id = fields.Integer(dump_only=True)
    email = fields.String(dump_only=True)
    locale = fields.String(dump_only=True, allow_none=True)


class ProfileUpdateSchema(Schema):
    display_name = fields.String(validate=validate.Length(max=DISPLAY_NAME_MAX))
    bio = fields.String(validate=validate.Length(max=BIO_MAX))
    locale = fields.String(allow_none=True, validate=validate.OneOf(["en", "fr", ""]))


class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    prefix = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = fields.DateTime(dump_only=True, allow_none=True)
    scopes = fields.List(
        fields.String(validate=validate.OneOf(TOKEN_SCOPES)),
        attribute="scope_list",
        validate=validate.Length(min=1),
        load_default=list(DEFAULT_SCOPES),
        metadata={
            "description": "What the token may do: read, write (change things), payouts "
            "(change where money is paid; needs two-step sign-in on). Default: read and write."
        },
    )


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The secret; shown only once."})


class LoginSessionSchema(Schema):
    """A place where the person is logged in (a browser session)."""

    id = fields.Integer(dump_only=True)
    device = fields.String(dump_only=True, metadata={"description": "e.g. Firefox on Windows"})
    ip_address = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    last_seen_at = fields.DateTime(
        dump_only=True, metadata={"description": "Updated every few minutes, not per request."}
    )
    current = fields.Boolean(
        dump_only=True, metadata={"description": "Whether this request comes from it."}
    )
