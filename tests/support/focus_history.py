"""A factory for focus history: finished focus blocks credited the way the timer credits them.

``add_focus_blocks(db, user_id, ends)`` opens a bare room, records the student as present and
credits one block per end time through ``progression.credit_block`` — so each credit carries
the local day and minute exactly as in production. For unit tests (a temporary database) and
end-to-end tests (``app_db`` on the running app's database).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session

from sessions_app.models import RoomMember
from sessions_app.services import progression
from tests.support.factories import make_room


def add_focus_blocks(db: Session, user_id: int, ends: Iterable[datetime], *, minutes: float = 25) -> int:
    """Credit ``user_id`` one full block of ``minutes`` ending at each time in ``ends``
    (timezone-aware); returns how many were credited."""
    ends = sorted(ends)
    if not ends:
        return 0
    length = timedelta(minutes=minutes)
    room = make_room(db, name="Focus history")
    db.add(RoomMember(room_id=room.id, user_id=user_id, joined_at=ends[0] - length, left_at=ends[-1]))
    db.flush()
    credited = 0
    for seq, end in enumerate(ends, start=1):
        credited += len(progression.credit_block(db, room_id=room.id, phase_seq=seq, block_start=end - length,
                                                 block_end=end, block_minutes=minutes))
    return credited
