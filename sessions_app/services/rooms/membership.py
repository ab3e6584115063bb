"""Live rooms and who is in them: create, enter (public, by code, or through a scheduled
session), the members present, leave with host transfer, closing."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, delete, select

from sessions_app.db import READ_ONLY, elevated
from sessions_app.models import (
    Room,
    RoomMember,
    SessionParticipant,
    StudySession,
    Task,
    User,
    utcnow,
)
from sessions_app.services import cosmetics, progression, ratelimit, text, timer
from sessions_app.services.errors import ServiceError

DISCIPLINES = ["Mathematics", "Computer Science", "Physics", "Chemistry", "Biology", "Medicine",
               "Engineering", "Economics", "Law", "Languages", "Humanities", "Other"]
# 33 symbols (no 0, 1 or I): 33⁶ ≈ 1.29 billion codes.
CODE_ALPHABET = "ABCDEFGHJKLMNOPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
MAX_NAME = 60  # Room.name's column length
LIMITS = {  # field: (label, low, high, default)
    "focus_minutes": ("Focus", 15, 60, 25),
    "short_break_minutes": ("Short break", 3, 15, 5),
    "long_break_minutes": ("Long break", 10, 30, 15),
    "blocks_before_long_break": ("Focus blocks before a long break", 2, 6, 4),
}


@dataclass(frozen=True)
class Member:
    """A person present in a room, as everyone in it sees them."""

    user_id: int
    name: str
    avatar_url: str
    level: int
    joined_at: datetime
    looks: cosmetics.Looks = cosmetics.Looks()


@dataclass(frozen=True)
class LeaveResult:
    """What a departure changed: a new host, or the room closing."""

    left: bool
    new_host_id: int | None
    closed: bool


# --- validation --------------------------------------------------------------------------


def _int_in_range(raw: object, field: str) -> int:
    label, low, high, default = LIMITS[field]
    if raw is None or raw == "":
        return default
    try:
        value = int(str(raw).strip()) if not isinstance(raw, bool) else None
    except ValueError:
        value = None
    if value is None:
        raise ServiceError(f"{label} must be a whole number of {'blocks' if 'blocks' in field else 'minutes'}.", field=field)
    if not low <= value <= high:
        unit = "" if "blocks" in field else " minutes"
        raise ServiceError(f"{label} must be between {low} and {high}{unit}.", field=field)
    return value


def normalize_code(code: object) -> str | None:
    """A typed or linked code in canonical form, or None if it cannot be a code."""
    if not isinstance(code, str):
        return None
    code = code.strip().upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return code


def new_code(db: Session) -> str:
    """A random code that no open room uses."""
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        with elevated(db, "a new code must differ from every open room's, private ones too"):
            taken = db.exec(select(Room.id).where(Room.code == code)).first() is not None
        if not taken:
            return code


# --- rooms and membership ---------------------------------------------------------------------


def create_room(db: Session, *, host_id: int, name: object, discipline: object, is_private: object,
                focus_minutes: object = None, short_break_minutes: object = None,
                long_break_minutes: object = None, blocks_before_long_break: object = None,
                now: datetime | None = None) -> Room:
    """Create a room with its creator as host and first member."""
    name = text.clean(name, label="Room name", max_len=MAX_NAME, field="name", empty_message="Give the room a name.")
    if discipline not in DISCIPLINES:
        raise ServiceError("Choose a discipline from the list.", field="discipline")
    private = is_private in (True, "true", "on", "1", 1)
    values = {f: _int_in_range(v, f) for f, v in (
        ("focus_minutes", focus_minutes), ("short_break_minutes", short_break_minutes),
        ("long_break_minutes", long_break_minutes), ("blocks_before_long_break", blocks_before_long_break))}
    room = Room(name=name, discipline=discipline, is_private=private, host_id=host_id,
                code=new_code(db) if private else None, **values)
    db.add(room)
    db.flush()
    db.add(RoomMember(room_id=room.id, user_id=host_id, joined_at=now or utcnow()))
    db.flush()
    return room


CLOSED_ROOM = "This room is closed or does not exist. Pick another one in the lobby."


def get_open_room(db: Session, room_id: object) -> Room:
    """The open room with this id, or a clear refusal."""
    rid = text.parse_id(room_id)
    room = db.get(Room, rid) if rid else None
    if room is None or not room.is_open:
        raise ServiceError(CLOSED_ROOM)
    return room


def has_access(db: Session, room: Room, user_id: int) -> bool:
    """Public rooms are open to everyone logged in; private ones to whoever joined by code,
    and a scheduled session's live room to that session's creator and participants."""
    if not room.is_private:
        return True
    if db.exec(select(RoomMember.id).where(RoomMember.room_id == room.id,
                                           RoomMember.user_id == user_id)).first() is not None:
        return True
    return admitted_by_session(db, room.id, user_id)


def admitted_by_session(db: Session, room_id: int, user_id: int) -> bool:
    """Whether the (not cancelled) scheduled session that turned into this room admits the
    user: its creator, or someone holding a place (not the waitlist)."""
    session = db.exec(select(StudySession).where(StudySession.room_id == room_id,
                                                 col(StudySession.cancelled_at).is_(None))).first()
    if session is None or not user_id:
        return False
    if session.creator_id == user_id:
        return True
    return db.exec(select(SessionParticipant.id).where(
        SessionParticipant.session_id == session.id, SessionParticipant.user_id == user_id,
        col(SessionParticipant.waitlisted).is_(False))).first() is not None


def open_stint(db: Session, room_id: int, user_id: int) -> RoomMember | None:
    """The user's current stint in the room, if present. Read once per read-only transaction
    (``db.read_scope``: a room page's read checks membership in three services)."""
    memo = ("open_stint", room_id, user_id)
    if db.info.get(READ_ONLY) and memo in db.info:
        return db.info[memo]
    stint = db.exec(select(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id,
                                             col(RoomMember.left_at).is_(None))).first()
    if db.info.get(READ_ONLY):
        db.info[memo] = stint
    return stint


def is_member(db: Session, room_id: int, user_id: int) -> bool:
    """Whether the user is present in the room now."""
    return open_stint(db, room_id, user_id) is not None


def enter(db: Session, *, room_id: object, user_id: int, code: object = None, now: datetime | None = None) -> tuple[Room, bool]:
    """Be present in a room; returns the room and whether this started a new stint.

    Private rooms need their code the first time (``code``); afterwards a reload or reconnect
    gets back in without it while the room is open.
    """
    # That a room exists and is private is no secret (its page asks for the code); on
    # PostgreSQL the row shows only to its people, so the lookup runs as the system.
    with elevated(db, "entering looks the room up before checking its code or access"):
        room = get_open_room(db, room_id)
    # A private room without a code (a scheduled session's live room) admits only through
    # ``has_access``: no code, not even "none", opens it.
    by_code = room.code is not None and normalize_code(code) == room.code
    if room.is_private and not has_access(db, room, user_id) and not by_code:
        raise ServiceError("This room is private. Ask the host for its 6-character code.")
    # One user's tabs can enter at the same instant on two workers: lock the user's own row so
    # the second entry sees the first one's stint instead of opening another (PostgreSQL;
    # SQLite's BEGIN IMMEDIATE already serializes writers).
    if db.get_bind().dialect.name != "sqlite":
        db.exec(select(User.id).where(User.id == user_id).with_for_update()).first()
    if open_stint(db, room.id, user_id) is not None:
        return room, False
    db.add(RoomMember(room_id=room.id, user_id=user_id, joined_at=now or utcnow()))
    if room.host_id is None:
        room.host_id = user_id
        db.add(room)
    db.flush()
    return room, True


def room_for_code(db: Session, code: object) -> Room:
    """The open private room with this code (callers rate-limit guessing)."""
    canonical = normalize_code(code)
    with elevated(db, "a private room's code is the credential that shows it"):
        room = db.exec(select(Room).where(Room.code == canonical, Room.is_open)).first() if canonical else None
    if room is None:
        raise ServiceError("No open room has that code. Check the 6 characters and try again.")
    return room


def join_by_code(db: Session, *, user_id: int, code: object, client: str, rate_limit: str) -> Room:
    """Enter a private room by its code. Every attempt counts against ``rate_limit`` per user
    and per client, so codes cannot be guessed at speed."""
    ratelimit.hit(rate_limit, f"code:user:{user_id}", f"code:client:{client}",
                  message="Too many room codes tried. Wait a minute, then try again.")
    room = room_for_code(db, code)
    enter(db, room_id=room.id, user_id=user_id, code=code)
    return room


def members(db: Session, room_id: int) -> list[Member]:
    """Who is present, earliest first (one entry per person). Reads only the columns shown (a
    room of 200 is read once per member batch; whole ORM rows cost ~5 times as much)."""
    rows = db.exec(
        select(User.id, User.display_name, User.avatar_url, User.exp_total, User.name_color,
               User.avatar_border, RoomMember.joined_at)
        .join(User, User.id == RoomMember.user_id)
        .where(RoomMember.room_id == room_id, col(RoomMember.left_at).is_(None))
        .order_by(RoomMember.joined_at, RoomMember.id)
    ).all()
    first = {}  # one entry per person, even if a race once opened two stints
    for uid, name, avatar, exp, name_color, border, joined_at in rows:
        if uid not in first:
            level = progression.level_for(exp)
            first[uid] = Member(uid, name, avatar, level, joined_at, cosmetics.looks_at(level, name_color, border))
    return list(first.values())


def leave(db: Session, *, room_id: int, user_id: int, now: datetime | None = None) -> LeaveResult:
    """End the user's stint; pass the host role on or close the room if it is now empty."""
    now = now or utcnow()
    stints = db.exec(select(RoomMember).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id,
                                              col(RoomMember.left_at).is_(None))).all()
    room = db.get(Room, room_id)
    if not stints or room is None:
        return LeaveResult(False, None, False)
    for stint in stints:  # every open stint: leaving ends the person's presence, whole
        stint.left_at = now
        db.add(stint)
    db.flush()
    remaining = members(db, room_id)
    if not remaining:
        close_room(db, room=room, now=now)
        return LeaveResult(True, None, True)
    new_host = None
    if room.host_id == user_id or room.host_id not in {m.user_id for m in remaining}:
        room.host_id = new_host = remaining[0].user_id
        db.add(room)
    return LeaveResult(True, new_host, False)


def close_room(db: Session, *, room: Room, now: datetime | None = None) -> None:
    """Close a room: free its code, stop its timer, clear its room tasks, end all stints."""
    now = now or utcnow()
    room.is_open = False
    room.code = None
    room.closed_at = now
    room.phase, room.phase_ends_at, room.paused_remaining_ms = timer.IDLE, None, None
    room.phase_seq += 1
    db.add(room)
    with elevated(db, "closing a room ends every stint and clears everyone's room tasks"):
        db.exec(update(RoomMember).where(col(RoomMember.room_id) == room.id, col(RoomMember.left_at).is_(None))
                .values(left_at=now))
        db.exec(delete(Task).where(col(Task.room_id) == room.id))


def rooms_of_user(db: Session, user_id: int) -> list[int]:
    """Rooms the user is present in now."""
    return list(db.exec(select(RoomMember.room_id).where(RoomMember.user_id == user_id,
                                                         col(RoomMember.left_at).is_(None))).all())
