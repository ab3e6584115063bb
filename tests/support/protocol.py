"""A python-socketio client that speaks Reflex's ``/_event`` protocol (reflex 0.10.1).

Used to send crafted events the UI would never send and to count the frames each client
receives. The protocol: a socket.io client on ``/_event/`` (websocket only) whose connect
packet carries the ``hydrate_and_load`` event (it also runs the page's ``on_load``); handlers are
called with ``emit("event", {"name", "payload", "router_data"})``; updates come back as
``"event"`` frames with ``{"delta": {state full name: {var + "_rx_state_": value}}}``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import socketio

from sessions_app.login_cookie import LOGIN_COOKIE
from tests.support.factories import new_login

NAMESPACE = "/_event"
HYDRATE = "reflex___state____state.hydrate_and_load"


def protocol_user(database_url: str, name: str) -> tuple[int, str]:
    """A logged-in account in the app's database for a protocol client: (user id, login token)."""
    user_id, _, token = new_login(database_url, name)
    return user_id, token


def router(path: str, query: dict | None = None) -> dict:
    return {"pathname": path, "asPath": path, "query": query or {}}


@dataclass
class ReflexClient:
    """One browser tab, minus the browser."""

    url: str
    login_token: str
    frames: list[dict] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    path: str = "/"
    query: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("event", self._on_event, namespace=NAMESPACE)

    async def _on_event(self, data) -> None:
        self.frames.append(data if isinstance(data, dict) else json.loads(data))
        self.arrivals.append(time.perf_counter())

    async def open(self, path: str, query: dict | None = None) -> None:
        """Connect as a tab opening ``path`` (the connect packet hydrates and runs on_load)."""
        self.path, self.query = path, query or {}
        auth = {"event": {"name": HYDRATE, "payload": {}, "router_data": router(path, self.query)}}
        # The login travels as a browser sends it: the HttpOnly cookie on the handshake.
        headers = {"Cookie": f"{LOGIN_COOKIE}={self.login_token}"} if self.login_token else {}
        await self.sio.connect(f"{self.url}?token={uuid.uuid4()}", socketio_path="/_event/", headers=headers,
                               namespaces=[NAMESPACE], transports=["websocket"], auth=auth, wait_timeout=20)

    async def call(self, handler: str, **payload) -> None:
        """Send an event to any handler, with any payload (as a crafted client could)."""
        await self.sio.emit("event", {"name": handler, "payload": payload,
                                      "router_data": router(self.path, self.query)}, namespace=NAMESPACE)

    def values(self, state_name: str, var: str) -> list:
        """Every value of ``var`` of ``state_name`` this client received, in order."""
        key = var + "_rx_state_"
        return [f["delta"][state_name][key] for f in self.frames
                if key in f.get("delta", {}).get(state_name, {})]

    def last(self, state_name: str, var: str, default=None):
        vals = self.values(state_name, var)
        return vals[-1] if vals else default

    def chat(self, state_name: str, keep: int = 50) -> list:
        """The chat list a browser would show: the loaded ``messages`` with every broadcast
        ``chat_event`` merged in, as ``components.chat_feed`` does (``MessageView`` items)."""
        from sessions_app.live.chat import apply, views_from_wire

        seen, view = [], []
        for frame in self.frames:
            values = frame.get("delta", {}).get(state_name, {})
            event = values.get("chat_event_rx_state_")
            fresh = [event] if event and event.get("seq") else []
            seen += fresh
            if "messages_rx_state_" in values:
                view = apply(views_from_wire(values["messages_rx_state_"]), seen, keep)
            elif fresh:
                view = apply(view, fresh, keep)
        return view

    def scripts(self) -> list[str]:
        """The JavaScript of every ``rx.call_script`` the server sent this tab, in order."""
        return [e["payload"]["javascript_code"] for f in self.frames for e in f.get("events") or []
                if e.get("name") == "_call_script"]

    def text(self) -> str:
        """Everything received, as one string (for privacy checks)."""
        return json.dumps(self.frames)

    async def close(self) -> None:
        await self.sio.disconnect()


def run(coro) -> object:
    """Run a scenario on its own thread and loop: pytest-playwright's sync API keeps an event
    loop running on the main thread, where ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def eventually(condition, timeout: float = 15.0) -> bool:
    """Whether ``condition()`` becomes true within ``timeout`` (polled): for what must arrive,
    where ``settle``'s quiet gap can pass first on a busy machine."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


async def settle(clients: list[ReflexClient], quiet: float = 0.6, limit: float = 20.0) -> None:
    """Wait until no client has received anything for ``quiet`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        counts = [len(c.frames) for c in clients]
        await asyncio.sleep(quiet)
        if counts == [len(c.frames) for c in clients]:
            return
