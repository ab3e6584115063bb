"""The parts of the room page that ``RoomPageState.load`` fills in its one event.

The page used to run one ``on_load`` event per state (board, goals, reactions, personal tasks,
ambient mix, backgrounds): each its own lock on the tab and on the room, its own caller
lookup, its own transaction and frame. Now the room page's load reads the room's snapshot and
every part's values in ONE read-only transaction before taking the room's lock (after the
caller's entry, authorized by the service), then each part's plain ``_fill`` sets its states.
Where the room's stores are filled, a shared part reads only the user's own values
(``warm_read``). Registered here, not in ``state.room``: these modules import ``state.room``.

Order matters only for reading: each ``read`` runs as the caller, after the entry, so the
services' membership checks pass exactly when the entry did.
"""

from __future__ import annotations

from sessions_app.live.chat import message_views
from sessions_app.live.rooms import shared_key
from sessions_app.services import ambient, chat, cosmetics, reactions, tasks
from sessions_app.state.block_goals import RoomGoals, goals_read
from sessions_app.state.chat import RoomBoard, board_read
from sessions_app.state.mood import AmbientState, RoomBackgroundState
from sessions_app.state.quiet_focus import RoomQuiet, quiet_read
from sessions_app.state.room import PAGE_PARTS, PagePart
from sessions_app.state.tasks import TaskState, task_views


def _shared_part(cls, read, warm_read=None) -> PagePart:
    """A part kept in a shared state of the room (linked by its ``_fill``). ``warm_read``:
    the user's own values only, where the store holds the room's (its ``_fill`` then keeps
    the store's and never reads the room-wide ones, which are None)."""

    async def fill(page, room_id: int, uid: int, value) -> None:
        await (await page.get_state(cls))._fill(room_id, uid, value)

    async def away(page) -> None:
        await (await page.get_state(cls))._away()

    async def holds(page, room_id: int) -> bool:
        # Linking again in ``_fill`` is free (``_link_to`` returns the linked instance).
        return (await (await page.get_state(cls))._link_to(shared_key(room_id))).room_id == room_id

    return PagePart(read=read, fill=fill, away=away, warm_read=warm_read, holds=holds)


def _board_own(db, room_id: int, uid: int):
    """The board without the room's tasks (the store has them): the chat tail, which is read
    per load (posts reach tabs as broadcasts, the store's copy is the last load's)."""
    tail = chat.tail(db, chat.room_channel(room_id), chat.PAGE, user_id=uid)
    return tail.seq, message_views(tail.messages), None


def _quiet_own(db, room_id: int, uid: int):
    """This user's own reactions on the tail (the switch and the counts are the store's)."""
    ids = reactions.tail_ids(db, chat.room_channel(room_id))
    return None, None, reactions.mine(db, user_id=uid, message_ids=ids)


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
        _shared_part(RoomBoard, board_read, _board_own),
        _shared_part(RoomGoals, goals_read),  # its fill needs the read's order of the goals
        _shared_part(RoomQuiet, quiet_read, _quiet_own),
        _own_part(TaskState, lambda db, room_id, uid: task_views(tasks.personal_tasks(db, user_id=uid))),
        _own_part(AmbientState, lambda db, room_id, uid: ambient.get_mix(db, user_id=uid)),
        _own_part(RoomBackgroundState, lambda db, room_id, uid: cosmetics.wardrobe(db, user_id=uid).level),
    ])


install()
