"""Scheduled sessions in the browser: what the list, form and detail states share.

Change kinds and revisions, the viewer's zone, the places text and the display views.
"""

from __future__ import annotations

import dataclasses
import re
import time

from sessions_app.db import session_scope
from sessions_app.live import channels
from sessions_app.services import scheduled
from sessions_app.services.errors import ServiceError

BROWSER_TZ_SCRIPT = "Intl.DateTimeFormat().resolvedOptions().timeZone"
_SESSION_PATH_RE = re.compile(r"/sessions/(\d{1,12})(?:/edit)?/?$")
# Kinds of change a revision names; "places" alone does not concern people outside the session.
PLACES, EDIT, CANCEL, DELETED, TICK, NOTES = "places", "edit", "cancel", "deleted", "tick", "notes"
DELETED_MESSAGE = "The host deleted their account, so this session was cancelled."
EDITED_MESSAGE = "The host just changed this session. Check the time and the details."
PROMOTED_MESSAGE = "A place freed up: you're in now. See you there!"


# Kept for callers that name the page channel the old way; ``channels.session`` is the one.
public_channel = channels.session


def new_rev(kind: str) -> str:
    """A revision string for a change: unique, and naming the kind of change."""
    return f"{time.time_ns()}:{kind}"


def rev_kind(rev: str) -> str:
    """The kind of change a revision names ("" if it names none)."""
    return rev.rsplit(":", 1)[1] if isinstance(rev, str) and ":" in rev else ""


def session_id_from_path(path: str) -> int | None:
    """The id in ``/sessions/<id>`` or ``/sessions/<id>/edit`` (None when there is none)."""
    match = _SESSION_PATH_RE.search(path or "")
    return int(match.group(1)) if match else None


def valid_zone(tz: object) -> str | None:
    """``tz`` if it is a known IANA zone name, else None."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        return None
    return tz if scheduled.zone_or_utc(tz).key == tz else None


def places_text(places_left: int | None, status: str) -> str:
    """"3 places left", "Full · waitlist open", "Unlimited places"."""
    if status == "cancelled":
        return "Cancelled"
    if places_left is None:
        return "Unlimited places"
    if places_left == 0:
        return "Full · waitlist open" if status in ("upcoming", "live") else "Full"
    return f"{places_left} place{'s' if places_left != 1 else ''} left"


@dataclasses.dataclass
class ParticipantView:
    """A participant as other participants see them."""

    user_id: int = 0
    display_name: str = ""
    avatar_url: str = ""
    is_creator: bool = False


@dataclasses.dataclass
class NoteView:
    """A note on the session page."""

    id: int = 0
    author_name: str = ""
    body: str = ""
    is_public: bool = False
    mine: bool = False


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
