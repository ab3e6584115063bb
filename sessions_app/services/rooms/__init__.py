"""Live rooms, by concern: who is in them (``membership``), their timer (``timing``), and
what pages show of them (``views``: the room snapshot with its timer, the lobby's cards).
Callers use the names re-exported here."""

from sessions_app.services.rooms.membership import (
    CODE_ALPHABET,
    CODE_LENGTH,
    DISCIPLINES,
    LIMITS,
    MAX_NAME,
    LeaveResult,
    Member,
    admitted_by_session,
    close_room,
    create_room,
    enter,
    get_open_room,
    has_access,
    is_member,
    join_by_code,
    leave,
    members,
    new_code,
    normalize_code,
    open_stint,
    room_for_code,
    rooms_of_user,
)
from sessions_app.services.rooms.timing import (
    TIMER_ACTIONS,
    Advance,
    advance_due,
    catch_up_limit,
    control_timer,
    due_rooms,
    timer_config,
    timer_of,
)
from sessions_app.services.rooms.views import (
    Entry,
    RoomCard,
    RoomSnapshot,
    TimerView,
    enter_room,
    lobby_rooms,
    room_snapshot,
    running_anchor,
    snapshot,
    timer_view,
    to_ms,
)

__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "DISCIPLINES", "LIMITS", "MAX_NAME", "TIMER_ACTIONS",
    "Advance", "Entry", "LeaveResult", "Member", "RoomCard", "RoomSnapshot", "TimerView",
    "admitted_by_session", "advance_due", "catch_up_limit", "close_room", "control_timer", "create_room",
    "due_rooms", "enter", "enter_room", "get_open_room", "has_access", "is_member", "join_by_code", "leave",
    "lobby_rooms", "members", "new_code", "normalize_code", "open_stint", "room_for_code", "room_snapshot",
    "rooms_of_user", "running_anchor", "snapshot", "timer_config", "timer_of", "timer_view", "to_ms",
]
