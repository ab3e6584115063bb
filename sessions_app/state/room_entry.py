"""A room page load's first step: who is calling, and their entry into the room.

The regular entry is ONE transaction (``state.base.caller_then``): the login lookup as the
system, then ``rooms.enter_room`` as the caller. On SQLite a public room's entry takes the
split road of ``services.rooms.entry_hot`` instead: the lookup, the caller's own view and the
entry's checks in one read-only transaction beside the writers; a reload (already present)
writes nothing; a new stint is one statement under the write lock that re-checks the login,
the room and the presence. Whatever that statement does not settle (a private room, a logout
or a closing in between) goes the regular way, which decides as before and says why. Both
steps run in one trip to the handler pool.
"""

from __future__ import annotations

from typing import Any

from sessions_app import db as app_db
from sessions_app.db import as_system, read_scope
from sessions_app.live.users import own_view_vars
from sessions_app.services import accounts, rooms
from sessions_app.services.errors import ServiceError
from sessions_app.services.rooms import entry_hot
from sessions_app.state.base import REFUSED, caller_then


def enter_as_caller(db, uid: int, requested: object) -> rooms.Entry:
    """The regular entry (in the caller's transaction, ``caller_then``)."""
    return rooms.enter_room(db, room_id=requested, user_id=uid)


def enter_by_login(token: str | None, requested: object) -> tuple[int | None, dict | None, Any, ServiceError | None]:
    """``caller_then(token, True, enter_as_caller, requested)``'s result — (uid, own view
    values, the ``rooms.Entry`` or ``REFUSED``, the refusal); (None, None, None, None) when
    nobody is logged in — reached on SQLite's split road where it can be (module doc)."""
    engine = app_db.get_engine()
    if not entry_hot.handles(engine):
        return caller_then(token, True, enter_as_caller, requested)
    with as_system("who holds this login cookie, and may they enter"), read_scope() as db:
        user = accounts.user_for_token(db, token)
        if user is None:
            return None, None, None, None
        uid, values = user.id, own_view_vars(user)
        try:
            checked = entry_hot.check(db, room_id=requested, user_id=uid)
        except ServiceError as err:
            return uid, values, REFUSED, err
    if checked is not None:
        if checked.present:
            return uid, values, rooms.Entry(checked.room_id, False), None
        if entry_hot.open_new_stint(engine, token=token, room_id=checked.room_id, user_id=uid):
            return uid, values, rooms.Entry(checked.room_id, True), None
    return caller_then(token, True, enter_as_caller, requested)
