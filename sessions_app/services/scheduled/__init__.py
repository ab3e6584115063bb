"""Scheduled learning sessions: plan, edit, cancel, list, join/leave with a waitlist, notes.

One package, split by concern: ``rules`` (limits and pure rules), ``validation`` (the one
input model ``SessionForm``), ``places`` (the lock, places, the waitlist, departure),
``editing`` (plan / edit / cancel), ``reading`` (list, detail, standing, chat access),
``notes`` and ``live_room``. Callers use the names re-exported here
(``scheduled.join_session``).

Rules the product depends on, all enforced here (the state layer only forwards):

* Times arrive as the creator's local date and clock times and are stored in UTC.
* The creator hosts: they see everything participants see but take none of the places
  (a session with 5 places is the host plus 5 people).
* Capacity is never exceeded: the capacity check and the insert run in one transaction that
  first takes a write lock on the session (``FOR UPDATE`` on PostgreSQL, the database write
  lock on SQLite), and a unique (session, user) pair refuses double sign-ups.
* A full session puts newcomers on a waitlist; a freed place goes to the first in line.
* Privacy: outsiders get the public shape (title, time, description, places left); names, the
  meeting link and the chat belong to participants (people holding a place) only.
"""

from sessions_app.services.scheduled.editing import (
    cancel_session,
    create_session,
    form_values,
    update_session,
)
from sessions_app.services.scheduled.live_room import LiveRoom, open_live_room
from sessions_app.services.scheduled.notes import delete_note, save_note
from sessions_app.services.scheduled.places import (
    Departure,
    join_session,
    leave_session,
    public_places,
    release_user,
)
from sessions_app.services.scheduled.reading import (
    chat_access,
    list_sessions,
    session_detail,
    standing,
)
from sessions_app.services.scheduled.rules import (
    CHAT_OPENS_BEFORE,
    CREATE_RATE_LIMIT,
    LIVE_ROOM_DISCIPLINE,
    LIVE_ROOM_NAME_MAX,
    MAX_AHEAD,
    MAX_CAPACITY,
    MAX_DESCRIPTION,
    MAX_LENGTH,
    MAX_LINK,
    MAX_NOTE,
    MAX_SEARCH,
    MAX_TITLE,
    NOT_FOUND,
    PAST_TOLERANCE,
    chat_channel,
    chat_open,
    chat_readable,
    format_time_range,
    live_room_name,
    local_to_utc,
    next_change,
    past_floor,
    status_of,
    zone_or_utc,
)
from sessions_app.services.scheduled.shapes import (
    ChatAccess,
    CleanSession,
    JoinResult,
    NotePublic,
    ParticipantPublic,
    SessionDetail,
    SessionListing,
    SessionSummary,
)
from sessions_app.services.scheduled.validation import (
    FormValues,
    SessionForm,
    check_session_fields,
    clean_capacity,
    clean_description,
    clean_meeting_link,
    clean_timezone,
    clean_title,
)

__all__ = [
    "CHAT_OPENS_BEFORE", "CREATE_RATE_LIMIT", "LIVE_ROOM_DISCIPLINE", "LIVE_ROOM_NAME_MAX", "MAX_AHEAD",
    "MAX_CAPACITY", "MAX_DESCRIPTION", "MAX_LENGTH", "MAX_LINK", "MAX_NOTE", "MAX_SEARCH", "MAX_TITLE",
    "NOT_FOUND", "PAST_TOLERANCE",
    "ChatAccess", "CleanSession", "Departure", "FormValues", "JoinResult", "LiveRoom", "NotePublic",
    "ParticipantPublic", "SessionDetail", "SessionForm", "SessionListing", "SessionSummary",
    "cancel_session", "chat_access", "chat_channel", "chat_open", "chat_readable", "check_session_fields",
    "clean_capacity", "clean_description", "clean_meeting_link", "clean_timezone", "clean_title",
    "create_session", "delete_note", "form_values", "format_time_range", "join_session", "leave_session",
    "list_sessions", "live_room_name", "local_to_utc", "next_change", "open_live_room", "past_floor",
    "public_places", "release_user", "save_note", "session_detail", "standing", "status_of",
    "update_session", "zone_or_utc",
]
