"""Goal → outcome per focus block: one intention per member, visible to the room; when the
block ends the member says how it went, and both become a private log ("Your blocks").

The life of a goal (``models.BlockGoal``):

1. ``set_goal``: a member present in an open room writes one intention (the one text rule,
   at most 140 characters), before or during a focus block. Saving again replaces the text:
   a member has at most one *open* goal per room, guaranteed by the database.
2. ``close_for_block``: called by ``rooms.advance_due`` in the same transaction that ends a
   focus block on the server. Goals of members present at the block's end are closed with the
   end time and their credited minutes; goals of members who had left are dropped (they did
   not sit through it). A block that is skipped or reset does not complete: the goal carries
   over to the next focus block.
3. ``answer``: the member answers "done / partly / not yet", once, for a closed goal of their
   own. Anything else (another user's goal, an open goal, a second answer) is refused.

Only the goal's text and its author's id are ever shown to the room (``room_goals``); the
outcome, minutes and log are the author's alone (``pending``, ``log``, the account export).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from sessions_app.models import BlockGoal, Room, RoomMember, utcnow
from sessions_app.services import text
from sessions_app.services.errors import ServiceError
from sessions_app.services.progression_rules import zone

MAX_GOAL = 140
MAX_LOG = 100
OUTCOMES = {"done": "done", "partly": "partly", "not": "not yet"}
NOT_MEMBER = "Join the room to set a goal for its focus block."
NOT_FOUND = "That goal no longer exists, or it is not yours."


@dataclass(frozen=True)
class GoalLine:
    """A member's open goal as the room sees it."""

    user_id: int
    text: str


@dataclass(frozen=True)
class Pending:
    """A closed goal of the viewer's that still waits for its outcome."""

    id: int
    room_id: int
    room_name: str
    text: str
    minutes: int


@dataclass(frozen=True)
class LogEntry:
    """One line of the private "Your blocks" log."""

    id: int
    ended_at: datetime
    room_name: str
    text: str
    outcome: str  # "done", "partly", "not" or "" (not answered)
    minutes: int


def clean_goal(raw: object) -> str:
    """A goal's text with the one text rule: one line, 1–140 characters."""
    return text.clean(raw, label="Goal", max_len=MAX_GOAL, field="goal", empty_message="Write your goal first.")


def _present(db: Session, room_id: int, user_id: int) -> bool:
    return db.exec(select(RoomMember.id).where(RoomMember.room_id == room_id, RoomMember.user_id == user_id,
                                               col(RoomMember.left_at).is_(None))).first() is not None


def _open_goal(db: Session, room_id: int, user_id: int) -> BlockGoal | None:
    return db.exec(select(BlockGoal).where(BlockGoal.room_id == room_id, BlockGoal.user_id == user_id,
                                           col(BlockGoal.open_key).is_(True))).first()


def set_goal(db: Session, *, room_id: object, user_id: int | None, goal: object) -> GoalLine:
    """Set (or replace) the member's intention for the room's current or next focus block."""
    rid = text.parse_id(room_id)
    room = db.get(Room, rid) if rid else None
    if room is None or not room.is_open or not user_id or not _present(db, room.id, user_id):
        raise ServiceError(NOT_MEMBER)
    clean = clean_goal(goal)
    row = _open_goal(db, room.id, user_id)
    if row is None:
        row = BlockGoal(user_id=user_id, room_id=room.id, room_name=room.name, text=clean)
    row.text = clean
    db.add(row)
    db.flush()
    return GoalLine(user_id, clean)


def room_goals(db: Session, *, room_id: int) -> list[GoalLine]:
    """The open goals of the members present in the room now (what everyone there sees)."""
    present = select(RoomMember.id).where(RoomMember.room_id == BlockGoal.room_id,
                                          RoomMember.user_id == BlockGoal.user_id,
                                          col(RoomMember.left_at).is_(None)).exists()
    rows = db.exec(select(BlockGoal).where(BlockGoal.room_id == room_id, col(BlockGoal.open_key).is_(True), present)
                   .order_by(col(BlockGoal.id))).all()
    return [GoalLine(g.user_id, g.text) for g in rows]  # one open goal per member: the constraint


def close_for_block(db: Session, *, room_id: int, block_seq: int, ended_at: datetime,
                    minutes_by_user: dict[int, float]) -> list[int]:
    """A focus block completed: close the open goals of the members present at its end
    (with their credited minutes) and drop the others'. Returns the users now asked for an
    outcome. Part of the caller's transaction (the phase change's)."""
    asked = []
    for goal in db.exec(select(BlockGoal).where(BlockGoal.room_id == room_id,
                                                col(BlockGoal.open_key).is_(True))).all():
        there = db.exec(select(RoomMember.id).where(
            RoomMember.room_id == room_id, RoomMember.user_id == goal.user_id, RoomMember.joined_at <= ended_at,
            col(RoomMember.left_at).is_(None) | (col(RoomMember.left_at) >= ended_at))).first()
        if there is None:
            db.delete(goal)
            continue
        goal.open_key, goal.block_seq, goal.ended_at = None, block_seq, ended_at
        goal.minutes = round(minutes_by_user.get(goal.user_id, 0))
        db.add(goal)
        asked.append(goal.user_id)
    db.flush()
    return asked


def asked_for(db: Session, *, room_id: int, block_seqs: list[int]) -> list[int]:
    """The users whose goals closed with these blocks of the room and wait for an answer."""
    if not block_seqs:
        return []
    return sorted(set(db.exec(select(BlockGoal.user_id).where(
        BlockGoal.room_id == room_id, col(BlockGoal.block_seq).in_(block_seqs), col(BlockGoal.open_key).is_(None),
        col(BlockGoal.outcome).is_(None))).all()))


def pending(db: Session, *, user_id: int | None, room_id: int | None = None) -> Pending | None:
    """The viewer's latest closed goal without an answer (in one room, if given)."""
    if not user_id:
        return None
    query = select(BlockGoal).where(BlockGoal.user_id == user_id, col(BlockGoal.open_key).is_(None),
                                    col(BlockGoal.outcome).is_(None))
    if room_id is not None:
        query = query.where(BlockGoal.room_id == room_id)
    goal = db.exec(query.order_by(col(BlockGoal.ended_at).desc(), col(BlockGoal.id).desc())).first()
    if goal is None:
        return None
    return Pending(goal.id, goal.room_id or 0, goal.room_name, goal.text, goal.minutes)


def answer(db: Session, *, goal_id: object, user_id: int | None, outcome: object,
           now: datetime | None = None) -> LogEntry:
    """Record how the block went, once, for a goal of the caller's whose block ended."""
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise ServiceError("Choose done, partly or not yet.")
    gid = text.parse_id(goal_id)
    goal = db.get(BlockGoal, gid) if gid else None
    if goal is None or not user_id or goal.user_id != user_id:
        raise ServiceError(NOT_FOUND)
    if goal.open_key or goal.ended_at is None:
        raise ServiceError("This block has not ended yet.")
    if goal.outcome is not None:
        raise ServiceError("You already answered for this block.")
    goal.outcome, goal.answered_at = outcome, now or utcnow()
    db.add(goal)
    db.flush()
    return _entry(goal)


def _entry(goal: BlockGoal) -> LogEntry:
    return LogEntry(goal.id, goal.ended_at, goal.room_name, goal.text, goal.outcome or "", goal.minutes)


def log(db: Session, *, user_id: int, limit: int = MAX_LOG) -> list[LogEntry]:
    """The user's finished blocks with goals, newest first (the export holds them all)."""
    rows = db.exec(select(BlockGoal).where(BlockGoal.user_id == user_id, col(BlockGoal.open_key).is_(None))
                   .order_by(col(BlockGoal.ended_at).desc(), col(BlockGoal.id).desc()).limit(limit)).all()
    return [_entry(g) for g in rows]


def when_label(ended_at: datetime, tz: str) -> str:
    """A block's end in the viewer's time zone, e.g. ``Mon 30 Nov 2026, 14:05``."""
    local = ended_at.astimezone(zone(tz))
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
