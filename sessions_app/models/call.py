"""Audio/video calls in rooms and scheduled sessions: who is in a call, and call options.

A call is named by a key (``room:42``, ``session:7``; ``services.calls.call_key``). Media
never passes through the app: these rows only say who may receive whose signalling.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.user import user_fk


class CallMember(SQLModel, table=True):
    """One user in one call, through one tab (``sid``: that tab's socket, the only place
    their signalling is delivered). ``removed``: the host took them out; the row stays so
    they cannot join that call again."""

    __tablename__ = "call_members"
    __table_args__ = (UniqueConstraint("call", "user_id", name="uq_call_members_call_user"),)

    id: int | None = Field(default=None, primary_key=True)
    call: str = Field(max_length=40, index=True)
    user_id: int = Field(sa_column=user_fk())
    sid: str = Field(default="", max_length=64)
    token: str = Field(default="", max_length=64, index=True)
    joined_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    removed: bool = False
    # The member's Janus token while the call goes through the SFU ("" otherwise).
    sfu_token: str = Field(default="", max_length=64)


class CallOption(SQLModel, table=True):
    """A call's options: the host's "cameras on during focus" (a reminder only) and its SFU room."""

    __tablename__ = "call_options"

    call: str = Field(max_length=40, primary_key=True)
    cameras_on_focus: bool = False
    # While the call goes through the SFU: its VideoRoom, the secret that manages it and the
    # pin its members enter with (server-side; the pin goes to members only).
    sfu_room: int | None = None
    sfu_secret: str = Field(default="", max_length=64)
    sfu_pin: str = Field(default="", max_length=64)
