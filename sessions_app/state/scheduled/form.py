"""``/sessions/new`` and ``/sessions/[id]/edit``: the plan / edit form."""

from __future__ import annotations

from datetime import timedelta

import reflex as rx

from sessions_app import realtime, routes
from sessions_app.live import channels
from sessions_app.live.session_page import announce
from sessions_app.models import utcnow
from sessions_app.services import scheduled, text
from sessions_app.state.auth import AuthState
from sessions_app.state.base import REFUSED, Handler, in_db
from sessions_app.state.scheduled.common import (
    EDIT,
    session_id_from_path,
    valid_zone,
)

# The session form's fields and how much of each a keystroke event may store.
FORM_FIELD_CAPS = {"title": 400, "description": 3000, "link": 1000, "date": 20, "start": 20, "end": 20,
                   "capacity": 20}
_FORM_FIELDS = tuple(FORM_FIELD_CAPS)


def _save(db, *, editing_id: int, user_id: int, fields: dict) -> tuple[int, bool]:
    """Create or update the session; its id and whether its chat is still readable now."""
    if editing_id:
        saved = scheduled.update_session(db, session_id=editing_id, user_id=user_id, **fields)
    else:
        saved = scheduled.create_session(db, creator_id=user_id, **fields)
    return saved.id, scheduled.chat_readable(saved, utcnow())


class SessionFormState(Handler, rx.State):
    """``/sessions/new`` and ``/sessions/[id]/edit``: the plan/edit form."""

    editing_id: int = 0
    title: str = ""
    description: str = ""
    link: str = ""
    date: str = ""
    start: str = ""
    end: str = ""
    capacity: str = ""
    tz: str = "UTC"
    form_error: str = ""
    error_field: str = ""
    busy: bool = False
    # The edit form was refused (not the creator, ended, unknown): show the error, not the form.
    blocked: bool = False

    def _refused(self, err, errors) -> None:
        """A refusal names the field it is about: both go to the form (``Handler._attempt``)."""
        self.form_error = err.message
        self.error_field = err.field or ""

    @rx.var
    def is_edit(self) -> bool:
        """Whether the form edits an existing session."""
        return self.editing_id > 0

    def _clear(self) -> None:
        self.editing_id = 0
        self.title = self.description = self.link = self.capacity = ""
        self.date = self.start = self.end = ""
        self.form_error = self.error_field = ""
        self.busy = self.blocked = False

    def _default_times(self) -> None:
        """Suggest the next full hour, for an hour (tomorrow at noon if that runs past midnight)."""
        zone = scheduled.zone_or_utc(self.tz)
        local_now = utcnow().astimezone(zone)
        start = (local_now + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
        if start.hour >= 23 or start.date() != local_now.date():
            start = (local_now + timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
        self.date, self.start, self.end = start.date().isoformat(), f"{start:%H:%M}", f"{start.hour + 1:02d}:00"

    async def _prefill(self, uid: int) -> bool:
        """Load the session being edited in the form's zone; False (the error shown in
        ``form_error``) if not allowed."""
        values = await self._attempt(in_db, scheduled.form_values, session_id=self.editing_id, user_id=uid,
                                     tz_name=self.tz, errors=(self, "form_error"))
        if values is REFUSED:
            return False
        self.title, self.description, self.link = values.title, values.description, values.meeting_link
        self.date, self.start, self.end, self.capacity = values.date, values.start, values.end, values.capacity
        return True

    async def _start(self, auth: AuthState) -> None:
        self.tz = valid_zone(auth.timezone) or "UTC"  # the account's zone (``scheduled`` doc)

    @rx.event
    async def load_new(self):
        """on_load of /sessions/new."""
        if await self._caller_id(view=True) is None:
            return rx.redirect(routes.login_then(routes.SESSION_NEW))
        self._clear()
        await self._start(await self.get_state(AuthState))
        self._default_times()

    @rx.event
    async def load_edit(self):
        """on_load of /sessions/[id]/edit: only the creator gets the form."""
        uid = await self._caller_id(view=True)
        path = self.router.url.path
        if uid is None:
            return rx.redirect(routes.login_then(path or routes.SESSIONS))
        self._clear()
        await self._start(await self.get_state(AuthState))
        session_id = session_id_from_path(path)
        if session_id is None:
            return rx.redirect(routes.SESSIONS)
        self.editing_id = session_id
        if not await self._prefill(uid):
            self.blocked = True

    @rx.event
    def set_field(self, name: str, value: str):
        """Typing in one of the form's fields. Lengths are only capped here (a client may send
        anything); the service validates every field on submit."""
        cap = FORM_FIELD_CAPS.get(name) if isinstance(name, str) else None
        if cap is not None:
            setattr(self, name, text.draft(value, cap))

    @rx.event
    async def submit(self, form: dict):
        """Create or save the session; on success open its page."""
        uid = await self._caller_id()
        if uid is None:
            yield rx.redirect(routes.login_then(self.router.url.path or routes.SESSIONS))
            return
        self.busy = True
        yield
        form = form if isinstance(form, dict) else {}
        # The form's own values are the truth (a debounced keystroke may not have arrived yet).
        # The service judges them as sent; the vars keep a copy that can travel back to the
        # browser (``text.draft``), so a refusal always reaches the form.
        sent = {name: form[name][:3000] if isinstance(form.get(name), str) else getattr(self, name)
                for name in _FORM_FIELDS}
        for name, value in sent.items():
            setattr(self, name, text.draft(value, 3000))
        self.form_error = self.error_field = ""
        fields = dict(title=sent["title"], description=sent["description"], meeting_link=sent["link"],
                      date=sent["date"], start=sent["start"], end=sent["end"], capacity=sent["capacity"],
                      timezone=self.tz)
        editing = bool(self.editing_id)
        saved = await self._attempt(in_db, _save, editing_id=self.editing_id, user_id=uid, fields=fields)
        if saved is REFUSED:
            self.busy = False
            return
        saved_id, chat_still_open = saved
        self._clear()
        if editing:
            if not chat_still_open:  # moved later: nobody may read the chat until it opens again
                await realtime.close_channel(channels.session_chat(saved_id))
            await announce(saved_id, EDIT)
        yield rx.redirect(f"{routes.session(saved_id)}?saved={'edit' if editing else 'new'}")
