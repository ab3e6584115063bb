"""Events answered before Reflex's event queue: the hot, link-free chat posts.

Every event Reflex handles costs, besides the handler: building its router data, a task in
the tab's event queue, the tab's state lock, turning the payload into the handler's
argument types, the handler's own ``get_state`` calls, resolving and cleaning the tree's
delta, and one answer frame per returned event. For a chat post that touches none of the
tab's state — the room is known from the socket's channel, the user from the login cookie,
and what it changes goes to the browsers as one broadcast — that machinery was most of the
server's time per post (measured: docs/architecture.md "Real time").

``fast_event(state_cls, "handler", fn)`` registers ``fn(event: FastEvent) -> bool`` for the
event ``<state full name>.handler``. The socket event is taken before Reflex queues it
(``EventNamespace.on_event``, patched on the class so the per-socket event budget of
``realtime.guards``, an instance wrapper, still runs first). ``fn`` returns True when it
answered the event itself, False to hand it to Reflex's own handler unchanged: a fast
handler answers only the common case it is sure of (a logged-in caller whose socket is in
the chat's channel) and leaves every other case to the full handler, which stays the one
source of its behaviour. A fast handler reads nothing the browser sent except the
handler's arguments: the user comes from the login cookie held for the socket, the room or
session from the channel the server put the socket in (``FastEvent.channel``).

The answer (``FastEvent.answer``) goes to the sending socket only, in the shape Reflex's
frontend applies (``{"delta": {state: {var_rx_state_: value}}, "events": [...]}``; reflex
0.10.1's frontend has no "final" flag: it sends each queued event without waiting for an
answer). The tab's backend copy of the vars in that answer is not changed: the vars a fast
handler answers with (a form's error, the chat change var) are ones every load resets.

Per socket and per event, Reflex's frontend sends one event at a time and python-socketio
runs the handler inline (``async_handlers=False``): a socket's fast events are answered in
the order it sent them. They are not ordered with the same tab's events in Reflex's queue
(a post needs none of them: its order is the chat's sequence numbers).

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import reflex as rx
from reflex.app import EventNamespace
from reflex.constants.state import FIELD_MARKER
from reflex_base.event import Event
from reflex_base.utils.form import transform_form_data

from sessions_app.realtime import fanout

log = logging.getLogger("sessions.realtime")

FastHandler = Callable[["FastEvent"], Awaitable[bool]]
# Full event name -> its fast handler.
_FAST: dict[str, FastHandler] = {}
# Per socket: the channels the server put it in, newest last (``_note_join``); checked
# against socket.io's own membership on every use, so a channel left since is skipped.
_JOINED: dict[str, list[str]] = {}
MAX_NOTED = 16


def fast_event(state_cls: type[rx.State], handler: str, fn: FastHandler) -> str:
    """Answer ``state_cls.handler`` events with ``fn`` before Reflex queues them (``fn``
    returns False to let Reflex's handler run instead); returns the event's full name.

    Nothing of the tab's state is loaded or locked for ``fn``: a handler of a shared state
    (a room's store) takes the store's own lock where it changes it (``realtime.modify_shared``,
    the lock Reflex's own handler would hold)."""
    if not callable(getattr(state_cls, handler, None)):
        raise AttributeError(f"{state_cls.__name__} has no handler {handler!r}")
    name = f"{state_cls.get_full_name()}.{handler}"
    _FAST[name] = fn
    return name


class FastEvent:
    """One socket event taken before Reflex's queue: who sent it and its arguments."""

    __slots__ = ("sid", "payload", "_ns")

    def __init__(self, ns: EventNamespace, sid: str, payload: dict) -> None:
        self._ns, self.sid, self.payload = ns, sid, payload

    def form(self, name: str = "form") -> dict:
        """A form argument as a handler annotated ``dict`` gets it (Reflex's own decoding of
        the frontend's form entries); {} for anything that is not a form."""
        value = transform_form_data(self.payload.get(name), dict)
        return value if isinstance(value, dict) else {}

    def channel(self, parse: Callable[[str], Any]) -> Any:
        """``parse(name)`` of the newest channel the server put this socket in that it is
        still in and ``parse`` accepts (None for every other name), or None."""
        manager = self._ns.server.manager
        rooms = manager.rooms.get(self._ns.namespace, {})
        for name in reversed(_JOINED.get(self.sid, ())):
            if self.sid in rooms.get(name, ()) and (found := parse(name)) is not None:
                return found
        return None

    async def answer(self, values: dict[type[rx.State], dict[str, Any]], *,
                     set_value: tuple[str, str] | None = None) -> None:
        """Send the sender's socket var values (per state class) and, with ``set_value``
        (element id, value), the frontend's ``set_value`` event — one frame."""
        update: dict[str, Any] = {"delta": {cls.get_full_name(): {k + FIELD_MARKER: v for k, v in vals.items()}
                                            for cls, vals in values.items()}}
        if set_value is not None:
            update["events"] = [_set_value_event(*set_value)]  # (shared: never changed)
        await fanout.send(self._ns, self.sid, update)  # ``fanout.Encoded`` values spliced in


@functools.lru_cache(maxsize=64)
def _set_value_event(element_id: str, value: str) -> dict:
    """``rx.set_value(element_id, value)`` as the frontend receives it in ``events`` (made
    once per element: building the event spec costs more than the rest of an answer)."""
    (event,) = Event.from_event_type(rx.set_value(element_id, value))
    return {"name": event.name, "router_data": {}, "payload": dict(event.payload)}


# --- the interception --------------------------------------------------------------------------

_reflex_on_event = EventNamespace.on_event
_reflex_on_disconnect = EventNamespace.on_disconnect


async def _on_event(self: EventNamespace, sid: str, data: Any):
    """``EventNamespace.on_event``: a registered fast event is answered here, anything else
    (and a fast event its handler declines) goes to Reflex's queue as before."""
    if isinstance(data, dict) and (fn := _FAST.get(data.get("name"))) is not None \
            and sid in self.sid_to_token:
        payload = data.get("payload")
        try:
            if await fn(FastEvent(self, sid, payload if isinstance(payload, dict) else {})):
                return None
        except Exception:
            # Nothing half-done is handed on: a handler fails before its transaction commits
            # or after its broadcast. Reflex would log a handler's error the same way.
            log.exception("fast event %s failed", data.get("name"))
            return None
    return await _reflex_on_event(self, sid, data)


def _on_disconnect(self: EventNamespace, sid: str, *reason):
    _JOINED.pop(sid, None)
    return _reflex_on_disconnect(self, sid)


EventNamespace.on_event = _on_event
EventNamespace.on_disconnect = _on_disconnect


def _note_join(sid: str, channel: str) -> None:
    noted = _JOINED.setdefault(sid, [])
    if channel in noted:
        noted.remove(channel)
    noted.append(channel)
    del noted[:-MAX_NOTED]


def install(app: rx.App) -> None:
    """Note every channel a socket enters (``realtime.join`` → ``sio.enter_room``), so a
    fast event finds its socket's channel without scanning every room (at startup: the
    socket.io server exists then)."""

    def wrap_enter_room() -> None:
        sio = app.sio
        enter = sio.enter_room

        async def enter_room(sid, room, namespace=None):
            await enter(sid, room, namespace=namespace)
            _note_join(sid, room)  # after: a refused enter (socket gone) is not noted

        sio.enter_room = enter_room

    app.register_lifespan_task(wrap_enter_room)
