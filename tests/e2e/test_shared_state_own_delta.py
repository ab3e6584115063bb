"""Protocol level: an event on a room's shared state answers its own tab with what the event
changed — not the whole router and every route argument again.

Reflex marks the root's router vars dirty whenever it patches a linked shared state into a
tab's tree; before ``realtime.broadcast_only`` undid that, every chat post (and timer action)
sent its sender ~1.4 KB of unchanged router data besides the message.
"""

from __future__ import annotations

import asyncio
import json

from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.room import RoomLive
from tests.e2e.test_realtime_protocol import db_room
from tests.support.protocol import ReflexClient, protocol_user, run, settle

BOARD = RoomBoard.get_full_name()
# A room post is a handler of the tab's own board state (link-free: realtime.links).
POST = f"{RoomBoardUi.get_full_name()}.send"
LIVE = RoomLive.get_full_name()


def test_a_members_own_answer_carries_no_router_data(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Router Host")
        room_id, _ = db_room(dburl, host_id, private=False, name="Quiet router")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host, member = ReflexClient(url, host_token), ReflexClient(url, protocol_user(dburl, "Router Member")[1])
        await asyncio.gather(host.open(path, query), member.open(path, query))
        await settle([host, member], quiet=1.0)
        # The page load itself does carry the router (the tab needs it once).
        assert "rx_router_page_rx_state_" in json.dumps(host.frames)

        mark = len(host.frames)
        await host.call(POST, form={"body": "no router please"})
        await host.call(f"{LIVE}.control", action="start")
        await settle([host, member], quiet=1.0)
        answer = json.dumps(host.frames[mark:])
        assert "no router please" in answer  # the post arrived (broadcast included)
        assert "rx_router_" not in answer and "room_id_rx_state_" not in answer, answer[:600]
        assert member.chat(BOARD)[-1].body == "no router please"

    run(scenario())
