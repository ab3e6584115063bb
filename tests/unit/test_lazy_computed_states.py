"""``realtime.lazy_states`` and computed vars: a state whose computed vars are cached and read
only its own vars (the lobby, progression, the session form) is made late too, so a room tab's
first frame does not carry them; once made, its computed vars follow its vars as before.
"""

from __future__ import annotations

import asyncio
import uuid

from reflex.istate.manager.token import BaseStateToken
from reflex.state import State

import sessions_app.sessions_app  # noqa: F401 - registers every state of the app (and installs)
from sessions_app.realtime import lazy_states
from sessions_app.state.auth import AuthState
from sessions_app.state.lobby import LobbyState
from sessions_app.state.progression import ProgressionState
from sessions_app.state.scheduled.form import SessionFormState
from tests.support.state_manager import memory_manager


def test_states_with_only_their_own_cached_computed_vars_are_made_late():
    for cls in (LobbyState, ProgressionState, SessionFormState):
        assert cls.computed_vars and lazy_states.made_late(cls), cls.__name__
    # Client storage (the login cookie) still makes a state with the root.
    assert not lazy_states.made_late(AuthState)


def test_an_uncached_or_cross_state_computed_var_keeps_a_state_with_the_root(monkeypatch):
    lazy_states.made_late.cache_clear()
    try:
        monkeypatch.setattr(ProgressionState, "_always_dirty_computed_vars", {"focus_hours_label"})
        assert not lazy_states.made_late(ProgressionState)
        monkeypatch.setattr(ProgressionState, "_always_dirty_computed_vars", set())
        lazy_states.made_late.cache_clear()
        # Another state's computed var reads one of the lobby's vars.
        monkeypatch.setattr(LobbyState, "_potentially_dirty_states",
                            {LobbyState.get_full_name(), AuthState.get_full_name()})
        assert not lazy_states.made_late(LobbyState)
    finally:
        lazy_states.made_late.cache_clear()


def test_a_room_tabs_first_frame_leaves_out_the_pages_it_never_opened():
    async def scenario():
        manager = memory_manager()
        tab = str(uuid.uuid4())
        async with manager.modify_state(BaseStateToken(ident=tab, cls=State)) as root:
            return root.dict()

    frame = asyncio.run(scenario())
    for cls in (LobbyState, ProgressionState, SessionFormState):
        assert cls.get_full_name() not in frame, cls.__name__
    assert AuthState.get_full_name() in frame


def test_a_late_state_sends_its_computed_var_when_its_vars_change():
    async def scenario():
        manager = memory_manager()
        tab = str(uuid.uuid4())
        async with manager.modify_state(BaseStateToken(ident=tab, cls=State)) as root:
            progression = await root.get_state(ProgressionState)
            fresh = progression.focus_hours_label
            progression.focus_hours = 12.5
            delta = await root._get_resolved_delta()
            return fresh, delta

    fresh, delta = asyncio.run(scenario())
    assert fresh == "0.0"  # what the page was compiled with
    sub = delta[ProgressionState.get_full_name()]
    assert any(k.startswith("focus_hours_label") and v == "12.5" for k, v in sub.items()), sub
