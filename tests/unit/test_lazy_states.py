"""``realtime.lazy_states``: with the in-memory manager, a connected tab holds only the states
it has used (the idle memory per tab), and a state made late is what the root would have
made at connect.
"""

from __future__ import annotations

import asyncio
import tracemalloc
import uuid

from reflex.istate.manager.token import BaseStateToken
from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import State

import sessions_app.sessions_app  # noqa: F401 - registers every state of the app (and installs)
from sessions_app.realtime import lazy_states
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.lobby_chat import LobbyChatState
from tests.support.state_manager import memory_manager


def test_most_page_states_are_made_late_and_the_delicate_ones_are_not():
    late = {cls for cls in State.get_substates() if lazy_states.made_late(cls)}
    assert LobbyChatState in late and RoomBoardUi in late
    assert len(late) >= len(State.get_substates()) // 2
    # Reflex reads these synchronously (always-dirty, client storage, shared stores).
    assert not lazy_states.made_late(SharedStateBaseInternal)
    assert not lazy_states.made_late(RoomBoard)
    assert not lazy_states.made_late(State)


def test_a_new_tab_holds_only_the_states_it_uses():
    async def scenario():
        manager = memory_manager()
        tab = str(uuid.uuid4())
        async with manager.modify_state(BaseStateToken(ident=tab, cls=AuthState)) as root:
            before = set(root.substates)
            chat = await root.get_state(LobbyChatState)  # an event of the lobby chat
            again = await root.get_state(LobbyChatState)
            return before, set(root.substates), chat, again

    before, after, chat, again = asyncio.run(scenario())
    assert LobbyChatState.get_name() not in before
    assert after - before == {LobbyChatState.get_name()}
    assert chat is again  # made once, then kept
    assert chat.messages == [] and chat.error == "" and chat.parent_state is not None
    assert SharedStateBaseInternal.get_name() in before  # made with the root, as before


def test_a_late_state_keeps_its_values_between_events():
    async def scenario():
        manager = memory_manager()
        tab = str(uuid.uuid4())
        async with manager.modify_state(BaseStateToken(ident=tab, cls=RoomBoardUi)) as root:
            (await root.get_state(RoomBoardUi)).chat_error = "Join the room first."
        async with manager.modify_state(BaseStateToken(ident=tab, cls=RoomBoardUi)) as root:
            return (await root.get_state(RoomBoardUi)).chat_error

    assert asyncio.run(scenario()) == "Join the room first."


def test_a_new_tab_takes_less_memory_than_a_whole_tree():
    async def tabs(n: int) -> list:
        manager = memory_manager()
        roots = []
        for _ in range(n):
            async with manager.modify_state(BaseStateToken(ident=str(uuid.uuid4()), cls=AuthState)) as root:
                roots.append(root)
        return roots

    tracemalloc.start()
    try:
        a = tracemalloc.take_snapshot()
        lazy = asyncio.run(tabs(50))
        b = tracemalloc.take_snapshot()
        whole = [State(_reflex_internal_init=True) for _ in range(50)]
        c = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    lazy_bytes = sum(s.size_diff for s in b.compare_to(a, "filename")) / 50
    whole_bytes = sum(s.size_diff for s in c.compare_to(b, "filename")) / 50
    assert len(lazy) == len(whole) == 50
    assert lazy_bytes < whole_bytes / 2, (lazy_bytes, whole_bytes)
