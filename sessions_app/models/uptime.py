"""When the server was alive: a rarely written heartbeat and the outages it reveals.

Presence is only known while the server runs (disconnects, the sweeper). A gap in the
heartbeat longer than ``services.uptime.OUTAGE_AFTER`` is recorded as an outage, and EXP never
counts time inside one: nobody was seen then.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from sessions_app.models.base import UTCDateTime


class ServerHeartbeat(SQLModel, table=True):
    """One row (id 1): the last time a worker said it was alive (written every ~30 s)."""

    __tablename__ = "server_heartbeat"

    id: int | None = Field(default=None, primary_key=True)
    alive_at: datetime = Field(sa_type=UTCDateTime)


class ServerOutage(SQLModel, table=True):
    """A stretch in which no worker was alive; unique on its start so it is recorded once."""

    __tablename__ = "server_outages"

    id: int | None = Field(default=None, primary_key=True)
    started_at: datetime = Field(sa_type=UTCDateTime, unique=True)
    ended_at: datetime = Field(sa_type=UTCDateTime, index=True)
