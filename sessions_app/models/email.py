"""Links sent by email: verifying an address and resetting a password."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.user import user_fk


class EmailToken(SQLModel, table=True):
    """A single-use, expiring token mailed to a user (stored only as its SHA-256).

    ``purpose`` is ``verify`` (prove the address) or ``reset`` (set a new password).
    ``email`` is the address the link was sent to: a link proves only that address. The row
    is deleted when the link is used, together with the account's other links of that purpose.
    """

    __tablename__ = "email_tokens"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(sa_column=user_fk())
    purpose: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    email: str = Field(max_length=254)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
