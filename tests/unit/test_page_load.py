"""``state.page_load``: a page's load steps (its handlers and the leave-when-away hooks) run as
ONE server event, in order, each against its own state; frontend events pass through; a
returned backend handler (the clock's ``begin``) runs inside the same event; a failing step
does not stop the others. (The protocol side is in ``tests/e2e/test_page_load.py``.)"""

from __future__ import annotations

import asyncio

import pytest
import reflex as rx
from reflex.event import EventHandler

import sessions_app.sessions_app  # noqa: F401 - registers every page
from sessions_app import routes
from sessions_app.state import page_load
from sessions_app.state.call import CallState
from sessions_app.state.clock import ClockState
from sessions_app.state.lobby import LobbyState
from sessions_app.state.room import RoomPageState
from sessions_app.state.scheduled import SessionDetailState


def _names(steps) -> list[str]:
    return [getattr(getattr(s, "fn", None), "__qualname__", "frontend event") for s in steps]


def test_the_room_page_and_the_lobby_each_load_in_one_event_with_their_away_hooks():
    room = page_load._STEPS[routes.ROOM]
    assert _names(room) == ["SessionDetailState.leave_if_away", "RoomPageState.load", "frontend event"]
    lobby = _names(page_load._STEPS[routes.LOBBY])
    assert lobby[:3] == ["RoomPageState.leave_if_away", "SessionDetailState.leave_if_away", "CallState.leave_if_away"]
    assert "LobbyState.load" in lobby and "TaskState.load" in lobby
    assert {routes.PROFILE, routes.SETTINGS} <= set(page_load._STEPS)


def test_steps_with_arguments_or_background_handlers_are_refused():
    with pytest.raises(ValueError, match="own event"):
        page_load.register("/x", [RoomPageState.set_sound(True)])
    with pytest.raises(ValueError, match="event handlers or event specs"):
        page_load.register("/x", [lambda: None])


class _Tab:
    """A stand-in for the tab's state tree: ``get_state`` hands out one object per class."""

    _step = page_load.PageLoad._step

    def __init__(self, states: dict) -> None:
        self.states = states

    async def get_state(self, cls):
        return self.states[cls]


def test_steps_run_in_order_frontend_events_pass_and_a_returned_handler_runs_inline(monkeypatch):
    ran = []

    async def leave(self):
        ran.append(("leave", self))

    async def load(self):
        ran.append(("load", self))
        return [ClockState.begin, rx.redirect("/somewhere")]

    def boom(self):
        raise RuntimeError("a broken step")

    def begin(self):
        ran.append(("begin", self))
        return rx.call_script("Date.now()")

    handlers = {
        "leave": EventHandler(fn=leave, state=SessionDetailState),
        "boom": EventHandler(fn=boom, state=CallState),
        "load": EventHandler(fn=load, state=LobbyState),
    }
    monkeypatch.setattr(ClockState, "begin", EventHandler(fn=begin, state=ClockState))
    tab = _Tab({SessionDetailState: "detail", CallState: "call", LobbyState: "lobby", ClockState: "clock"})
    script = rx.call_script("x")

    async def run() -> list:
        out = []
        for step in (handlers["leave"], handlers["boom"], handlers["load"], script):
            out += await tab._step(step, 0)
        return out

    events = asyncio.run(run())
    assert ran == [("leave", "detail"), ("load", "lobby"), ("begin", "clock")]
    # What goes back to Reflex: the clock's script, the redirect, then the page's own script.
    assert [e.handler.fn.__qualname__ for e in events] == ["_call_script", "_redirect", "_call_script"]
