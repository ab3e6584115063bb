"""A jump of the server's wall clock is not an outage (``services.uptime``).

The server kept running while its clock jumped ahead (an NTP step; here the tests' clock):
a focus block that ends at the jumped time still earns its EXP. It used to record the jump as
an outage running to the jumped time, which wiped the block's credit — and, once the clock came
back, the credit of every block until the wall clock caught up with it (CI saw a block earn
nothing after another test had moved the clock ahead).
"""

from __future__ import annotations

import uuid

from sessions_app.models import ServerHeartbeat
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import RoomBoard
from sessions_app.state.room import RoomLive, RoomPageState
from tests.e2e.test_realtime_protocol import db_room
from tests.support.factories import app_db
from tests.support.protocol import ReflexClient, eventually, protocol_user, run

LIVE = RoomLive.get_full_name()
AUTH = AuthState.get_full_name()
BOARD = RoomBoard.get_full_name()
PAGE = RoomPageState.get_full_name()


def test_a_block_that_ends_across_a_clock_jump_still_earns(app_server, app_clock):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    def heartbeat_written() -> bool:
        with app_db(dburl) as db:
            return db.get(ServerHeartbeat, 1) is not None

    async def scenario() -> None:
        # The server has written its heartbeat on the wall clock (at most 15 s after a start).
        assert await eventually(heartbeat_written, timeout=20)
        host_id, token = protocol_user(dburl, f"Jumper {mark}")
        room_id, _ = db_room(dburl, host_id, private=False, name=f"Jump room {mark}")
        host = ReflexClient(url, token)
        await host.open(f"/rooms/{room_id}", {"room_id": str(room_id)})
        assert await eventually(lambda: host.last(BOARD, "room_id") == room_id)
        await host.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: host.last(LIVE, "phase") == "focus"), host.values(PAGE, "error")
        # Ten minutes ahead: the block (25 s at the tests' time scale) ended before the jumped
        # time, and so did the next few phases; the server moves through them at once.
        app_clock(600)
        assert await eventually(lambda: (host.last(AUTH, "exp_total") or 0) > 0)
        await host.close()

    run(scenario())
