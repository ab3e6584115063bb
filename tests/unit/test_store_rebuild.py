"""A room's store rebuilt from the DB (``live.rooms.locked_room``: by the sweeper, a member
batch or a timer end, before any tab of the room loaded) tells the room and the lobby what
it lists. A page load announces only a user its store lacks, so a store that listed the host
without anyone having been told left the lobby without the new room (a flaky e2e step,
reproduced 2 times in 150 runs under CPU load)."""

from __future__ import annotations

import asyncio
import contextlib
from types import SimpleNamespace

import pytest

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.live import rooms as live_rooms
from sessions_app.live.rooms import shared_key
from sessions_app.services import rooms
from sessions_app.state import room as _room_state  # noqa: F401 - registers the room store
from tests.support.factories import make_room, make_user


@pytest.fixture
def world(engine, monkeypatch):
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        host = make_user(db, "Rebuild Host").id
        room_id = make_room(db, host, name="Rebuilt").id
    stores: dict[str, SimpleNamespace] = {}
    pushes, lobby_refreshes = [], []

    @contextlib.asynccontextmanager
    async def modify_shared(cls, ident):
        yield stores.setdefault(ident, SimpleNamespace(room_id=0))

    async def push(channel, state_cls, *, skip_sid=None, **values):
        pushes.append((channel, values))

    monkeypatch.setattr(realtime, "modify_shared", modify_shared)
    monkeypatch.setattr(realtime, "push", push)
    monkeypatch.setattr(live_rooms, "refresh_lobby", lambda: lobby_refreshes.append(1))
    return SimpleNamespace(host=host, room_id=room_id, stores=stores, pushes=pushes, lobby=lobby_refreshes,
                           engine=engine)


def _lock(world, room_id: int):
    async def scenario():
        async with live_rooms.locked_room(room_id) as live:
            return live

    return asyncio.run(scenario())


def test_a_rebuilt_store_sends_its_member_list_and_refreshes_the_lobby(world):
    live = _lock(world, world.room_id)
    assert live.room_id == world.room_id and [m.user_id for m in live.members] == [world.host]
    assert len(world.pushes) == 1
    channel, values = world.pushes[0]
    assert channel == channels.room(world.room_id)
    assert [m.user_id for m in values["members"]] == [world.host] and values["host_id"] == world.host
    assert world.lobby == [1]


def test_a_store_that_holds_the_room_tells_nobody_again(world):
    _lock(world, world.room_id)
    _lock(world, world.room_id)
    assert len(world.pushes) == 1 and world.lobby == [1]


def test_a_room_that_does_not_exist_is_neither_built_nor_told(world):
    assert _lock(world, world.room_id + 999) is None
    assert world.pushes == [] and world.lobby == []
    assert shared_key(world.room_id + 999) in world.stores  # (only the empty store was looked at)


def test_a_closed_room_s_rebuild_lists_nobody(world):
    with app_db.session_scope(world.engine) as db:
        rooms.leave(db, room_id=world.room_id, user_id=world.host)  # the last member: the room closes
    live = _lock(world, world.room_id)
    if live is not None:
        assert live.closed and live.members == []
    assert all(values["members"] == [] for _, values in world.pushes)
