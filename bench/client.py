"""Load-generator clients: one python-socketio connection per simulated tab.

``SessionsClient`` speaks Reflex's ``/_event`` protocol (docs/architecture.md): the connect
packet carries the ``hydrate_and_load`` event with the login token in the payload's vars,
handlers are called with ``event`` packets, updates arrive as ``event`` with ``{"delta":
{state: {var_rx_state_: value}}}``. ``FloorClient`` speaks the floor's tiny protocol
(bench/floor.py). Both record, per scenario key, the first arrival time; frames that carry
nothing new count as duplicates.

JSON is decoded with orjson in both, so the load generator (on the same 2 cores as the
servers) spends as little as possible per frame.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterable
from types import SimpleNamespace

import orjson
import socketio

NAMESPACE = "/_event"
HYDRATE = "reflex___state____state.hydrate_and_load"
FIELD = "_rx_state_"
HYDRATED = "is_hydrated" + FIELD
FAST_JSON = SimpleNamespace(dumps=lambda obj, **_: orjson.dumps(obj).decode(), loads=orjson.loads)

# A scenario's extractor: frame → keys newly seen in it, or None when the frame is unrelated.
Extractor = Callable[["BaseClient", dict], Iterable[str] | None]


class BaseClient:
    """What both kinds of client record."""

    namespace = "/"

    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.AsyncClient(reconnection=False, json=FAST_JSON)
        self.sio.on("event", self._on_event, namespace=self.namespace)
        self.sio.on("disconnect", self._on_disconnect, namespace=self.namespace)
        self.extract: Extractor | None = None
        self.seen: dict[str, float] = {}
        self.frames = 0
        self.duplicates = 0
        self.disconnected = False
        self.bytes_sample: list[int] = []
        self.sample_bytes = False
        self.state: dict = {}  # scenario scratch (watermarks, counters)

    def reset(self, extract: Extractor | None = None) -> None:
        """Start recording for a new scenario step."""
        self.extract, self.seen, self.frames, self.duplicates = extract, {}, 0, 0
        self.bytes_sample = []

    async def _on_disconnect(self, *args) -> None:
        self.disconnected = True

    async def _on_event(self, data) -> None:
        now = time.perf_counter()
        self.observe(data)
        if self.extract is None:
            return
        keys = self.extract(self, data)
        if keys is None:
            return
        self.frames += 1
        if self.sample_bytes and len(self.bytes_sample) < 20:
            self.bytes_sample.append(len(orjson.dumps(data)))
        new = False
        for key in keys:
            if key not in self.seen:
                self.seen[key] = now
                new = True
        if not new:  # a frame that brought nothing new: a duplicate delivery
            self.duplicates += 1

    def observe(self, data: dict) -> None:
        """Keep what readiness checks need (overridden)."""

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.sio.disconnect(), 10)
        except Exception:
            pass


class SessionsClient(BaseClient):
    """A tab of the real app, minus the browser."""

    namespace = NAMESPACE

    def __init__(self, url: str, login_token: str, auth_var: str, name: str) -> None:
        super().__init__(name)
        self.url, self.login_token, self.auth_var = url, login_token, auth_var
        self.path, self.query = "/", {}
        self.values: dict[tuple[str, str], object] = {}
        self.watch: set[tuple[str, str]] = set()
        self.hydrated_at: float | None = None

    def observe(self, data: dict) -> None:
        delta = data.get("delta") or {}
        # The page load's last step (Reflex's ``set_is_hydrated``, after every on_load event).
        if self.hydrated_at is None and any(sub.get(HYDRATED) is True for sub in delta.values()):
            self.hydrated_at = time.perf_counter()
        for state, var in self.watch:
            sub = delta.get(state)
            if sub is not None and var + FIELD in sub:
                self.values[(state, var)] = sub[var + FIELD]

    def value(self, state: str, var: str, default=None):
        return self.values.get((state, var), default)

    async def open(self, path: str, query: dict | None = None) -> None:
        """Connect as a tab opening ``path``: the connect packet hydrates and runs on_load."""
        self.path, self.query = path, query or {}
        self.hydrated_at = None
        auth = {"event": {"name": HYDRATE, "payload": {}, "router_data": self._router()}}
        # The login is the HttpOnly cookie a browser sends on the handshake.
        await self.sio.connect(f"{self.url}?token={uuid.uuid4()}", socketio_path="/_event/",
                               headers={"Cookie": f"{self.auth_var}={self.login_token}"},
                               namespaces=[NAMESPACE], transports=["websocket"], auth=auth, wait_timeout=30)

    def _router(self) -> dict:
        return {"pathname": self.path, "asPath": self.path, "query": self.query}

    async def call(self, handler: str, **payload) -> None:
        await self.sio.emit("event", {"name": handler, "payload": payload, "router_data": self._router()},
                            namespace=NAMESPACE)


class FloorClient(BaseClient):
    """A client of the bare relay."""

    def __init__(self, url: str, name: str) -> None:
        super().__init__(name)
        self.url = url
        self.last: dict = {}

    def observe(self, data: dict) -> None:
        self.last.update(data)

    async def open(self, rooms: list[str]) -> None:
        await self.sio.connect(self.url, transports=["websocket"], auth={"name": self.name, "rooms": rooms},
                               wait_timeout=30)

    async def send(self, event: str, data: dict) -> None:
        await self.sio.emit(event, data)
