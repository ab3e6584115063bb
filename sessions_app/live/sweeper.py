"""The presence sweeper, and the registration of live background work.

A crashed worker sends no disconnects, and with Redis its socket records live up to an hour:
the sweeper clears members whose tabs are gone without a disconnect this worker saw. A tab
missing on two sweeps a grace apart leaves; so does a member with no tab anywhere (after a
restart with in-memory state) once they have had the same grace to come back.
"""

from __future__ import annotations

import time

from sqlmodel import select

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import phases, presence
from sessions_app.live.rooms import locked_room
from sessions_app.models import Room
from sessions_app.settings import get_settings


async def sweep() -> None:
    """One sweep over every open room."""
    grace = get_settings().presence_grace_seconds
    with session_scope() as db:
        open_ids = [r.id for r in db.exec(select(Room).where(Room.is_open)).all()]
    for room_id in open_ids:
        gone: list[str] = []
        async with locked_room(room_id) as live:
            if live is None:
                continue
            now = time.monotonic()
            missing = dict(live._missing_since)
            for token in list(live._tabs):
                if await realtime.is_connected(token):
                    missing.pop(token, None)
                elif now - missing.setdefault(token, now) >= grace:
                    gone.append(token)
            tab_users = set(live._tabs.values())
            for m in live.members:
                key = f"user:{m.user_id}"
                if m.user_id in tab_users:
                    missing.pop(key, None)
                elif now - missing.setdefault(key, now) >= grace:
                    gone.append(key)
            live._missing_since = missing
        for token in gone:
            if token.startswith("user:"):
                async with locked_room(room_id) as live:
                    uid = int(token.removeprefix("user:"))
                    if live is not None and uid not in live._tabs.values():
                        live._missing_since = {k: v for k, v in live._missing_since.items() if k != token}
                        await presence.depart(live, "", uid, None, whole_user=True)
            else:
                await presence.drop_tab(room_id, token)


def install() -> None:
    """Register presence and timer background work with ``realtime`` (once, at app start)."""
    realtime.on_gone(presence.on_tab_gone)
    realtime.every(15, phases.catch_up, first_delay=0.5)
    realtime.every(max(5.0, get_settings().presence_grace_seconds), sweep, first_delay=5)
