from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import utcnow

HANDLE_MAX = 30
EMAIL_MAX = 254
DISPLAY_NAME_MAX = 80
BIO_MAX = 500


# What an API token may do. "read": look; "write": change things; "payouts": change where
# money goes (needs two-step sign-in). Tokens made before scopes existed have read and write.
TOKEN_SCOPES = ("read", "write", "payouts")
DEFAULT_SCOPES = ("read", "write")


def new_session_nonce() -> str:
    return secrets.token_urlsafe(12)


class User(UserMixin, Model):
    __tablename__ = "users"
    # The two plain attributes below (the sign-in this object stands for) are not columns.
    __allow_unmapped__ = True

    id: Mapped[int] = mapped_column(primary_key=True)
    # Email and handle are stored lower-cased, so uniqueness is case-insensitive everywhere.
    email: Mapped[str] = mapped_column(String(EMAIL_MAX), unique=True)
    handle: Mapped[str] = mapped_column(String(HANDLE_MAX), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(DISPLAY_NAME_MAX), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_key: Mapped[str | None] = mapped_column(String(255))
    locale: Mapped[str | None] = mapped_column(String(8))
    is_admin: Mapped[bool] = mapped_column(default=False)
    # Part of the login session's identity: changing it signs every session of this user out.
    session_nonce: Mapped[str] = mapped_column(String(32), default=new_session_nonce)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_login_at: Mapped[datetime | None]
    # Two-step sign-in (TOTP): on once a code from the app confirmed the secret.
    two_step_secret: Mapped[str | None] = mapped_column(String(64))
    two_step_enabled_at: Mapped[datetime | None]
    # The last TOTP time step accepted: a code is good once, not for its whole window.
    two_step_last_step: Mapped[int | None] = mapped_column(BigInteger)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="ApiToken.id.desc()"
    )

    # The sign-in session (a LoginSession's secret) this object was loaded for or signed in
    # with; not a column. It is part of the login identity, so the session cookie and the
    # remember-me cookie both name their server-side record.
    login_session_key: str = ""
    login_session: LoginSession | None = None

    def get_id(self) -> str:
        return f"{self.id}:{self.session_nonce}:{self.login_session_key}"

    @property
    def two_step_enabled(self) -> bool:
        return self.two_step_enabled_at is not None and bool(self.two_step_secret)

    @property
    def name(self) -> str:
        """What the site calls this person: the display name, or the handle."""
        return self.display_name or self.handle

    def __repr__(self) -> str:
        return f"<User @{self.handle}>"


class ApiToken(Model):
    """A personal access token for the JSON API. Only a hash of the secret is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    # The first characters of the secret, shown so a person can tell their tokens apart.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    # Space-separated TOKEN_SCOPES.
    scopes: Mapped[str] = mapped_column(
        String(64), default="read write", server_default="read write"
    )

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())

    @property
    def scope_list(self) -> list[str]:
        return [scope for scope in TOKEN_SCOPES if scope in self.scope_set]


class LoginSession(Model):
    """One sign-in on one device. The cookie carries its secret (signed, inside the login
    identity); only a hash is stored. Signing out, or revoking it from the security page,
    ends it on the server, so a copied cookie dies with it."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    last_seen_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    device: Mapped[str] = mapped_column(String(80), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    revoked_at: Mapped[datetime | None]

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class RecoveryCode(Model):
    """A single-use code that stands in for the authenticator app. Only a hash is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=lambda: utcnow())
    used_at: Mapped[datetime | None]
