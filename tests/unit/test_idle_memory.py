"""Idle memory per connected tab: what a lobby tab no longer holds.

* Lobby tabs that load the same chat tail / room cards share ONE list (``state.lobby_shared``),
  and a new message still reaches a fresh load.
* A leave-when-away hook does not make its state for a tab that never had it
  (``realtime.never_made``), and still leaves for a tab that did.
* A tab's socket goes straight to socket.io, HTTP keeps Reflex's stack (``realtime.socket_path``).
* ``reflex.model`` (Alembic, Mako, Pygments) is imported with the app, not by a worker's first
  form post (``realtime.preload``).
"""

from __future__ import annotations

import asyncio
import sys
import uuid

import pytest
import socketio
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.state import State

import sessions_app.sessions_app as app_module
from sessions_app import realtime, routes
from sessions_app.live.chat import message_views
from sessions_app.live.feeds import RoomCardView
from sessions_app.realtime import lazy_states, socket_path
from sessions_app.services import chat
from sessions_app.state import lobby as lobby_state
from sessions_app.state import lobby_chat, lobby_shared, page_load
from sessions_app.state.auth import AuthState
from sessions_app.state.call import CallState
from sessions_app.state.lobby import LobbyState
from sessions_app.state.lobby_chat import LobbyChatState
from sessions_app.state.room import RoomPageState
from sessions_app.state.scheduled import SessionDetailState
from tests.support.factories import make_user
from tests.support.state_manager import memory_manager


@pytest.fixture(autouse=True)
def _fresh_copies():
    lobby_shared.forget()
    yield
    lobby_shared.forget()


# --- one copy of the lobby's tail and cards --------------------------------------------------------


def test_equal_reads_share_one_object_and_a_different_read_replaces_it():
    first = [RoomCardView(1, "Maths", count=2)]
    assert lobby_shared.one_copy("cards", first) is first
    again = [RoomCardView(1, "Maths", count=2)]
    assert lobby_shared.one_copy("cards", again) is first  # equal: the held one
    changed = [RoomCardView(1, "Maths", count=3)]
    assert lobby_shared.one_copy("cards", changed) is changed  # differs: the new one is held
    assert lobby_shared.one_copy("cards", [RoomCardView(1, "Maths", count=3)]) is changed
    assert first == [RoomCardView(1, "Maths", count=2)]  # a tab holding the old list keeps it
    assert lobby_shared.one_copy("other", []) == [] and lobby_shared.one_copy("cards", ()) == ()


def test_tabs_loading_the_same_tail_share_it_and_a_new_message_reaches_the_next_load(db, settings_env):
    settings_env(CHAT_RATE_LIMIT="1000/second")
    ada, bo = make_user(db, "Ada").id, make_user(db, "Bo").id
    for i in range(5):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}")

    def load(uid: int):
        return lobby_shared.one_copy("lobby-tail", message_views(chat.recent(db, chat.LOBBY, user_id=uid)))

    tab1, tab2 = load(ada), load(bo)
    assert tab1 is tab2 and [m.body for m in tab1] == ["m0", "m1", "m2", "m3", "m4"]
    chat.post(db, channel=chat.LOBBY, user_id=bo, body="new")
    tab3 = load(ada)
    assert tab3 is not tab1 and [m.body for m in tab3][-2:] == ["m4", "new"]
    assert tab3 == message_views(chat.recent(db, chat.LOBBY, user_id=bo))  # what a fresh load shows
    assert [m.body for m in tab1][-1] == "m4"  # nobody changed the list the first tabs hold


def _lobby_tab(manager: StateManagerMemory, cls):
    async def make():
        token = str(uuid.uuid4())
        async with manager.modify_state(BaseStateToken(ident=token, cls=cls)) as root:
            return await root.get_state(cls)
    return make()


def test_the_lobby_loads_hand_every_tab_the_same_tail_and_cards(monkeypatch):
    """The handlers themselves: two tabs' loads read equal values (fresh objects each time,
    as the database gives them) and keep one list between them."""
    reads = {"tail": 0, "cards": 0}

    def tail_views(channel, uid):
        reads["tail"] += 1
        return 7, [lobby_chat.MessageView(id=1, body="hi")]

    def cards():
        reads["cards"] += 1
        return [RoomCardView(3, "Focus", "Maths", 2)]

    async def caller(self, *, view=False):
        return 42

    async def join(sid, channel):
        return None

    monkeypatch.setattr(lobby_chat, "tail_views", tail_views)
    monkeypatch.setattr(lobby_state, "_cards", cards)
    monkeypatch.setattr(LobbyChatState, "_caller_id", caller)
    monkeypatch.setattr(LobbyState, "_caller_id", caller)
    monkeypatch.setattr(realtime, "join", join)

    async def scenario():
        manager = memory_manager()
        chats = [await _lobby_tab(manager, LobbyChatState) for _ in range(2)]
        lobbies = [await _lobby_tab(manager, LobbyState) for _ in range(2)]
        for c in chats:
            await LobbyChatState.load.fn(c)
        for lobby in lobbies:
            await LobbyState.load.fn(lobby)
        return chats, lobbies

    chats, lobbies = asyncio.run(scenario())
    assert reads == {"tail": 2, "cards": 2}  # each load still reads the database
    assert chats[0].__dict__["messages"] is chats[1].__dict__["messages"]
    assert chats[0].feed_seq == 7 and [m.body for m in chats[0].messages] == ["hi"]
    assert "messages" in chats[1].dirty_vars  # still sent to the tab
    assert lobbies[0].__dict__["rooms"] is lobbies[1].__dict__["rooms"]
    assert [c.name for c in lobbies[1].rooms] == ["Focus"]


# --- leave-when-away hooks on states the tab never made ----------------------------------------------


def test_the_lobby_away_hooks_are_marked_idle_at_defaults():
    lobby_steps = page_load._STEPS[routes.LOBBY]
    hooks = [page_load._backend(s) for s in lobby_steps[:3]]
    assert [h.fn.__qualname__ for h in hooks] == ["RoomPageState.leave_if_away",
                                                  "SessionDetailState.leave_if_away", "CallState.leave_if_away"]
    assert all(h in page_load._IDLE_AT_DEFAULTS for h in hooks)
    assert page_load._backend(lobby_steps[3]) not in page_load._IDLE_AT_DEFAULTS  # the page's own load


def test_an_away_hook_makes_no_state_for_a_new_tab_and_still_leaves_for_a_tab_in_a_room(monkeypatch):
    left = []

    async def leave_current(self):
        left.append(self._room_id)
        self._room_id = 0

    monkeypatch.setattr(RoomPageState, "_leave_current", leave_current)
    hooks = [h for h in page_load._STEPS[routes.LOBBY][:3]]

    async def run_hooks(manager, token):
        async with manager.modify_state(BaseStateToken(ident=token, cls=page_load.PageLoad)) as root:
            loader = await root.get_state(page_load.PageLoad)
            for step in hooks:
                assert await loader._step(step, 0) == []
            return set(root.substates)

    async def scenario():
        manager = memory_manager()
        new_tab, roomer = str(uuid.uuid4()), str(uuid.uuid4())
        made_new = await run_hooks(manager, new_tab)
        async with manager.modify_state(BaseStateToken(ident=roomer, cls=RoomPageState)) as root:
            (await root.get_state(RoomPageState))._room_id = 12  # it entered room 12
        await run_hooks(manager, roomer)
        return made_new

    made_new = asyncio.run(scenario())
    for cls in (RoomPageState, SessionDetailState, CallState):
        assert cls.get_name() not in made_new
    assert left == [12]  # the tab in a room left it


def test_never_made_is_false_for_states_made_with_the_root_or_under_redis(monkeypatch):
    async def scenario():
        manager = memory_manager()
        async with manager.modify_state(BaseStateToken(ident=str(uuid.uuid4()), cls=State)) as root:
            return (realtime.never_made(root, RoomPageState), realtime.never_made(root, AuthState))

    assert asyncio.run(scenario()) == (True, False)  # AuthState keeps a cookie: made at connect
    monkeypatch.setattr(lazy_states, "_in_memory", lambda: False)
    assert asyncio.run(scenario()) == (False, False)  # Redis: it may exist there, run the hook


# --- the socket's path -------------------------------------------------------------------------------


def test_sockets_on_the_event_path_skip_the_stack_and_everything_else_takes_it():
    calls = []

    def recorder(name):
        async def asgi(scope, receive, send):
            calls.append((name, scope["type"], scope["path"]))
        return asgi

    class App:
        contexts = 0

        def _set_contexts_internal(self):
            App.contexts += 1

    dispatch = socket_path.direct(App(), recorder("stack"), recorder("socket"), "/_event")

    async def scenario():
        for kind, path in [("websocket", "/_event/"), ("websocket", "/_event"), ("http", "/_event/"),
                           ("websocket", "/_eventually"), ("http", "/lobby"), ("lifespan", "")]:
            await dispatch({"type": kind, "path": path}, None, None)

    asyncio.run(scenario())
    assert calls == [("socket", "websocket", "/_event/"), ("socket", "websocket", "/_event"),
                     ("stack", "http", "/_event/"), ("stack", "websocket", "/_eventually"),
                     ("stack", "http", "/lobby"), ("stack", "lifespan", "")]
    assert App.contexts == 2  # Reflex's contexts attached for each socket


def test_the_app_serves_the_socket_reflex_mounted():
    socket_app = socket_path.mounted_socket_app(app_module.app)
    assert socket_path.event_path() == "/_event"
    # Reflex's subprotocol wrapper around socket.io's ASGI app for the app's own server.
    assert isinstance(socket_app.app, socketio.ASGIApp)
    assert socket_app.app.engineio_server is app_module.app.sio


def test_reflex_model_is_imported_with_the_app():
    assert "reflex.model" in sys.modules and "alembic" in sys.modules
