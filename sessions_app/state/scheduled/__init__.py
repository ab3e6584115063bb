"""Scheduled sessions in the browser: the list, the plan/edit form and the detail page.

One state module per page: ``listing`` (``/sessions``), ``form`` (new / edit) and ``detail``
(``/sessions/[id]`` and the broadcasts to it); ``common`` holds what they share.

Thin adapters over ``services.scheduled`` and ``services.calendar``: every handler resolves the
caller from the login cookie on the server and lets the service decide. Vars are sent to the
browser, so they hold only the shape the service returns for *this* viewer (participants'
names and the meeting link are empty for anyone not holding a place).

Times are shown in the viewer's zone: a logged-in viewer's account zone (Settings; the
browser's at sign-up), as the chat, streak days and the block log use it; a visitor's
browser zone (read once per page via ``Intl.DateTimeFormat``), else UTC.

Live updates, one broadcast per change (docs/architecture.md "Real time"):

* ``/sessions`` joins the ``sessions`` channel; after a join, leave, edit or cancel anywhere,
  one coalesced push replaces ``SessionsListState.live_places`` (session id → "3 places
  left"): public numbers only.
* ``/sessions/[id]`` joins ``session-<id>``. A change pushes the session's public numbers
  (places left, status) and a new ``live_rev`` to everyone on the page; the page's
  ``on_change`` component hands that revision back to ``SessionDetailState.sync`` in each
  tab, which reloads *that viewer's* shape from the DB when it may have changed for them
  (participants, the waitlist, edits, cancels, the clock passing the start or end). Private
  data never rides in a broadcast.
* The chat goes to ``session-<id>-chat``, which only authorized tabs join
  (``state.session_chat``).

Everything that reaches other browsers (the page and list broadcasts, the session clock)
lives in ``live.session_page`` and ``live.feeds``; the names are re-exported here.
"""

from sessions_app.live.session_page import announce, announce_departure, schedule_clock
from sessions_app.state.scheduled.common import (
    CANCEL,
    DELETED,
    EDIT,
    NOTES,
    PLACES,
    TICK,
    NoteView,
    ParticipantView,
    new_rev,
    places_text,
    public_channel,
    public_values,
    rev_kind,
    session_id_from_path,
    valid_zone,
)
from sessions_app.state.scheduled.detail import SessionDetailState
from sessions_app.state.scheduled.form import SessionFormState
from sessions_app.state.scheduled.listing import (
    SessionCardView,
    SessionsListState,
    live_places,
    refresh_list,
)

__all__ = [
    "CANCEL", "DELETED", "EDIT", "NOTES", "PLACES", "TICK", "NoteView", "ParticipantView", "SessionCardView",
    "SessionDetailState", "SessionFormState", "SessionsListState", "announce", "announce_departure",
    "live_places", "new_rev", "places_text", "public_channel", "public_values", "refresh_list", "rev_kind",
    "schedule_clock", "session_id_from_path", "valid_zone",
]
