"""A student's ambient sound mix (the room page's generated rain, café, fire, brown noise).

The cosmetics a student chose live on ``User`` (others see them next to the name) and a
room's background on ``Room``; see ``services.cosmetics``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer
from sqlmodel import Field, SQLModel


class AmbientMix(SQLModel, table=True):
    """Volumes 0–100 per generated sound, and whether the sound fades out in breaks.

    One row per user, created on the first change; no row means the default mix.
    """

    __tablename__ = "ambient_mixes"
    __table_args__ = tuple(
        CheckConstraint(f"{name} BETWEEN 0 AND 100", name=f"ck_ambient_mixes_{name}")
        for name in ("rain", "cafe", "fire", "brown")
    )

    # The user owns the row: it goes with the account.
    user_id: int = Field(sa_column=Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    rain: int = 40
    cafe: int = 0
    fire: int = 0
    brown: int = 20
    fade_in_breaks: bool = True
