"""The scenarios, written once and run against both targets (the app and the floor).

A target knows how to put a client in a room or the lobby, how to send a chat message, a
timer action or a lobby message, and how to read each of those out of a frame (an
*extractor*). A scenario only sends keys and measures when each receiver first saw each key.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bench.client import BaseClient, FloorClient, SessionsClient
from bench.measure import (
    Sent,
    close_all,
    frame_bytes,
    open_all,
    outcome,
    percentile,
    quiet_server,
    summary,
    wait_delivered,
    wait_for,
)
from bench.servers import CpuSample, Stack, cpu_sample, rss_bytes

_run = uuid.uuid4().hex[:6]
_keys = itertools.count()


def new_key(prefix: str) -> str:
    return f"bench {prefix} {_run}-{next(_keys)}"


# --- users and rooms (the app's database) -----------------------------------------------------


@dataclass
class BenchUser:
    uid: int
    token: str
    name: str


def seed_users(db_url: str, count: int) -> list[BenchUser]:
    """Users with a login each, written straight to the database (no password hashing: the
    benchmark logs in with session tokens, as a browser with a cookie does)."""
    from sqlmodel import Session

    from sessions_app.db import as_system, make_engine
    from sessions_app.models import User
    from sessions_app.services import accounts

    engine = make_engine(db_url)
    # Sign-up is the system's on PostgreSQL with row-level security (docs/rls.md).
    with as_system("the benchmark seeds its users"), Session(engine, expire_on_commit=False) as db:
        users = [User(email=f"bench-{_run}-{i}@example.com", display_name=f"Bench {i}") for i in range(count)]
        db.add_all(users)
        db.flush()
        tokens = [accounts.start_session(db, user_id=u.id) for u in users]
        db.commit()
        out = [BenchUser(u.id, t, u.display_name) for u, t in zip(users, tokens, strict=True)]
    engine.dispose()
    return out


def create_room(db_url: str, host: BenchUser, name: str) -> int:
    from sqlmodel import Session

    from sessions_app.db import as_user, make_engine
    from sessions_app.services import rooms

    engine = make_engine(db_url)
    with as_user(host.uid), Session(engine, expire_on_commit=False) as db:
        room = rooms.create_room(db, host_id=host.uid, name=name, discipline="Mathematics", is_private=False)
        # Chat stays open during focus blocks (the host's quiet-focus switch): the mixed load
        # posts while the timer runs, which quiet focus would refuse.
        room.focus_chat_open = True
        db.commit()
        room_id = room.id
    engine.dispose()
    return room_id


# --- targets ----------------------------------------------------------------------------------


class SessionsTarget:
    """The real app over Reflex's ``/_event`` protocol."""

    name = "sessions"
    has_calls = True

    def __init__(self, stack: Stack) -> None:
        from sessions_app.login_cookie import LOGIN_COOKIE
        from sessions_app.state.lobby import LobbyState
        from sessions_app.state.room import RoomLive

        self.stack = stack
        self.LIVE = RoomLive.get_full_name()
        self.LOBBY = LobbyState.get_full_name()
        self.auth_var = LOGIN_COOKIE  # the login cookie's name
        try:
            from sessions_app.state.chat import LobbyChatState, RoomBoard, RoomBoardUi

            self.BOARD, self.LOBBY_CHAT = RoomBoard.get_full_name(), LobbyChatState.get_full_name()
            # A room post is a handler of the tab's own board state (older code: the board's).
            handler = RoomBoardUi if hasattr(RoomBoardUi, "send") else RoomBoard
            self.POST = f"{handler.get_full_name()}.send"
        except ImportError:  # the chat feature is not there: timer actions stand in
            self.BOARD = self.LOBBY_CHAT = self.POST = None

    @property
    def has_chat(self) -> bool:
        return self.BOARD is not None

    def client(self, user: BenchUser) -> SessionsClient:
        c = SessionsClient(self.stack.app_url, user.token, self.auth_var, user.name)
        c.watch = {(self.LIVE, "room_id"), (self.LOBBY, "rooms")}
        if self.BOARD:
            c.watch.add((self.BOARD, "room_id"))
        return c

    def new_room(self, host: BenchUser, size: int) -> int:
        return create_room(self.stack.db_url, host, f"Bench {size} {uuid.uuid4().hex[:4]}")

    async def open_room(self, c: SessionsClient, room: int) -> None:
        await c.open(f"/rooms/{room}", {"room_id": str(room)})

    def in_room(self, c: SessionsClient, room: int) -> bool:
        return c.value(self.LIVE, "room_id") == room and (not self.BOARD or c.value(self.BOARD, "room_id") == room)

    async def open_lobby(self, c: SessionsClient) -> None:
        await c.open("/lobby")

    def in_lobby(self, c: SessionsClient) -> bool:
        return bool(c.value(self.LOBBY, "rooms"))

    async def chat(self, c: SessionsClient, room: int, body: str) -> None:
        await c.call(self.POST, form={"body": body})

    async def timer(self, c: SessionsClient, room: int, k: int) -> None:
        await c.call(f"{self.LIVE}.control", action="start" if k < 0 else ("pause" if k % 2 == 0 else "resume"))

    async def lobby_chat(self, c: SessionsClient, body: str) -> None:
        await c.call(f"{self.LOBBY_CHAT}.send", form={"body": body})

    # extractors
    def _tail(self, state: str):
        """Messages new to this client: from a loaded list, or from one broadcast change
        (``chat_event``: the chat pipeline sends the new message only). New means an id this
        client has not seen, as the browser's feed merges them (components/chat_feed.py):
        posts are link-free, so two posts' broadcasts may arrive in either order, and a
        message that arrives again is a duplicate."""
        def extract(c: BaseClient, frame: dict):
            sub = (frame.get("delta") or {}).get(state)
            if not sub:
                return None
            event = sub.get("chat_event_rx_state_") or {}
            items = [event["add"]] if event.get("add") else sub.get("messages_rx_state_")
            if items is None:
                return None
            ids = c.state.setdefault("ids", set())
            keys = [m["body"] for m in items if m["id"] not in ids]
            ids.update(m["id"] for m in items)
            return keys
        return extract

    def ex_chat(self):
        return self._tail(self.BOARD)

    def ex_lobby_chat(self):
        return self._tail(self.LOBBY_CHAT)

    def ex_timer(self):
        def extract(c: BaseClient, frame: dict):
            sub = (frame.get("delta") or {}).get(self.LIVE)
            if not sub or "paused_remaining_ms_rx_state_" not in sub:
                return None
            n = c.state.get("tn", 0)
            c.state["tn"] = n + 1
            return [f"t{n}"]
        return extract

    def ex_members(self, size: int):
        def extract(c: BaseClient, frame: dict):
            sub = (frame.get("delta") or {}).get(self.LIVE)
            if not sub or "members_rx_state_" not in sub or len(sub["members_rx_state_"]) < size:
                return None
            return ["full"]
        return extract

    def ex_lobby_count(self, room: int):
        def extract(c: BaseClient, frame: dict):
            sub = (frame.get("delta") or {}).get(self.LOBBY)
            if not sub or "rooms_rx_state_" not in sub:
                return None
            return [f"count{r['count']}" for r in sub["rooms_rx_state_"] if r["id"] == room]
        return extract


class FloorTarget:
    """The bare relay (bench/floor.py)."""

    name = "floor"
    has_chat = True

    def __init__(self, stack: Stack) -> None:
        self.stack = stack

    def client(self, user: BenchUser) -> FloorClient:
        return FloorClient(self.stack.floor_url, user.name)

    def new_room(self, host: BenchUser, size: int) -> str:
        return f"room-{size}-{uuid.uuid4().hex[:6]}"

    async def open_room(self, c: FloorClient, room: str) -> None:
        await c.open([room])

    def in_room(self, c: FloorClient, room: str) -> bool:
        return True

    async def open_lobby(self, c: FloorClient) -> None:
        await c.open(["lobby"])

    def in_lobby(self, c: FloorClient) -> bool:
        return True

    async def chat(self, c: FloorClient, room: str, body: str) -> None:
        await c.send("chat", {"room": room, "body": body})

    async def timer(self, c: FloorClient, room: str, k: int) -> None:
        await c.send("timer", {"room": room, "k": k})

    async def lobby_chat(self, c: FloorClient, body: str) -> None:
        await c.send("lobby_chat", {"body": body})

    def ex_chat(self):
        return lambda c, f: [f["chat"]] if "chat" in f else None

    ex_lobby_chat = ex_chat

    def ex_timer(self):
        return lambda c, f: [f"t{f['timer']}"] if "timer" in f else None

    def ex_members(self, size: int):
        return lambda c, f: ["full"] if len(f.get("members", ())) >= size else None

    def ex_lobby_count(self, room: str):
        return lambda c, f: [f"count{f['lobby'][room]}"] if room in f.get("lobby", {}) else None


# --- scenarios --------------------------------------------------------------------------------


@dataclass
class Sizes:
    room_sizes: tuple[int, ...] = (10, 50)
    storm: int = 200
    lobbies: tuple[int, ...] = (500, 1000)
    chat_paced: int = 30
    chat_interval: float = 0.25
    # A small room's 30 posts were ~270 deliveries: ~0.1 CPU-seconds, which the 10 ms ticks
    # of a process's CPU time turned into ratios anywhere from 1.8x to 3.0x between runs (CPU
    # is now counted per thread in nanoseconds: ``servers.CpuSample``; the longer runs stay,
    # they average more posts). Rooms up to 50 post until this many deliveries, faster, in
    # the same 7.5 s window.
    chat_deliveries: int = 1500
    # Larger rooms (the storm's room of 200) posted 12 messages: ~0.15 CPU-seconds, which the
    # same 10 ms ticks turned into 1.3x-2.2x between runs of one build. They post until this
    # many deliveries, at the paced interval (31 posts in a room of 200, ~7.5 s).
    chat_deliveries_large: int = 6000
    chat_burst: int = 60
    timer_actions: int = 16
    lobby_messages: int = 8
    lobby_joins: int = 3
    call_sizes: tuple[int, ...] = (4, 8, 12)


class Scenarios:
    """Runs every scenario on one target; ``tick`` advances the progress bar."""

    def __init__(self, stack: Stack, target, users: list[BenchUser], sizes: Sizes, tick: Callable[[str], None]):
        self.stack, self.t, self.users, self.sizes, self.tick = stack, target, users, sizes, tick
        self.results: dict[str, dict] = {}
        self._next_user = 0

    def take_users(self, n: int) -> list[BenchUser]:
        """Users not used before in this run (a user is one room member however many tabs)."""
        if self._next_user + n > len(self.users):
            self._next_user = 0
        out = self.users[self._next_user:self._next_user + n]
        self._next_user += n
        return out

    def cpu(self) -> CpuSample:
        return cpu_sample(self.stack.processes(self.t.name))

    # room: chat fan-out and the host's timer ------------------------------------------------

    async def room(self, size: int, members: list[BaseClient] | None = None, room=None, label: str | None = None) -> None:
        t, label = self.t, label or f"room {size}"
        own = members is None
        if own:
            users = self.take_users(size)
            room = t.new_room(users[0], size)
            members = [t.client(u) for u in users]
            await open_all(members, lambda c: t.open_room(c, room), lambda c: t.in_room(c, room))
            await asyncio.sleep(1.0)  # the batched member lists
        host = members[0]
        if t.has_chat:
            await self.chat(label, members, room)
        await self.timer(label, members, room, host)
        if own:
            await close_all(members)
            await quiet_server(self.stack, t.name)

    async def chat(self, label: str, members: list[BaseClient], room) -> None:
        t, s = self.t, self.sizes
        for c in members:
            c.reset(t.ex_chat())
            c.state = {}
        for i in range(2):  # warm-up (also sets every receiver's watermark)
            await t.chat(members[i % len(members)], room, new_key("warm"))
        await asyncio.sleep(1.0)
        for c in members:
            c.reset(t.ex_chat())
        members[1].sample_bytes = True
        paced, interval = max(8, s.chat_paced * 2 // 5), s.chat_interval
        if len(members) <= 50:
            paced = max(s.chat_paced, -(-s.chat_deliveries // (len(members) - 1)))
            interval = s.chat_interval * s.chat_paced / paced
        else:
            paced = max(paced, -(-s.chat_deliveries_large // (len(members) - 1)))
        cpu0 = self.cpu()
        sends: list[Sent] = []
        for i in range(paced):
            sender = members[(i * 7) % len(members)]
            key = new_key("chat")
            sends.append(Sent(key, time.perf_counter(), sender, members))
            await t.chat(sender, room, key)
            await asyncio.sleep(interval)
        await wait_delivered(sends, timeout=60)
        cpu1 = self.cpu()
        paced_out = outcome(sends)
        dups = sum(c.duplicates for c in members)
        self.results[f"{label} chat"] = summary(paced_out, cpu1 - cpu0, frame_bytes(members))
        self.results[f"{label} chat"]["duplicates"] = dups
        self.results[f"{label} chat"]["cpu_precise"] = cpu1.precise_since(cpu0)
        self.tick(f"{label} chat")

        # Burst: 10 senders, all at once, as fast as the server takes them.
        burst = s.chat_burst if len(members) <= 50 else max(10, s.chat_burst // 3)
        senders = members[:10]
        for c in members:
            c.duplicates = 0
        sends = []

        async def send_many(sender, n):
            for _ in range(n):
                key = new_key("burst")
                sends.append(Sent(key, time.perf_counter(), sender, members))
                await t.chat(sender, room, key)

        cpu0 = self.cpu()
        await asyncio.gather(*(send_many(c, burst // len(senders)) for c in senders))
        await wait_delivered(sends, timeout=90, quiet=3.0)
        cpu1 = self.cpu()
        res = summary(outcome(sends), cpu1 - cpu0)
        res["cpu_precise"] = cpu1.precise_since(cpu0)
        res["duplicates"] = sum(c.duplicates for c in members)
        self.results[f"{label} chat burst"] = res
        self.tick(f"{label} chat burst")

    async def timer(self, label: str, members: list[BaseClient], room, host: BaseClient) -> None:
        t, s = self.t, self.sizes
        for c in members:
            c.reset(t.ex_timer())
            c.state = {}
        await t.timer(host, room, -1)  # start
        await asyncio.sleep(1.0)
        for c in members:
            c.reset(t.ex_timer())
            c.state = {}
        cpu0 = self.cpu()
        sends = []
        for k in range(s.timer_actions):
            sends.append(Sent(f"t{k}", time.perf_counter(), host, members))
            await t.timer(host, room, k)
            await asyncio.sleep(0.3)
        await wait_delivered(sends, timeout=30)
        cpu1 = self.cpu()
        res = summary(outcome(sends), cpu1 - cpu0)
        res["cpu_precise"] = cpu1.precise_since(cpu0)
        res["duplicates"] = sum(c.duplicates for c in members if c is not host)
        self.results[f"{label} timer"] = res
        self.tick(f"{label} timer")

    # join storm ----------------------------------------------------------------------------

    async def storm(self) -> None:
        t, n = self.t, self.sizes.storm
        users = self.take_users(n)
        room = t.new_room(users[0], n)
        clients = [t.client(u) for u in users]
        for c in clients:
            c.reset(t.ex_members(n))
        cpu0 = self.cpu()
        t0 = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(t.open_room(c, room) for c in clients)), 120)
        opened = time.perf_counter() - t0
        await wait_for(lambda: all("full" in c.seen for c in clients), 90, poll=0.05)
        seen = [c.seen["full"] - t0 for c in clients if "full" in c.seen]
        cpu1 = self.cpu()
        ready = await wait_for(lambda: all(t.in_room(c, room) for c in clients), 30)
        # Every tab's page load has run to its end (Reflex's hydrated flag comes last).
        await wait_for(lambda: all(getattr(c, "hydrated_at", 0) is not None for c in clients), 60)
        loaded = [c.hydrated_at - t0 for c in clients if getattr(c, "hydrated_at", None)]
        # The rest of every tab's page load (its other on_load handlers) still runs after
        # the member lists arrive: the room is settled when the server is idle again. The
        # room's chat and timer below are measured from then on, not queued behind the joins.
        await quiet_server(self.stack, t.name)
        settled, cpu2 = time.perf_counter() - t0 - 1.0, self.cpu()  # minus the idle second
        self.results[f"join storm {n}"] = {
            "all_see_all_s": max(seen) if len(seen) == n else float("nan"),
            "p50_see_all_s": percentile(seen, 0.5), "connected_s": opened,
            "clients_seeing_all": len(seen), "clients": n, "all_ready": ready, "cpu_s": cpu1 - cpu0,
            "settled_s": settled, "cpu_settled_s": cpu2 - cpu0,
            "loaded_s": max(loaded) if len(loaded) == n else float("nan"),
        }
        self.tick(f"join storm {n}")
        # Right after: is the room usable? The host's timer and chat reach everyone.
        await self.room(n, members=clients, room=room, label=f"room {n}")
        await close_all(clients)
        await quiet_server(self.stack, t.name)

    # lobby ---------------------------------------------------------------------------------

    async def lobby(self) -> None:
        t, s = self.t, self.sizes
        host_user, *_ = self.take_users(1)
        room = t.new_room(host_user, 0)
        host = t.client(host_user)
        await open_all([host], lambda c: t.open_room(c, room), lambda c: t.in_room(c, room))
        lobby: list[BaseClient] = []
        joiners: list[BaseClient] = []
        count = 1
        await quiet_server(self.stack, t.name)
        mem0 = rss_bytes(self.stack.processes(t.name))
        for size in s.lobbies:
            users = self.take_users(size - len(lobby))
            fresh = [t.client(u) for u in users]
            await open_all(fresh, t.open_lobby, t.in_lobby, timeout=240)
            lobby += fresh
            await asyncio.sleep(2.0)
            await quiet_server(self.stack, t.name)
            mem1 = rss_bytes(self.stack.processes(t.name))
            self.results[f"idle client memory ({size})"] = {"kb_per_client": (mem1 - mem0) / size / 1024,
                                                           "clients": size}
            self.tick(f"lobby {size} connect")

            # A lobby message (the lobby chat).
            if not t.has_chat:
                self.tick(f"lobby {size} message")
            for c in (lobby if t.has_chat else []):
                c.reset(t.ex_lobby_chat())
                c.state = {}
            if t.has_chat:
                await self.lobby_message(size, lobby)

            # A live-count change: someone enters the room; every lobby tab sees the new count.
            for c in lobby:
                c.reset(t.ex_lobby_count(room))
            sends = []
            for _ in range(s.lobby_joins):
                count += 1
                joiner = t.client(self.take_users(1)[0])
                joiners.append(joiner)
                sends.append(Sent(f"count{count}", time.perf_counter(), None, lobby))
                await t.open_room(joiner, room)
                await asyncio.sleep(1.5)
            await wait_delivered(sends, timeout=30)
            res = summary(outcome(sends))
            res["duplicates"] = sum(c.duplicates for c in lobby)
            self.results[f"lobby {size} count change"] = res
            self.tick(f"lobby {size} count")
        await close_all([host, *lobby, *joiners])
        await quiet_server(self.stack, t.name)

    async def lobby_message(self, size: int, lobby: list[BaseClient]) -> None:
        t = self.t
        await t.lobby_chat(lobby[0], new_key("warm"))
        await asyncio.sleep(1.5)
        for c in lobby:
            c.reset(t.ex_lobby_chat())
        lobby[1].sample_bytes = True
        cpu0 = self.cpu()
        sends = []
        for _ in range(self.sizes.lobby_messages):
            key = new_key("lobby")
            sends.append(Sent(key, time.perf_counter(), lobby[0], lobby))
            await t.lobby_chat(lobby[0], key)
            await asyncio.sleep(0.5)
        await wait_delivered(sends, timeout=60)
        cpu1 = self.cpu()
        res = summary(outcome(sends), cpu1 - cpu0, frame_bytes(lobby))
        res["cpu_precise"] = cpu1.precise_since(cpu0)
        res["duplicates"] = sum(c.duplicates for c in lobby[1:])
        # The sender's own extra frames (its own delta and the broadcast both carry the message).
        res["sender_duplicates"] = lobby[0].duplicates
        self.results[f"lobby {size} message"] = res
        self.tick(f"lobby {size} message")

    def plan(self) -> list[tuple[str, Callable[[], Awaitable[None]]]]:
        """The scenarios in order, as (name, run) pairs (run both targets one scenario at a time)."""
        from bench.calls import call_signalling

        return [("lobby", self.lobby),
                *[(f"room {n}", lambda n=n: self.room(n)) for n in self.sizes.room_sizes],
                (f"join storm {self.sizes.storm}", self.storm),
                *[(f"call {n}", lambda n=n: call_signalling(self, n)) for n in self.sizes.call_sizes]]

    def users_needed(self) -> int:
        s = self.sizes
        return 1 + max(s.lobbies) + s.lobby_joins * len(s.lobbies) + sum(s.room_sizes) + s.storm + sum(s.call_sizes)


def steps(sizes: Sizes, has_chat: bool) -> int:
    """Progress-bar ticks for one target."""
    per_room = (2 if has_chat else 0) + 1
    return len(sizes.lobbies) * 3 + per_room * (len(sizes.room_sizes) + 1) + 1 + len(sizes.call_sizes)
