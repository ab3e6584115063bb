"""Accounts: users, their login sessions and OAuth identities."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow


def user_fk(ondelete: str = "CASCADE", nullable: bool = False, index: bool = True) -> Column:
    """A foreign-key column to ``users.id`` (cascade: the user owns the row)."""
    return Column(Integer, ForeignKey("users.id", ondelete=ondelete), nullable=nullable, index=index)


class User(SQLModel, table=True):
    """A student. Private fields (email, password hash) never leave the server."""

    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    email: str | None = Field(default=None, max_length=254, unique=True, index=True)
    password_hash: str | None = Field(default=None, max_length=255)
    display_name: str = Field(max_length=40)
    avatar_url: str = Field(default="", max_length=500)
    # Cosmetics earned by level, shown to others (keys of ``services.cosmetics``; "" = none).
    name_color: str = Field(default="", max_length=24)
    avatar_border: str = Field(default="", max_length=24)
    timezone: str = Field(default="UTC", max_length=64)
    exp_total: int = Field(default=0)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # When the owner proved the email (a mailed link, a password reset, or a provider that
    # verified it). None: nobody has; such an account is never joined to an OAuth login.
    email_verified_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Forgiving streaks (services/streaks.py): when the student's day starts (minutes after
    # local midnight, 0–360: a night owl's 01:30 block counts for the day before) and their
    # weekly focus goal in minutes (0: none).
    day_start_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    weekly_goal_minutes: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class AuthSession(SQLModel, table=True):
    """A login: an opaque random token, stored only as its SHA-256, with an expiry."""

    __tablename__ = "auth_sessions"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)


class OAuthAccount(SQLModel, table=True):
    """A provider identity linked to a user (GitHub user id, Google ``sub``)."""

    __tablename__ = "oauth_accounts"
    __table_args__ = (UniqueConstraint("provider", "subject"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    provider: str = Field(max_length=20)
    subject: str = Field(max_length=255)


class OAuthState(SQLModel, table=True):
    """A pending OAuth authorization: its ``state``, PKCE verifier and where to return.

    Deleted when the callback uses it, so a replayed or forged ``state`` finds nothing.
    """

    __tablename__ = "oauth_states"

    state: str = Field(primary_key=True, max_length=128)
    provider: str = Field(max_length=20)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(default="/lobby", max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class LoginTicket(SQLModel, table=True):
    """A one-time, short-lived ticket that turns a finished OAuth callback into a login.

    The callback runs on the backend; the browser then opens ``/auth/complete?ticket=...`` and
    the page exchanges the ticket for a session token. Stored hashed; single use.
    """

    __tablename__ = "login_tickets"

    ticket_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(sa_column=user_fk())
    next_path: str = Field(default="/lobby", max_length=500)
    expires_at: datetime = Field(sa_type=UTCDateTime)
