"""Protocol-level tests: crafted WebSocket events are refused, outsiders read nothing, and a
room change reaches each member as exactly ONE frame (a room of 50).

These talk to the real app with python-socketio clients, so they also catch a Reflex upgrade
breaking ``realtime`` (wrong state names, fan-out coming back, frames lost).
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import socketio

from sessions_app.models import Room
from sessions_app.state.auth import AuthState
from sessions_app.state.lobby import LobbyState
from sessions_app.state.room import RoomLive, RoomPageState
from tests.support import db_peek
from tests.support.factories import app_db, make_room
from tests.support.protocol import NAMESPACE, ReflexClient, eventually, protocol_user, run, settle

LIVE = RoomLive.get_full_name()
PAGE = RoomPageState.get_full_name()
LOBBY = LobbyState.get_full_name()
AUTH = AuthState.get_full_name()


def db_room(database_url: str, host_id: int, *, private: bool, name: str = "Proto room") -> tuple[int, str | None]:
    """A room opened by ``host_id`` in the app's database: (id, join code)."""
    with app_db(database_url) as db:
        room = make_room(db, host_id, name=name, discipline="Physics", private=private)
        return room.id, room.code


def room_phase(database_url: str, room_id: int) -> str:
    with app_db(database_url) as db:
        return db.get(Room, room_id).phase


def test_outsider_and_non_host_are_refused(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Proto Host")
        member_id, member_token = protocol_user(dburl, "Proto Member")
        _, outsider_token = protocol_user(dburl, "Proto Outsider")
        room_id, code = db_room(dburl, host_id, private=True)
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}

        host = ReflexClient(url, host_token)
        await host.open(path, query)
        member = ReflexClient(url, member_token)
        await member.open("/lobby")
        await member.call(f"{LOBBY}.set_join_code", value=code)
        await member.call(f"{LOBBY}.join_by_code")
        assert await eventually(lambda: db_peek.rows(dburl, "select id from room_members where room_id = ? and user_id = ?",
                                                     room_id, member_id)), "the join by code was not recorded"
        await settle([host, member])
        await member.close()
        member = ReflexClient(url, member_token)
        await member.open(path, query)

        # An outsider opening the private room by id gets a refusal and none of its data.
        outsider = ReflexClient(url, outsider_token)
        await outsider.open(path, query)
        assert await eventually(lambda: "private" in outsider.last(PAGE, "error", "") and member.values(LIVE, "phase")), \
            "the outsider was not refused, or the member's room never loaded"
        await settle([host, member, outsider])
        assert "private" in outsider.last(PAGE, "error", "")
        assert outsider.values(LIVE, "name") == [] or set(outsider.values(LIVE, "name")) == {""}
        assert code not in outsider.text()

        # Crafted: the outsider and the non-host member try to run the timer.
        outsider.frames.clear()
        await outsider.call(f"{LIVE}.control", action="start")
        await member.call(f"{LIVE}.control", action="start")
        await member.call(f"{LIVE}.control", action="skip")
        assert await eventually(lambda: member.last(PAGE, "error") == "Only the host controls the timer.")
        await settle([host, member, outsider])  # the other crafted calls are answered too
        assert room_phase(dburl, room_id) == "idle"
        assert member.last(PAGE, "error") == "Only the host controls the timer."

        # The host can; the outsider receives nothing of it.
        outsider.frames.clear()
        await host.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: member.last(LIVE, "phase") == "focus"), "the member never saw the start"
        await settle([host, member, outsider])  # where else it would arrive, it has
        assert room_phase(dburl, room_id) == "focus"
        assert member.last(LIVE, "phase") == "focus"
        assert outsider.values(LIVE, "phase") == []

        # Nobody receives another user's email or login token.
        for client in (host, member, outsider):
            others = [t for t in (host_token, member_token, outsider_token) if t != client.login_token]
            assert not any(t in client.text() for t in others)
        # Emails: each client sees at most its own (in its own AuthState), never another's.
        for client in (host, member, outsider):
            own = client.last(AUTH, "email", "")
            assert client.text().replace(own, "").count("@example.com") == 0 if own else "@example.com" not in client.text()

        for c in (host, member, outsider):
            await c.close()

    run(scenario())


class ElsewhereClient(ReflexClient):
    """A tab from another address (127.0.0.2): its guesses use up that address's code budget,
    not the one every other tab of this worker's server shares (127.0.0.1), where a join by
    code in the next minute would be refused."""

    def __post_init__(self) -> None:
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0)))
        self.sio = socketio.AsyncClient(reconnection=False, http_session=self.http)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)

    async def close(self) -> None:
        await super().close()
        await self.http.close()


def test_code_guessing_is_rate_limited(app_server):
    async def scenario() -> None:
        _, token = protocol_user(app_server.database_url, "Guesser")
        guesser = ElsewhereClient(app_server.url.replace("localhost", "127.0.0.1"), token)
        await guesser.open("/lobby")
        for i in range(12):
            await guesser.call(f"{LOBBY}.set_join_code", value=f"ZZZZ{i:02d}".replace("0", "A").replace("1", "B"))
            await guesser.call(f"{LOBBY}.join_by_code")
        assert await eventually(lambda: any("Too many room codes" in e for e in guesser.values(LOBBY, "join_error")))
        await settle([guesser])
        errors = guesser.values(LOBBY, "join_error")
        assert any("Too many room codes" in e for e in errors), errors
        await guesser.close()

    run(scenario())


def test_each_member_gets_exactly_one_frame_per_change_in_a_room_of_50(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Big Host")
        room_id, _ = db_room(dburl, host_id, private=False, name="Fifty")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        members = []
        for i in range(49):
            _, token = protocol_user(dburl, f"Member {i}")
            members.append(ReflexClient(url, token))
        await asyncio.gather(*(m.open(path, query) for m in members))
        everyone = [host, *members]
        assert await eventually(lambda: all(len(m.last(LIVE, "members", [])) == 50 for m in members), timeout=30), \
            "a member never saw all 50"
        await settle(everyone, quiet=1.0)
        # After the join storm, everyone sees all 50 members.
        assert all(len(m.last(LIVE, "members", [])) == 50 for m in members)

        for m in everyone:
            m.frames.clear()
            m.arrivals.clear()
        sent = time.perf_counter()
        await host.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: all(m.frames for m in members)), "a member missed the start"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        for m in members:
            assert len(m.frames) == 1, f"expected one frame, got {[{k: list(v) for k, v in f.get('delta', {}).items()} for f in m.frames]}"
            assert m.last(LIVE, "phase") == "focus"
        latencies = sorted(a - sent for m in members for a in m.arrivals)
        print(f"\nhost start → 49 members: p50 {latencies[len(latencies) // 2] * 1000:.1f} ms, "
              f"max {latencies[-1] * 1000:.1f} ms")
        await asyncio.gather(*(m.close() for m in everyone))

    run(scenario())
