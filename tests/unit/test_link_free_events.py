"""``realtime.links``: a room post locks only the posting tab, not the room's shared stores.

Reflex locks and patches every shared state a tab is linked to before each of its events.
A room chat post (``RoomBoardUi.send``) needs none of them, so it is marked link-free: its
event takes the tab's own lock and tree only. Checked here on Reflex's real in-memory state
manager: while a link-free event runs, the room's shared token stays unlocked (another
member's event on the room is not held up) and nothing is patched in; any other event of the
same tab still gets the linked store, under the room's lock.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex_base.event import Event
from reflex_base.event.context import EventContext

from sessions_app import realtime
from sessions_app.realtime import links
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.room import RoomLive

ROOM_KEY = "roomkeyabc"
POST = f"{RoomBoardUi.get_full_name()}.send"
OLDER = f"{RoomBoardUi.get_full_name()}.load_older"


def test_the_room_post_is_link_free_and_other_handlers_are_not():
    assert links.is_link_free(POST)
    assert not links.is_link_free(OLDER)
    assert not links.is_link_free(f"{RoomBoard.get_full_name()}.delete_message")
    assert not links.is_link_free(None)


def test_only_private_states_and_real_handlers_can_be_marked():
    with pytest.raises(TypeError):
        realtime.link_free(RoomLive, "control")  # a shared state's handler needs its link
    with pytest.raises(AttributeError):
        realtime.link_free(RoomBoardUi, "no_such_handler")


async def _scenario(event_name: str) -> tuple[str, bool, int]:
    """Link a tab's RoomBoard to the room's key, then run one event of ``event_name``; returns
    what the event saw: the board's link, whether the room's token was locked, its room id."""
    manager = StateManagerMemory()
    EventContext.set(EventContext(token="tab", state_manager=manager, enqueue_impl=_nothing))
    tab = str(uuid.uuid4())
    async with manager.modify_state(BaseStateToken(ident=ROOM_KEY, cls=RoomBoard)) as shared_root:
        (await shared_root.get_state(RoomBoard)).room_id = 42
    async with manager.modify_state(BaseStateToken(ident=tab, cls=RoomBoardUi)) as root:
        root._reflex_internal_links = {RoomBoard.get_full_name(): ROOM_KEY}
        root._clean()
    room_lock = manager._states_locks  # lock key -> asyncio.Lock
    token = BaseStateToken(ident=tab, cls=RoomBoardUi)
    async with manager.modify_state_with_links(token, event=Event(name=event_name, payload={})) as root:
        board = await root.get_state(RoomBoard)
        locked = any(lock.locked() for key, lock in room_lock.items() if ROOM_KEY in str(key))
        return board._linked_to, locked, board.room_id


async def _nothing(*_args, **_kwargs) -> None:
    return None


def test_a_link_free_event_leaves_the_rooms_store_unlocked_and_unpatched():
    linked_to, room_locked, room_id = asyncio.run(_scenario(POST))
    assert (linked_to, room_locked, room_id) == ("", False, 0)  # the tab's own, unlinked copy


def test_any_other_event_of_the_tab_gets_the_linked_store_under_the_rooms_lock():
    linked_to, room_locked, room_id = asyncio.run(_scenario(OLDER))
    assert (linked_to, room_locked, room_id) == (ROOM_KEY, True, 42)


CONTROL = f"{RoomLive.get_full_name()}.control"


async def _timer_scenario(event_name: str) -> tuple[str, bool, str]:
    """A tab linked to the room's RoomLive and RoomBoard runs one RoomLive event: what it
    saw of both (link, locked)."""
    manager = StateManagerMemory()
    EventContext.set(EventContext(token="tab", state_manager=manager, enqueue_impl=_nothing))
    tab = str(uuid.uuid4())
    async with manager.modify_state(BaseStateToken(ident=tab, cls=RoomLive)) as root:
        root._reflex_internal_links = {RoomBoard.get_full_name(): ROOM_KEY, RoomLive.get_full_name(): ROOM_KEY}
        root._clean()
    # Touch both private copies so the in-memory tree has them (as a room tab's has).
    async with manager.modify_state(BaseStateToken(ident=tab, cls=RoomBoardUi)) as root:
        await root.get_state(RoomBoard)
    token = BaseStateToken(ident=tab, cls=RoomLive)
    async with manager.modify_state_with_links(token, event=Event(name=event_name, payload={})) as root:
        live, board = await root.get_state(RoomLive), await root.get_state(RoomBoard)
        locked = any(lock.locked() for key, lock in manager._states_locks.items() if ROOM_KEY in str(key))
        return live._linked_to, locked, board._linked_to


def test_a_timer_action_patches_in_only_the_rooms_live_store():
    assert links.own_link_only(RoomLive, "control") == CONTROL  # (idempotent)
    live_link, room_locked, board_link = asyncio.run(_timer_scenario(CONTROL))
    assert (live_link, room_locked, board_link) == (ROOM_KEY, True, "")


def test_another_event_on_the_live_store_still_gets_every_link():
    live_link, room_locked, board_link = asyncio.run(_timer_scenario(f"{RoomLive.get_full_name()}.leave_room"))
    assert (live_link, room_locked, board_link) == (ROOM_KEY, True, ROOM_KEY)


def test_own_link_only_is_for_shared_states():
    with pytest.raises(TypeError):
        realtime.own_link_only(RoomBoardUi, "send")
