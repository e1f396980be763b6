"""/api/v1: the authenticated person, public profiles, personal access tokens, sessions."""

from __future__ import annotations

from typing import Any

from flask import url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from app import api, media
from app.accounts import services, sessions
from app.accounts.models import LoginSession, User
from app.accounts.schemas import (
    LoginSessionSchema,
    NewTokenSchema,
    ProfileUpdateSchema,
    TokenSchema,
    UserPrivateSchema,
    UserPublicSchema,
)

blueprint = Blueprint("accounts_api", __name__, description="People, profiles and API tokens")


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "handle": user.handle,
        "display_name": user.display_name,
        "bio": user.bio,
        "email": user.email,
        "locale": user.locale,
        "avatar_url": media.media_url(user.avatar_key),
        "profile_url": url_for("profiles.show", handle=user.handle, _external=True),
        "created_at": user.created_at,
    }


@blueprint.route("/me")
class Me(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, UserPrivateSchema)
    def get(self) -> dict[str, Any]:
        """The person the request is authenticated as."""
        return user_view(services.current_person())

    @blueprint.arguments(ProfileUpdateSchema)
    @blueprint.response(200, UserPrivateSchema)
    def patch(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Change your display name, bio or language."""
        user = services.current_person()
        services.update_profile(
            user,
            services.ProfileChanges(
                changes.get("display_name", user.display_name),
                changes.get("bio", user.bio),
                changes.get("locale", user.locale),
            ),
        )
        return user_view(user)


@blueprint.route("/users/<handle>")
class UserProfile(MethodView):
    @blueprint.response(200, UserPublicSchema)
    def get(self, handle: str) -> dict[str, Any]:
        """A person's public profile."""
        return user_view(services.user_by_handle(handle))


@blueprint.route("/tokens")
class Tokens(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, TokenSchema(many=True))
    def get(self) -> list[Any]:
        """Your personal access tokens (the secrets are never shown again)."""
        return list(services.current_person().tokens)

    @blueprint.arguments(TokenSchema)
    @blueprint.response(201, NewTokenSchema)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a token. The response holds its secret, once."""
        token, secret = services.create_token(
            services.current_person(), data["name"], data["scope_list"]
        )
        fields = ("id", "name", "prefix", "created_at", "last_used_at", "revoked_at", "scope_list")
        return {**{name: getattr(token, name) for name in fields}, "token": secret}


@blueprint.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    decorators = [api.login_required]

    @blueprint.response(204)
    def delete(self, token_id: int) -> None:
        """Revoke a token; requests using it are refused from now on."""
        services.revoke_token(services.current_person(), token_id)


@blueprint.route("/sessions")
class LoginSessions(MethodView):
    decorators = [api.login_required]

    @blueprint.response(200, LoginSessionSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """Where you are logged in: your live browser sessions, most recently seen first."""
        user = services.current_person()
        current = sessions.current_session(user)
        return [
            {**session_view(record), "current": current is not None and record.id == current.id}
            for record in sessions.active_sessions(user)
        ]


@blueprint.route("/sessions/<int:session_id>")
class LoginSessionItem(MethodView):
    decorators = [api.login_required]

    @blueprint.response(204)
    def delete(self, session_id: int) -> None:
        """Sign a session out: its cookies stop working at once."""
        sessions.revoke_session(services.current_person(), session_id)


def session_view(record: LoginSession) -> dict[str, Any]:
    fields = ("id", "device", "ip_address", "created_at", "last_seen_at")
    return {name: getattr(record, name) for name in fields}


def register() -> None:
    api.register(blueprint, "")
