"""A page load is ONE server event (issue 12): the room page's load fills every part of the
page (room, board, goals, reactions, own tasks, ambient mix) in one event, so one frame
carries them all, and leaves the tab in every channel it needs (the room's and the user's).
A stranger loading a private room is still refused and receives nothing private.

Protocol-level (python-socketio clients): before, each part was its own ``on_load`` event and
arrived in its own frame.
"""

from __future__ import annotations

import uuid

from sessions_app.state.block_goals import RoomGoals
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.lobby import LobbyState
from sessions_app.state.lobby_chat import LobbyChatState
from sessions_app.state.mood import AmbientState
from sessions_app.state.quiet_focus import RoomQuiet
from sessions_app.state.room import RoomLive, RoomPageState
from sessions_app.state.tasks import TaskState
from tests.e2e.test_realtime_protocol import db_room
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

LIVE = RoomLive.get_full_name()
PAGE = RoomPageState.get_full_name()
BOARD = RoomBoard.get_full_name()
# A room post is a handler of the tab's own board state (link-free: realtime.links).
POST = f"{RoomBoardUi.get_full_name()}.send"
GOALS = RoomGoals.get_full_name()
QUIET = RoomQuiet.get_full_name()
TASKS = TaskState.get_full_name()
AMBIENT = AmbientState.get_full_name()
LOBBY = LobbyState.get_full_name()
LOBBY_CHAT = LobbyChatState.get_full_name()


def _frame_with(client: ReflexClient, state: str, var: str, value) -> dict | None:
    """The first frame whose delta sets ``state.var`` to ``value`` (the hydrate snapshot
    before it carries every var at its default)."""
    key = var + "_rx_state_"
    return next((f for f in client.frames if f.get("delta", {}).get(state, {}).get(key, object()) == value), None)


def _value(frame: dict, state: str, var: str, default=None):
    return frame.get("delta", {}).get(state, {}).get(var + "_rx_state_", default)


def test_a_room_page_load_is_one_event_that_joins_the_room_s_and_the_user_s_channels(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, f"Load Host {mark}")
        _, member_token = protocol_user(dburl, f"Load Member {mark}")
        room_id, _ = db_room(dburl, host_id, private=False, name=f"Load room {mark}")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        assert await eventually(lambda: host.last(BOARD, "room_id") == room_id), "the host's room never loaded"
        await host.call(f"{RoomGoals.get_full_name()}.save", form={"goal": f"goal {mark}"})
        await host.call(POST, form={"body": f"before {mark}"})
        assert await eventually(lambda: f"before {mark}" in host.text())

        tab_one, tab_two = ReflexClient(url, member_token), ReflexClient(url, member_token)
        await tab_one.open(path, query)
        await tab_two.open(path, query)
        for tab in (tab_one, tab_two):
            assert await eventually(lambda t=tab: t.last(BOARD, "room_id") == room_id), "a member's room never loaded"
        await settle([host, tab_one, tab_two])

        # One event filled the whole page: the frame that brought the board brought the room,
        # its goals and reactions, the student's own tasks and mix (and the chat tail and goal).
        first = _frame_with(tab_one, BOARD, "room_id", room_id)
        assert _value(first, LIVE, "room_id") == room_id and _value(first, QUIET, "room_id") == room_id
        assert _value(first, LIVE, "phase") == "idle" and _value(first, AMBIENT, "mix_rev", 0) > 0
        assert f"goal {mark}" in str(_value(first, GOALS, "goals")), "the goals came in another frame"
        assert f"before {mark}" in str(_value(first, BOARD, "messages")), "the chat tail came in another frame"
        assert _value(first, TASKS, "tasks") == [], "the own tasks came in another frame"

        # The room's channel: the host's chat reaches both tabs.
        await host.call(POST, form={"body": f"after load {mark}"})
        for tab in (tab_one, tab_two):
            assert await eventually(lambda t=tab: f"after load {mark}" in t.text()), "a member's tab missed the chat"

        # The user's channel: leaving the room in one tab takes the user's other tab out of the
        # room's channel at once (the server reaches it through the user's channel).
        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 2)  # (then 1 means left)
        await tab_two.call(f"{LIVE}.leave_room")
        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 1), "the member never left"
        await host.call(POST, form={"body": f"after leaving {mark}"})
        assert await eventually(lambda: f"after leaving {mark}" in host.text()), \
            host.values(RoomBoardUi.get_full_name(), "chat_error")
        await settle([host, tab_one, tab_two])
        assert f"after leaving {mark}" not in tab_one.text() + tab_two.text()

        # A third tab's load, then the host's timer: it reaches that tab (the room's channel).
        tab_three = ReflexClient(url, member_token)
        await tab_three.open(path, query)
        assert await eventually(lambda: tab_three.last(BOARD, "room_id") == room_id), "the third tab never loaded"
        await host.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: tab_three.last(LIVE, "phase") == "focus"), "the timer never reached the tab"
        await tab_three.close()
        for client in (host, tab_one, tab_two):
            await client.close()

    run(scenario())


def test_a_stranger_s_load_of_a_private_room_is_refused_and_gets_nothing_private(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, f"Private Host {mark}")
        _, stranger_token = protocol_user(dburl, f"Stranger {mark}")
        room_id, code = db_room(dburl, host_id, private=True, name=f"Private room {mark}")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        assert await eventually(lambda: host.last(BOARD, "room_id") == room_id), "the host's room never loaded"
        await host.call(POST, form={"body": f"secret chat {mark}"})
        await host.call(f"{BOARD}.add_task", form={"text": f"secret task {mark}"})
        await host.call(f"{GOALS}.save", form={"goal": f"secret goal {mark}"})
        assert await eventually(lambda: all(s in host.text() for s in (f"secret chat {mark}", f"secret task {mark}",
                                                                       f"secret goal {mark}")))

        stranger = ReflexClient(url, stranger_token)
        await stranger.open(path, query)
        assert await eventually(lambda: "private" in stranger.last(PAGE, "error", "")), "the stranger was not refused"
        # Later room changes do not reach the stranger either (not in the room's channel).
        await host.call(POST, form={"body": f"secret later {mark}"})
        await host.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: f"secret later {mark}" in host.text())
        await settle([host, stranger])
        seen = stranger.text()
        for secret in (code, f"Private room {mark}", f"Private Host {mark}", f"secret chat {mark}",
                       f"secret task {mark}", f"secret goal {mark}", f"secret later {mark}"):
            assert secret not in seen, secret
        assert stranger.values(LIVE, "phase") in ([], ["idle"])
        assert all(v in (0, None) for v in stranger.values(BOARD, "room_id") + stranger.values(LIVE, "room_id"))
        await host.close()
        await stranger.close()

    run(scenario())


def test_the_lobby_s_load_is_one_event_too(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, _ = protocol_user(dburl, "Lobby Load Host")
        db_room(dburl, host_id, private=False, name="Lobby load room")
        _, token = protocol_user(dburl, "Lobby Loader")
        tab = ReflexClient(url, token)
        await tab.open("/lobby")
        assert await eventually(lambda: tab.last(LOBBY, "rooms")), "the lobby never loaded"
        await settle([tab])
        first = next(f for f in tab.frames if _value(f, LOBBY, "rooms"))
        for state, var in ((LOBBY_CHAT, "feed_seq"), (TASKS, "tasks")):
            assert _value(first, state, var) is not None, f"{state}.{var} came in another frame"
        await tab.close()

    run(scenario())
