"""Quiet focus: during a focus block a room's chat quiets to reactions, unless the host opens
it; in breaks (and while idle) chat is open as always.

The rule is checked where messages are stored (``chat.post_message`` calls ``check_post``), from
the room's row in the database — a crafted event cannot post past it, whatever the page shows.
A paused focus block is still focus. The host's choice (``Room.focus_chat_open``) stays until
the host changes it; the role passing to someone else does not reset it.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from sessions_app.models import Room, RoomMember
from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.timer import FOCUS

QUIET = "Chat is quiet during focus: react to a message with an emoji, or write in the break."
HOST_ONLY = "Only the host can open the chat during focus."


def is_quiet(room: Room) -> bool:
    """Whether posting is closed in this room now (a focus block, and the host has not opened it)."""
    return room.is_open and room.phase == FOCUS and not room.focus_chat_open


def focus_chat_open(db: Session, room_id: int) -> bool:
    """Whether the host opened the room's chat during focus (False for no such room)."""
    room = db.get(Room, room_id)
    return bool(room and room.focus_chat_open)


def check_post(db: Session, room_id: int) -> None:
    """Refuse a new message in a room whose chat is quiet."""
    room = db.get(Room, room_id)
    if room is not None and is_quiet(room):
        raise ServiceError(QUIET, field="body")


def set_focus_chat(db: Session, *, room_id: object, user_id: int | None, open_: object) -> bool:
    """The host opens (or quiets again) the chat during focus blocks. Returns the new setting."""
    if not isinstance(open_, bool):
        raise ServiceError("Choose open or quiet.")
    rid = text.parse_id(room_id)
    room = db.get(Room, rid) if rid else None
    present = room is not None and user_id and db.exec(select(RoomMember.id).where(
        RoomMember.room_id == room.id, RoomMember.user_id == user_id, col(RoomMember.left_at).is_(None))).first()
    if room is None or not room.is_open or room.host_id != user_id or not present:
        raise ServiceError(HOST_ONLY)
    room.focus_chat_open = open_
    db.add(room)
    db.flush()
    return open_
