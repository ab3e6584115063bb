"""The one package that touches Reflex's semi-internal realtime API (reflex==0.10.1).

Design (measured, see docs/architecture.md "Real time"): a live room is *stored* in a small
``rx.SharedState`` (its backend copy is the authoritative cache; the room lock orders
updates) but *delivered* with one socket.io broadcast per change to a channel that every
member's socket joins in ``on_load`` — never through Reflex's per-member shared-state fan-out
(one state load + lock + delta per member), which collapses past a few dozen members.

The small API:
    ``join(sid, channel)`` / ``leave(sid, channel)``   socket enters/leaves a channel
    ``publish(shared, channel, sender_sid, **values)``  inside a handler on a shared state
    ``push(channel, state_cls, **values)``            a broadcast of a private state's vars
    ``modify_shared(cls, ident)``                       server-side change of a shared state
    ``coalesce(key, delay, fn)``                        batch bursts into one call
    ``schedule(key, when, fn)``                         run at an anchor's end time
    ``on_gone(callback)``                               a tab closed for longer than the grace
    ``every(seconds, fn)``                              periodic safety nets (sweeper, catch-up)
    ``make_sio(settings)``                              the socket.io server for several workers
    ``leave_user_channels(user_id, *channels)``         a right ended: all the user's sockets leave
    ``end_logins(user_id, script, keep=, only=)``       logins ended: their sockets leave and log out
    ``close_channel(channel)`` / ``leave_all(sid)``     everyone leaves / one socket leaves everything
    ``call_browser(to, function, data)``               the call script in a channel's (or a tab's) pages

Connections: only tab-shaped client tokens (a uuid4, as Reflex's frontend makes them) may
connect, so nobody connects *as* a shared state's key; every socket has an event budget; the
login cookie is held back from the state (``realtime.guards``). Several workers share
broadcasts through Redis (``realtime.workers``). Background tasks and timing
(``coalesce``, ``schedule``) live in ``realtime.timing``. This package is the only code that touches
Reflex internals.

If a Reflex upgrade changes any of this, ``tests/e2e/test_realtime_protocol.py`` fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import reflex as rx
from reflex.constants.state import FIELD_MARKER
from reflex.istate.manager.token import BaseStateToken

from sessions_app.live import channels
from sessions_app.realtime import fast_events, hydrated_load, lazy_states, preload, socket_path
from sessions_app.realtime import ordered_lists as ordered_lists
from sessions_app.realtime.audience import nobody_in as nobody_in
from sessions_app.realtime.fanout import Encoded as Encoded
from sessions_app.realtime.fanout import push_encoded as push_encoded

# Chat posts answered before Reflex's event queue (``realtime.fast_events``).
from sessions_app.realtime.fast_events import FastEvent as FastEvent
from sessions_app.realtime.fast_events import fast_event as fast_event

# The guards and the workers' plumbing live in their own modules; the names callers use are
# re-exported here (``realtime.is_tab_token``, ``realtime.make_sio``).
from sessions_app.realtime.guards import (
    _guard_connect,
    _install_event_budget,
    cookie_digest,
    install_cookie_hold,
)
from sessions_app.realtime.guards import _split_cookie as _split_cookie
from sessions_app.realtime.guards import held_cookie as held_cookie
from sessions_app.realtime.guards import is_tab_token as is_tab_token
from sessions_app.realtime.guards import set_event_cost as set_event_cost
from sessions_app.realtime.hydrated_load import fold_hydrated as fold_hydrated
from sessions_app.realtime.hydrated_load import mark_hydrated as mark_hydrated

# Background tasks and timing (``realtime.timing``): the names callers use, re-exported.
# Events that need none of the tab's linked states (``realtime.links``).
from sessions_app.realtime.links import link_free as link_free
from sessions_app.realtime.links import own_link_only as own_link_only

# Shared states Reflex stores but never fans out (``realtime.plain_shared``).
from sessions_app.realtime.plain_shared import broadcast_only as broadcast_only
from sessions_app.realtime.timing import _as_system, _spawn
from sessions_app.realtime.timing import cancel as cancel
from sessions_app.realtime.timing import clock_moved as clock_moved
from sessions_app.realtime.timing import coalesce as coalesce
from sessions_app.realtime.timing import debounce as debounce
from sessions_app.realtime.timing import schedule as schedule
from sessions_app.realtime.unmade import never_made as never_made
from sessions_app.realtime.workers import RedisRoomManager as RedisRoomManager
from sessions_app.realtime.workers import _leave_members_here
from sessions_app.realtime.workers import make_sio as make_sio

log = logging.getLogger("sessions.realtime")

_app: rx.App | None = None
_gone_callbacks: list[Callable[[str], Awaitable[None]]] = []
_grace_seconds = 6.0


def init(app: rx.App, *, grace_seconds: float) -> None:
    """Wire the module to the app: lifespan tasks install the disconnect hook."""
    global _app, _grace_seconds
    _app, _grace_seconds = app, grace_seconds
    lazy_states.install()  # a tab's states are made when first used (in-memory manager)
    hydrated_load.install()  # a one-event page load sets is_hydrated itself (one event less per tab)
    socket_path.install(app)  # a tab's socket skips the Starlette stacks (about 10 KB per tab)
    preload.install()  # what Reflex would import under a worker's first form post (7 MB)
    fast_events.install(app)  # the channels each socket entered, for the fast chat posts
    ordered_lists.install(app)  # member lists in order without the room's lock (several workers)
    app.register_lifespan_task(_install)


def _namespace() -> str:
    return _app.event_namespace.namespace


async def _install() -> None:
    """Wrap the event namespace's disconnect (Reflex has no public hook) and, with a Redis
    client manager, give this worker its own host id (forked workers inherit one)."""
    ns = _app.event_namespace
    original = ns.on_disconnect

    def on_disconnect(sid: str, *reason):
        token = ns.sid_to_token.get(sid)
        result = original(sid)
        if token:
            _spawn(_after_grace(token))
        return result

    ns.on_disconnect = on_disconnect
    _guard_connect(ns)
    _install_event_budget(ns)
    manager = getattr(_app.sio, "manager", None)
    if manager is not None and hasattr(manager, "host_id"):
        manager.host_id = uuid.uuid4().hex


async def is_connected(token: str) -> bool:
    """Whether a tab (client token) has a live socket on any worker."""
    return await _app.event_namespace._token_manager.is_token_connected(token)


async def _after_grace(token: str) -> None:
    await asyncio.sleep(_grace_seconds)
    if await is_connected(token):
        return  # a reload or a short network drop: the tab is back
    for callback in _gone_callbacks:
        await callback(token)


def on_gone(callback: Callable[[str], Awaitable[None]]) -> None:
    """Call ``callback(token)`` when a tab has been disconnected for longer than the grace."""
    _gone_callbacks.append(callback)


# --- a credential cookie kept off the state -------------------------------------------------


def hold_back_cookie(name: str) -> None:
    """Keep the cookie ``name`` (the HttpOnly login) out of Reflex's state, read it per socket.

    Reflex caches each socket's handshake headers — the ``Cookie`` header included — and
    copies them into every event's router data, which lands in ``State.router`` and so in the
    persisted state (state files, Redis). At connect this takes the cookie out of the cached
    headers and keeps its value in a per-socket map; ``held_cookie(sid)`` reads it.
    """
    def install_cookie_hold() -> None:
        _install_cookie_hold(name)

    # A plain function: the lifespan runs it before the server takes its first connection.
    _app.register_lifespan_task(install_cookie_hold)


def _install_cookie_hold(name: str) -> None:
    install_cookie_hold(_app.event_namespace, name)


# --- a deleted user's tabs ----------------------------------------------------------------------


def reset_tabs(tokens: list[str], state_classes: list[type[rx.State]]) -> None:
    """Reset these tabs' ``state_classes`` to their defaults in the state store (an account
    was deleted: nothing of it may stay in state files or Redis). Runs in the background and
    waits for each tab's lock, so a handler running on it (the deleting one) finishes first;
    pass only private states: a shared state would be reset for the whole room."""
    for token in tokens:
        _spawn(_reset_tab(token, state_classes))


async def _reset_tab(token: str, state_classes: list[type[rx.State]]) -> None:
    async with _app.modify_state(BaseStateToken(ident=token, cls=rx.State)) as root:
        for cls in state_classes:
            (await root.get_state(cls)).reset()


# --- delivery -------------------------------------------------------------------------------


async def join(sid: str, channel: str) -> None:
    """Put a socket in a channel (socket.io drops it on disconnect; on_load re-joins)."""
    try:
        await _app.sio.enter_room(sid, channel, namespace=_namespace())
    except (KeyError, ValueError):
        # The socket closed while its on_load ran (a tab that navigated on at once): there is
        # nothing to join, and its next connection's on_load joins again. (python-socketio
        # 5.18 raises ValueError "sid is not connected to requested namespace" for it.)
        log.debug("socket %s left before joining %s", sid, channel)


async def leave(sid: str, channel: str) -> None:
    """Take a socket out of a channel."""
    await _app.sio.leave_room(sid, channel, namespace=_namespace())


def user_channel(user_id: int) -> str:
    """A user's own channel (``live.channels.user``; kept here for callers of the old name)."""
    return channels.user(user_id)


async def leave_user_channels(user_id: int, *channels: str) -> None:
    """A user's right to ``channels`` ended (left, logged out, deleted, removed): every socket
    of theirs leaves them now, on every worker. No ``channels``: every channel they are in.

    socket.io lists only this worker's members of a room; with the Redis manager the request
    also goes to the other workers (``RedisRoomManager.leave_members``)."""
    manager, namespace = _app.sio.manager, _namespace()
    wanted = list(channels) or None
    await _leave_members_here(manager, namespace, user_channel(user_id), wanted)
    if isinstance(manager, RedisRoomManager):
        await manager.leave_members(namespace, user_channel(user_id), wanted)


async def end_logins(user_id: int, script: str, *, keep: str = "", only: str = "", skip_sid: str = "") -> None:
    """Logins of ``user_id`` ended: ``only`` that one (a logout), every one but ``keep`` (a
    password change), or every one (a reset by mail). Each socket of the user, on every worker,
    that presented an ended login cookie at its handshake leaves every channel now and runs
    ``script`` (the logout route), except ``skip_sid`` (the caller: it gets its own answer).

    The sockets are found through the user's channel (``channels.user``), which every page
    load of a logged-in tab joins, so a tab whose cookie died gets nothing more even if it
    ignores the script. Cookies travel between
    workers as digests only (``guards.cookie_digest``)."""
    manager, namespace = _app.sio.manager, _namespace()
    ended = {"keep": cookie_digest(keep), "only": cookie_digest(only), "skip": skip_sid}
    update = _script_update(script)
    await _leave_members_here(manager, namespace, user_channel(user_id), None, ended, update)
    if isinstance(manager, RedisRoomManager):
        await manager.leave_members(namespace, user_channel(user_id), None, ended, update)


async def close_channel(channel: str) -> None:
    """Everyone leaves ``channel`` (on every worker): nobody holds the right any more."""
    await _app.sio.close_room(channel, namespace=_namespace())


async def leave_all(sid: str) -> None:
    """One socket (of this worker: the caller's own) leaves every channel it is in."""
    for room in _app.sio.rooms(sid, namespace=_namespace()):
        if room != sid:
            await leave(sid, room)


def _plain(value):
    """Dataclasses (and lists of them) as plain JSON values, as Reflex would send them."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def route_param(state: rx.State, name: str) -> str | None:
    """A dynamic route argument of the tab's page (``room_id`` of ``/rooms/[room_id]``).

    ``router.page`` is deprecated, and each read walks the call stack to report where it was
    used (a measurable share of a room page's load in a join storm); ``router.url`` has no
    route arguments. The page data is still there, under its private name."""
    return state.router._page.params.get(name)


def client_key(var_name: str) -> str:
    """The key a state var has in the browser's state store (and in deltas)."""
    return var_name + FIELD_MARKER


def _delta(state_cls: type[rx.State], values: dict) -> dict:
    return {"delta": {state_cls.get_full_name(): {k + FIELD_MARKER: _plain(v) for k, v in values.items()}},
            "events": []}


async def unlink_all(state: rx.State) -> None:
    """Unlink the calling tab from every shared state it is linked to (it left its room), so
    later events and reloads of the tab no longer load — or receive — the room's data.

    The rehydrate events ``_unlink`` returns are dropped on purpose: a server-sent hydrate
    carries no client storage, so it would reset cookie vars (the login token) to defaults.
    """
    root = state._get_root_state()
    for name in list(root._reflex_internal_links or {}):
        shared = await state.get_state(root.get_class_substate(name))
        if shared._linked_to:
            detach_fanout(shared)
            await shared._unlink()


def detach_fanout(shared: rx.SharedState) -> None:
    """Switch Reflex's per-member fan-out off for this change (it reads ``_linked_from``
    after the handler returns); the sender still gets its own delta."""
    shared._linked_from.clear()


def leave_out_of_delta(state: rx.State, *names: str) -> None:
    """This event's own delta does not carry ``names`` of ``state`` (they were marked dirty,
    e.g. by a link): the tab gets them from a broadcast that is on its way anyway."""
    state.dirty_vars.difference_update(names)


async def publish(shared: rx.SharedState, channel: str, sender_sid: str | None, **values) -> None:
    """Inside a handler on a shared state: set ``values`` on it and send ONE broadcast to the
    channel's other members. Emitting here, under the room lock, keeps updates in order."""
    for name, value in values.items():
        setattr(shared, name, value)
    detach_fanout(shared)
    await _app.sio.emit("event", _delta(type(shared), values), to=channel, namespace=_namespace(),
                        skip_sid=sender_sid)


async def push(channel: str, state_cls: type[rx.State], *, skip_sid: str | None = None, **values) -> None:
    """One broadcast of plain var values to every socket in a channel (no state load);
    ``skip_sid``: a sender that already gets the same values in its own delta."""
    await _app.sio.emit("event", _delta(state_cls, values), to=channel, namespace=_namespace(),
                        skip_sid=skip_sid)


async def call_browser(to: str, function: str, data) -> None:
    """Run ``window.SessionsCall[function](data)`` (``assets/calls.js``) in every socket of
    ``to`` — a channel, or one socket id (one tab). The data travels as a JSON literal inside
    a ``_call_script`` event, the frontend's ordered event queue: a burst of signals reaches
    the page one by one and in order (state deltas could be batched into one render)."""
    code = f"window.SessionsCall&&window.SessionsCall.on({json.dumps(function)},{json.dumps(data, default=dataclasses.asdict)})"
    await _app.sio.emit("event", _script_update(code), to=to, namespace=_namespace())


def _script_update(code: str) -> dict:
    """An ``event`` frame that runs ``code`` in the page (``rx.call_script``'s event)."""
    return {"delta": {}, "events": [{"name": "_call_script", "router_data": {},
                                     "payload": {"javascript_code": code, "callback": None}}]}


@contextlib.asynccontextmanager
async def modify_shared(state_cls: type[rx.SharedState], ident: str) -> AsyncIterator[rx.SharedState]:
    """Change a shared state from the server (a timer end, a departure) under its lock.

    Yields the shared instance; the caller sets vars and calls ``push`` for the broadcast.
    Fan-out is detached and the delta to the (socket-less) shared token is dropped.
    """
    async with _app.modify_state(BaseStateToken(ident=ident, cls=state_cls)) as root:
        shared = await root.get_state(state_cls)
        yield shared
        detach_fanout(shared)
        root._clean()


# --- timing -------------------------------------------------------------------------------------


def every(seconds: float, fn: Callable[[], Awaitable[None]], *, first_delay: float = 0.0) -> None:
    """Run ``fn`` now (after ``first_delay``) and then every ``seconds`` for the app's life."""

    async def loop() -> None:
        await asyncio.sleep(first_delay)
        while True:
            try:
                await _as_system(fn())
            except Exception:
                log.exception("periodic task failed")
            await asyncio.sleep(seconds)

    _app.register_lifespan_task(loop)
