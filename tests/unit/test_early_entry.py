"""A room page's entry started with the connect's hydrate (several workers):
``realtime.early_hydrate`` runs a hook's work beside Reflex's hydrate and finishes it after the
hydrate's frame, without changing the event Reflex sees; ``state.room_early`` only acts on a
room page's connect with several workers; the entry's result survives the tab's state being
pickled between the hydrate and the load (as with Redis), and the load takes it over only
for the same socket and room."""

from __future__ import annotations

import asyncio
import pickle
from types import SimpleNamespace

import pytest
from reflex.state import State
from reflex_base.event.processor.base_state_processor import _hydrate_event_names
from reflex_base.utils.format import format_event_handler

import sessions_app.sessions_app  # noqa: F401 - the app: every state and hook registered
from sessions_app import routes
from sessions_app.realtime import early_hydrate, ordered_lists
from sessions_app.services import rooms
from sessions_app.services.errors import ServiceError
from sessions_app.state import room_early
from sessions_app.state.base import REFUSED
from sessions_app.state.room_entry import pack_early, unpack_early


def test_the_hydrate_keeps_its_name_so_reflex_still_treats_it_as_the_hydrate():
    handler = State.event_handlers["hydrate_and_load"]
    assert handler.fn is early_hydrate._hydrate_and_load  # installed by the app
    # Reflex recognizes the connect's hydrate by this name (a wrong one made it hydrate and
    # run the page's load twice per tab).
    assert format_event_handler(handler) == "reflex___state____state.hydrate_and_load"
    assert format_event_handler(handler) in _hydrate_event_names()


def test_hook_work_runs_beside_the_hydrate_and_ends_after_its_frame(monkeypatch):
    order: list[str] = []

    async def reflex_hydrate(self, vars=None, hashes=None):
        order.append("hydrate starts")
        await asyncio.sleep(0.01)
        order.append("frame sent")
        return ["on_load_internal"]

    async def work():
        order.append("work runs")
        await asyncio.sleep(0.03)
        order.append("work ends")

    def hook(state):  # starts its work now, finishes it after the frame
        task = asyncio.ensure_future(work())

        async def after_frame():
            await task
            order.append("after the frame")
        return after_frame()

    def failing(state):
        raise RuntimeError("a broken hook")

    monkeypatch.setattr(early_hydrate, "_reflex_hydrate_and_load", reflex_hydrate)
    monkeypatch.setattr(early_hydrate, "_HOOKS", [failing, lambda state: None, hook])
    result = asyncio.run(early_hydrate._hydrate_and_load(object(), vars={}, hashes=[]))
    assert result == ["on_load_internal"]  # what Reflex returned: the page's load follows as before
    assert order == ["hydrate starts", "work runs", "frame sent", "work ends", "after the frame"]


def _state(path: str, room_id: str = "7"):
    page = SimpleNamespace(path=path, params={"room_id": room_id})
    return SimpleNamespace(router=SimpleNamespace(_page=page, session=SimpleNamespace(session_id="sid-1")))


def test_the_room_hook_acts_only_on_a_room_page_with_several_workers(monkeypatch):
    monkeypatch.setattr(ordered_lists, "available", lambda: False)
    assert room_early._hook(_state(routes.ROOM)) is None
    monkeypatch.setattr(ordered_lists, "available", lambda: True)
    assert room_early._hook(_state(routes.LOBBY)) is None


@pytest.mark.parametrize("result", [
    (None, None, None, None),  # nobody logged in: the load redirects to the login
    (3, {"user_id": 3}, REFUSED, ServiceError("This room is closed.", field="x")),
    (3, {"user_id": 3}, rooms.Entry(7, True), None),
    (3, {"user_id": 3}, rooms.Entry(7, False), None),
])
def test_the_entry_result_survives_pickling_and_is_taken_only_by_its_socket_and_room(result):
    stored = pickle.loads(pickle.dumps(pack_early("sid-1", 7, result)))  # as the tab's state in Redis
    uid, values, entered, err = unpack_early(stored, "sid-1", "7")
    assert (uid, values, entered) == result[:3]
    assert entered is result[2] or isinstance(entered, rooms.Entry)  # REFUSED comes back as itself
    assert (err and (err.message, err.field)) == (result[3] and (result[3].message, result[3].field))
    assert unpack_early(stored, "sid-2", "7") is None  # another socket (a reconnect): the load enters
    assert unpack_early(stored, "sid-1", "8") is None  # another room
    assert unpack_early(None, "sid-1", "7") is None
