from __future__ import annotations

from marshmallow import Schema, fields, validate

from app.accounts.models import BIO_MAX, DISPLAY_NAME_MAX


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


class NewTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "The secret; shown only once."})
