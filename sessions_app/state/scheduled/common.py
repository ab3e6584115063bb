"""Scheduled sessions in the browser: what the list, form and detail states share.

Change kinds and revisions, the viewer's zone, the places text and the display views.
"""

from __future__ import annotations

import dataclasses
import re

from sessions_app.live import channels
from sessions_app.live.feeds import places_text  # noqa: F401 - display text shared with the feeds
from sessions_app.live.session_page import (  # noqa: F401 - the change kinds, spelled in live
    CANCEL,
    DELETED,
    EDIT,
    NOTES,
    PLACES,
    TICK,
    new_rev,
    public_values,
    rev_kind,
)
from sessions_app.services import scheduled

BROWSER_TZ_SCRIPT = "Intl.DateTimeFormat().resolvedOptions().timeZone"
_SESSION_PATH_RE = re.compile(r"/sessions/(\d{1,12})(?:/edit)?/?$")
DELETED_MESSAGE = "The host deleted their account, so this session was cancelled."
EDITED_MESSAGE = "The host just changed this session. Check the time and the details."
PROMOTED_MESSAGE = "A place freed up: you're in now. See you there!"
# What the creator reads on the session's page right after the form (``?saved=`` on the way back).
SAVED_MESSAGES = {"new": "Your session is planned. Share this page to invite people.",
                  "edit": "Changes saved. Everyone who joined sees them."}


# Kept for callers that name the page channel the old way; ``channels.session`` is the one.
public_channel = channels.session




def session_id_from_path(path: str) -> int | None:
    """The id in ``/sessions/<id>`` or ``/sessions/<id>/edit`` (None when there is none)."""
    match = _SESSION_PATH_RE.search(path or "")
    return int(match.group(1)) if match else None


def valid_zone(tz: object) -> str | None:
    """``tz`` if it is a known IANA zone name, else None."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        return None
    return tz if scheduled.zone_or_utc(tz).key == tz else None



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
