"""The state classes broadcasts are addressed to, registered by ``state/`` as it is imported.

A broadcast names a state class only to address its vars in the browser
(``realtime.push(channel, cls, **values)``), and a server-side change of a room needs the
class its shared copy is stored as. ``live/`` never imports ``state/`` (``state/`` imports
``live/``: a handler calls its delivery, never the other way round), so each state class that
receives broadcasts registers itself here with the kind of feed it shows.
"""

from __future__ import annotations

# The kinds of broadcast target, one per kind of view.
ROOM = "room"  # the shared ``RoomLive`` of a live room (store + channel ``room-<id>``)
LOBBY = "lobby"  # the lobby's room cards
SESSIONS_LIST = "sessions-list"  # the /sessions page's live places
SESSION_PAGE = "session-page"  # one /sessions/<id> page: public numbers and revisions
OWN_VIEW = "own-view"  # a user's own view (EXP, level) on every tab of theirs
ROOM_BOARD = "room-board"  # the shared ``RoomBoard`` of a live room: its chat and tasks
ROOM_GOALS = "room-goals"  # the shared ``RoomGoals`` of a live room
LOBBY_CHAT = "lobby-chat"  # a lobby tab's chat
SESSION_CHAT = "session-chat"  # a session page's chat

_targets: dict[str, type] = {}


def register(kind: str):
    """Class decorator: ``cls`` is the state that shows broadcasts of ``kind``."""

    def deco(cls: type) -> type:
        _targets[kind] = cls
        return cls

    return deco


def of(kind: str) -> type:
    """The state class registered for ``kind`` (registered when ``state/`` is imported)."""
    try:
        return _targets[kind]
    except KeyError:
        raise LookupError(f"no state registered for {kind!r} broadcasts (import sessions_app.state first)") from None
