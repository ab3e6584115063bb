"""Input hygiene over the wire: crafted events carrying a lone surrogate, "²" for a number,
year 9999 or a bidi override get a clear message in the form, the form is not left busy, and
the server logs no traceback.

A lone surrogate travels as a JSON ``\\ud800`` escape (python-socketio escapes it exactly as
a browser's ``JSON.stringify`` does) and arrives in the handler as a Python str that cannot be
encoded as UTF-8: it used to crash the database write (and any update echoing it).
"""

from __future__ import annotations

import asyncio
import time

from sqlmodel import Session, select

from sessions_app.db import make_engine
from sessions_app.models import ChatMessage, Room, StudySession
from sessions_app.state.chat import LobbyChatState
from sessions_app.state.lobby import NewRoomState
from sessions_app.state.scheduled import SessionFormState
from tests.support.protocol import ReflexClient, protocol_user, run, settle

CHAT = LobbyChatState.get_full_name()
FORM = SessionFormState.get_full_name()
NEW_ROOM = NewRoomState.get_full_name()
SURROGATE = "\ud800"
REFUSED = "contains characters that cannot be shown"


def stored(database_url: str, model, column) -> list:
    engine = make_engine(database_url)
    with Session(engine) as db:
        values = list(db.exec(select(column)).all())
    engine.dispose()
    return values


async def until(condition, timeout: float = 30.0) -> None:
    """Wait for ``condition()`` to hold (the machine may be busy: no fixed quiet period)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the server's answer"
        await asyncio.sleep(0.05)


def session_form(**overrides) -> dict:
    return {"title": "Hygiene check", "description": "", "link": "", "date": "2027-03-03", "start": "12:00",
            "end": "13:00", "capacity": "6", **overrides}


def test_crafted_events_get_a_message_not_a_crash(app_server):
    url, dburl = app_server.url, app_server.database_url
    app_server.new_log_errors()  # only errors from this test count

    async def scenario() -> None:
        _, token = protocol_user(dburl, "Hygiene Hana")

        # Lobby chat: a message with a lone surrogate is refused with a message.
        lobby = ReflexClient(url, token)
        await lobby.open("/lobby")
        await until(lambda: lobby.values(CHAT, "messages"))  # hydrated
        await settle([lobby])
        await lobby.call(f"{CHAT}.send", form={"body": f"hello {SURROGATE} world"})
        await until(lambda: REFUSED in lobby.last(CHAT, "error", ""))
        lobby.frames.clear()
        await lobby.call(f"{CHAT}.send", form={"body": "still works"})
        # The broadcast and the handler's own answer (the error cleared) are two frames.
        await until(lambda: lobby.values(CHAT, "chat_event") and lobby.last(CHAT, "error") == "")
        bodies = stored(dburl, ChatMessage, ChatMessage.body)
        assert "still works" in bodies and not any(SURROGATE in b for b in bodies)

        # Planning a session: every bad field gets its message and the form ends not busy.
        form = ReflexClient(url, token)
        await form.open("/sessions/new")
        await until(lambda: form.values(FORM, "busy"))  # hydrated
        await settle([form])
        for fields, message in [
            ({"title": f"Hygiene {SURROGATE}"}, REFUSED),
            ({"capacity": "²"}, "Places must be a whole number"),
            ({"date": "9999-12-31"}, "at most two years ahead"),
            ({"description": "ok", "link": f"https://example.com/{SURROGATE}"}, REFUSED),
        ]:
            form.frames.clear()
            await form.call(f"{FORM}.submit", form=session_form(**fields))
            await until(lambda: form.values(FORM, "busy")[-2:] == [True, False])  # busy, then not
            assert message in form.last(FORM, "form_error", ""), fields
        assert not any(t.startswith("Hygiene") for t in stored(dburl, StudySession, StudySession.title))

        # A room name with a right-to-left override, which chat has always refused.
        rooms_form = ReflexClient(url, token)
        await rooms_form.open("/rooms/new")
        await until(lambda: rooms_form.values(NEW_ROOM, "error"))  # hydrated
        await settle([rooms_form])
        rooms_form.frames.clear()
        await rooms_form.call(f"{NEW_ROOM}.create", form={"name": "\u202eevil", "discipline": "Physics"})
        await rooms_form.call(f"{NEW_ROOM}.create", form="not a form")
        await until(lambda: len(rooms_form.values(NEW_ROOM, "error")) >= 2)
        assert REFUSED in rooms_form.values(NEW_ROOM, "error")[-2]
        assert rooms_form.last(NEW_ROOM, "error") == "Give the room a name."
        assert not any("evil" in name for name in stored(dburl, Room, Room.name))

        for client in (lobby, form, rooms_form):
            await client.close()

    run(scenario())
    assert app_server.new_log_errors() == []
