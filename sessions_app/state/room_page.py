"""The parts of the room page that ``RoomPageState.load`` fills in its one event.

The page used to run one ``on_load`` event per state (board, goals, reactions, personal tasks,
ambient mix, backgrounds): each its own lock on the tab and on the room, its own caller
lookup, its own transaction and frame. Now the room page's load reads the room's snapshot and
every part's values in ONE transaction under the room's lock (after the caller's entry,
authorized by the service), then each part's plain ``_fill`` sets its states. Registered here,
not in ``state.room``: these modules import ``state.room``.

Order matters only for reading: each ``read`` runs as the caller, after the entry, so the
services' membership checks pass exactly when the entry did.
"""

from __future__ import annotations

from sessions_app.services import ambient, cosmetics, tasks
from sessions_app.state.block_goals import RoomGoals, goals_read
from sessions_app.state.chat import RoomBoard, board_read
from sessions_app.state.mood import AmbientState, RoomBackgroundState
from sessions_app.state.quiet_focus import RoomQuiet, quiet_read
from sessions_app.state.room import PAGE_PARTS, PagePart
from sessions_app.state.tasks import TaskState, task_views


def _shared_part(cls, read) -> PagePart:
    """A part kept in a shared state of the room (linked by its ``_fill``)."""

    async def fill(page, room_id: int, uid: int, value) -> None:
        await (await page.get_state(cls))._fill(room_id, uid, value)

    async def away(page) -> None:
        await (await page.get_state(cls))._away()

    return PagePart(read=read, fill=fill, away=away)


def _own_part(cls, read) -> PagePart:
    """A part private to the tab (the student's own things)."""

    async def fill(page, room_id: int, uid: int, value) -> None:
        (await page.get_state(cls))._fill(value)

    return PagePart(read=read, fill=fill)


def install() -> None:
    """Register the parts (once)."""
    if PAGE_PARTS:
        return
    PAGE_PARTS.extend([
        _shared_part(RoomBoard, board_read),
        _shared_part(RoomGoals, goals_read),
        _shared_part(RoomQuiet, quiet_read),
        _own_part(TaskState, lambda db, room_id, uid: task_views(tasks.personal_tasks(db, user_id=uid))),
        _own_part(AmbientState, lambda db, room_id, uid: ambient.get_mix(db, user_id=uid)),
        _own_part(RoomBackgroundState, lambda db, room_id, uid: cosmetics.wardrobe(db, user_id=uid).level),
    ])


install()
