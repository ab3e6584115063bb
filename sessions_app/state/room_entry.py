"""A room page load's first step: who is calling, and their entry into the room.

The regular entry is ONE transaction (``state.base.caller_then``): the login lookup as the
system, then ``rooms.enter_room`` as the caller. On SQLite the entry takes the road of
``services.rooms.entry_hot`` instead: reads beside the writers, a reload writes nothing, a
new stint is one statement under the write lock that re-checks the login, the room and the
presence, all on the driver. On PostgreSQL it takes ``services.rooms.entry_pg``: the same
rules in two round trips (psycopg's pipeline) instead of about a dozen. Whatever those roads
do not settle (a private room, a logout or a closing in between) goes the regular way, which
decides as before and says why. Either way, one trip to the handler pool.
"""

from __future__ import annotations

import functools
from typing import Any

from sessions_app import db as app_db
from sessions_app.live.users import own_view_vars
from sessions_app.services import rooms
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms import entry_hot, entry_pg
from sessions_app.state.base import REFUSED, caller_then


def enter_as_caller(db, uid: int, requested: object) -> rooms.Entry:
    """The regular entry (in the caller's transaction, ``caller_then``)."""
    return rooms.enter_room(db, room_id=requested, user_id=uid)


def enter_by_login(token: str | None, requested: object) -> tuple[int | None, dict | None, Any, ServiceError | None]:
    """``caller_then(token, True, enter_as_caller, requested)``'s result — (uid, own view
    values, the ``rooms.Entry`` or ``REFUSED``, the refusal); (None, None, None, None) when
    nobody is logged in — reached on SQLite's road where it can be (module doc)."""
    engine = app_db.get_engine()
    road = entry_hot if entry_hot.handles(engine) else entry_pg if _pg_road(engine) else None
    if road is not None:
        entered = road.enter(engine, token=token, room_id=requested)
        if entered is None:
            return None, None, None, None
        values = own_view_vars(entered.user)
        if entered.refused is not None:
            return entered.user.id, values, REFUSED, entered.refused
        if entered.room_id:
            return entered.user.id, values, rooms.Entry(entered.room_id, entered.is_new), None
    return caller_then(token, True, enter_as_caller, requested)


@functools.lru_cache(maxsize=4)
def _pg_road(engine) -> bool:
    return entry_pg.handles(engine)


def pack_early(sid: str, requested: object, result: tuple) -> tuple:
    """An entry made with the connect (``state.room_early``), for the page's load to take
    over (``unpack_early``), as plain values: the tab's states are pickled between two
    events with Redis, and the ``REFUSED`` marker would not come back as itself."""
    uid, values, entered, err = result
    entry = (entered.room_id, entered.is_new) if isinstance(entered, rooms.Entry) else None
    return sid, str(requested), uid, values, entry, err


def unpack_early(early: tuple, sid: str, requested: object) -> tuple | None:
    """``enter_by_login``'s result from ``pack_early`` if it was made for this socket and
    room; None: the load enters itself."""
    if early is None or early[:2] != (sid, str(requested)):
        return None
    _sid, _requested, uid, values, entry, err = early
    entered = rooms.Entry(*entry) if entry is not None else (REFUSED if uid is not None else None)
    return uid, values, entered, err
