"""Broadcasts to a scheduled session's page (``/sessions/<id>``) and its clock.

A change pushes the session's public numbers and a new revision (``live_rev``) to
``channels.session(id)``; each tab then syncs what concerns its own viewer
(``SessionDetailState.sync``). Private data never rides in a broadcast. The list page gets
the new numbers through ``feeds.refresh_list``.
"""

from __future__ import annotations

import time
from datetime import timedelta

from sessions_app import realtime
from sessions_app.db import session_scope
from sessions_app.live import channels, targets
from sessions_app.live.feeds import places_text, refresh_list
from sessions_app.models import StudySession, utcnow
from sessions_app.services import scheduled
from sessions_app.services.errors import ServiceError

# Kinds of change a revision names; "places" alone does not concern people outside the session.
PLACES, EDIT, CANCEL, DELETED, TICK, NOTES = "places", "edit", "cancel", "deleted", "tick", "notes"


def new_rev(kind: str) -> str:
    """A revision string for a change: unique, and naming the kind of change."""
    return f"{time.time_ns()}:{kind}"


def rev_kind(rev: str) -> str:
    """The kind of change a revision names ("" if it names none)."""
    return rev.rsplit(":", 1)[1] if isinstance(rev, str) and ":" in rev else ""


def public_values(session_id: int) -> dict:
    """What everyone may see change on a session's page (nothing about who is in it)."""
    try:
        with session_scope() as db:
            public = scheduled.session_detail(db, session_id=session_id, viewer_id=None)
    except ServiceError:
        return {}
    return {"places_left": -1 if public.places_left is None else public.places_left,
            "places_text": places_text(public.places_left, public.status), "status": public.status,
            "joinable": public.status in ("upcoming", "live")}


async def announce(session_id: int, kind: str, *, rev: str | None = None) -> None:
    """ONE broadcast to everyone on the session's page: its public numbers and a new revision
    (each tab then syncs what concerns its own viewer); the list gets the new numbers too."""
    values = {} if kind == DELETED else public_values(session_id)
    await realtime.push(channels.session(session_id), targets.of(targets.SESSION_PAGE), **values,
                        live_rev=rev or new_rev(kind))
    refresh_list()
    if kind != DELETED:
        schedule_clock(session_id)


def schedule_clock(session_id: int) -> None:
    """Tell the page when the session changes by itself: the chat opening 15 minutes before,
    the start (the live room) and the end (read-only). One timer per session on this worker;
    the revision is the moment itself, so several workers' pushes count once in a browser."""
    with session_scope() as db:
        row = db.get(StudySession, session_id)
        when = None if row is None else scheduled.next_change(row.starts_at, row.ends_at,
                                                              cancelled=row.cancelled_at is not None,
                                                              now=utcnow())
    key = f"session-clock-{session_id}"
    if when is None:
        realtime.cancel(key)
        return
    rev = f"{round(when.timestamp() * 1000)}:{TICK}"

    async def tick() -> None:
        await announce(session_id, TICK, rev=rev)

    # A moment after the boundary, so the reloads already see the new status.
    realtime.schedule(key, when + timedelta(milliseconds=300), tick)


async def chat_closed(session_id: int) -> None:
    """Nobody may read the session's chat any more (cancelled, moved later, deleted)."""
    await realtime.close_channel(channels.session_chat(session_id))


async def left_chat(user_id: int, session_id: int) -> None:
    """The user's right to the session's chat ended: all their sockets leave it."""
    await realtime.leave_user_channels(user_id, channels.session_chat(session_id))


async def announce_departure(departure: scheduled.Departure) -> None:
    """After an account deletion: its hosted sessions are gone, its places freed."""
    for session_id in departure.cancelled:
        await chat_closed(session_id)
        await announce(session_id, DELETED)
    for session_id in departure.left:
        await announce(session_id, PLACES)
