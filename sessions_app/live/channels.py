"""Socket channel names: one function per kind of channel, spelled once.

A channel is a socket.io room. Names are readable on purpose: a client cannot enter a channel
by itself (only the server's ``realtime.join`` puts a socket in one), and no name is a state
key. Who may be in which channel is decided by the states that call ``realtime.join``.
"""

from __future__ import annotations

# Everyone on the lobby page: room cards (counts, timer status, rooms opening and closing).
LOBBY = "lobby"
# Everyone on /sessions: the public places text of every session.
SESSIONS = "sessions"


def lobby() -> str:
    """The lobby page's channel."""
    return LOBBY


def sessions_list() -> str:
    """The session list page's channel (public numbers only)."""
    return SESSIONS


def room(room_id: int) -> str:
    """A room's channel: its members' tabs."""
    return f"room-{int(room_id)}"


def user(user_id: int) -> str:
    """Every socket of one user enters this along with any channel that needs a right (a room,
    a session chat): their own EXP pushes, and the handle by which
    ``realtime.leave_user_channels`` finds all their sockets when a right ends."""
    return f"user-{int(user_id)}"


def session(session_id: int) -> str:
    """Everyone looking at a session's page (public numbers only)."""
    return f"session-{int(session_id)}"


def session_chat(session_id: int) -> str:
    """A session's chat: authorized viewers' sockets only."""
    return f"session-{int(session_id)}-chat"


def call(call_key: str) -> str:
    """A call's channel (``services.calls.CallRef.key``: ``room:42``, ``session:7``): the
    sockets of the tabs that are in the call, nobody else. Roster changes go here; signals go
    to one member's socket only."""
    kind, _, ref = call_key.partition(":")
    return f"call-{kind}-{int(ref)}"


# --- reading a channel's name back (a socket's channel says which room or chat it is in) ---


def _number_in(name: str, prefix: str, suffix: str = "") -> int | None:
    if not (name.startswith(prefix) and name.endswith(suffix)):
        return None
    digits = name[len(prefix):len(name) - len(suffix)]
    return int(digits) if digits.isascii() and digits.isdigit() and digits == str(int(digits)) else None


def room_id_of(name: str) -> int | None:
    """The room of a ``room`` channel's name; None for any other channel."""
    return _number_in(name, "room-")


def session_chat_id_of(name: str) -> int | None:
    """The session of a ``session_chat`` channel's name; None for any other channel."""
    return _number_in(name, "session-", "-chat")
