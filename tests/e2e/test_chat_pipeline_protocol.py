"""Protocol level: the chat pipeline sends each member ONE small frame carrying only the
new message (or the deleted id), and a tab's merged view equals a fresh load."""

from __future__ import annotations

import asyncio
import json

from sessions_app.services import chat
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.chat_pipeline import message_views
from tests.e2e.test_realtime_protocol import db_room
from tests.support.factories import app_db
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

BOARD = RoomBoard.get_full_name()
# A room post is a handler of the tab's own board state (link-free: realtime.links).
POST = f"{RoomBoardUi.get_full_name()}.send"
MAX_FRAME = 500


def _size(frame: dict) -> int:
    """A frame's size on the wire (socket.io sends compact JSON)."""
    return len(json.dumps(frame, separators=(",", ":")).encode())


def test_a_post_to_a_room_of_10_is_one_small_frame_per_member(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Pipe Host")
        room_id, _ = db_room(dburl, host_id, private=False, name="Ten")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        members = []
        for i in range(9):
            _, token = protocol_user(dburl, f"Pipe Member {i}")
            members.append(ReflexClient(url, token))
        await asyncio.gather(*(m.open(path, query) for m in members))
        everyone = [host, *members]
        await settle(everyone, quiet=1.0)
        # A history of 50 messages, which the old pipeline re-sent whole with every post.
        for i in range(50):
            await members[i % 9].call(POST, form={"body": f"earlier message {i:02d}"})
            await settle(everyone, quiet=0.1)
        assert await eventually(lambda: all("earlier message 49" in m.text() for m in everyone)), \
            "a member missed the history"
        stale = members[-1].chat(BOARD)  # a view from before the changes below

        # (Frames are kept, not cleared: ``chat()`` replays them from the load on.)
        mark = {id(m): len(m.frames) for m in everyone}
        await host.call(POST, form={"body": "Shall we start the next block at 14:00?"})
        assert await eventually(lambda: all("next block at 14:00" in json.dumps(m.frames[mark[id(m)]:])
                                            for m in everyone)), "a member missed the post"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        for m in members:
            new = m.frames[mark[id(m)]:]
            assert len(new) == 1, [list(f.get("delta", {}).get(BOARD, {})) for f in new]
            (frame,) = new
            assert _size(frame) <= MAX_FRAME, _size(frame)
            values = frame["delta"][BOARD]
            assert list(values) == ["chat_event_rx_state_"]  # no list, no router data
            assert values["chat_event_rx_state_"]["add"]["body"] == "Shall we start the next block at 14:00?"
            assert "earlier message" not in json.dumps(frame)
        print(f"\nchat frame per member: {max(_size(m.frames[mark[id(m)]]) for m in members)} bytes")
        # The sender gets the same broadcast, besides its own handler's answer.
        assert sum("chat_event_rx_state_" in f.get("delta", {}).get(BOARD, {})
                   for f in host.frames[mark[id(host)]:]) == 1

        # A delete is one small frame too, with the message that moves into the 50-tail.
        target = members[0].chat(BOARD)[-2].id  # "earlier message 49", by a member
        mark = {id(m): len(m.frames) for m in everyone}
        await members[49 % 9].call(f"{BOARD}.delete_message", message_id=target)

        def chat_frames(m) -> list:
            return [f for f in m.frames[mark[id(m)]:] if "chat_event_rx_state_" in f.get("delta", {}).get(BOARD, {})]

        assert await eventually(lambda: all(chat_frames(m) for m in members)), "a member missed the delete"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        for m in members:
            new = chat_frames(m)
            assert len(new) == 1 and _size(new[0]) <= MAX_FRAME
            assert new[0]["delta"][BOARD]["chat_event_rx_state_"]["del"] == target

        # verify_action: every member's merged view is exactly what a tab loading now shows.
        with app_db(dburl) as db:
            fresh = message_views(chat.recent(db, chat.room_channel(room_id), user_id=host_id))
        assert fresh[-1].body == "Shall we start the next block at 14:00?" and target not in [m.id for m in fresh]
        for m in everyone:
            assert m.chat(BOARD) == fresh
        # A tab that reconnects catches up: its load brings the tail, nothing twice.
        assert stale != fresh
        back = ReflexClient(url, members[-1].login_token)
        await back.open(path, query)
        assert await eventually(lambda: back.chat(BOARD) == fresh), back.chat(BOARD)
        await settle([back], quiet=1.0)  # and nothing arrives twice after it
        assert back.chat(BOARD) == fresh
        await asyncio.gather(*(m.close() for m in [*everyone, back]))

    run(scenario())
