"""A chat change's frames: its value encoded to JSON once, each frame handed to the sockets
without a task per socket.

A room post sends the same change value twice — in the broadcast to the channel's other
sockets and in the sender's answer (``FastEvent.answer``) — and python-socketio's ``emit``
encodes each frame's data from scratch (walking it first for binary parts), then wraps the
send to each socket in its own task and waits for them all. A socket's send only queues the
frame for that socket's writer (engine.io's unbounded queue: it never waits), so the tasks
buy nothing; with a post every few dozen milliseconds each of them ran with cold caches, a
measurable share of the server's time per delivery (docs/architecture.md "Real time").

``Encoded(value)`` holds a value and its JSON text (made once, by the server's own JSON
module); ``send(ns, to, update, skip_sid=...)`` sends ``update`` (Reflex's ``{"delta": ...,
"events": [...]}`` shape, ``Encoded`` values anywhere in its dicts) as ONE socket.io event
frame to every socket of ``to`` (a channel, or one socket id) but ``skip_sid``: the frame's
text is the same bytes python-socketio would make (the same JSON module and separators, the
value's text spliced in where it stands), and the sockets get it in the order the manager
lists them, as ``emit`` hands them out. A socket that closed meanwhile is skipped, as its
task would have failed alone.

Only a server whose client manager is python-socketio's in-process ``AsyncManager`` (one
worker) is served this way: with several workers (``RedisRoomManager``) a broadcast must
reach the other workers' sockets through Redis, so ``send`` hands the plain values to the
namespace's ``emit`` as before.

Part of the ``realtime`` package: the only code that touches Reflex (and socket.io) internals.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

import socketio
from engineio import packet as eio_packet
from reflex.constants.state import FIELD_MARKER
from socketio import packet as sio_packet

log = logging.getLogger("sessions.realtime")

# Stands in for an encoded value while the rest of a frame is encoded (private-use characters
# around a random token: no value of a frame holds it by chance).
_MARK = f"\ue000{secrets.token_hex(8)}\ue000"
_SEPARATORS = (",", ":")  # what python-socketio's packet encoder passes


class Encoded:
    """A frame value whose JSON text is made once (on its first frame) for every frame it
    travels in."""

    __slots__ = ("value", "_json", "_text")

    def __init__(self, value: Any) -> None:
        self.value = value
        self._json, self._text = None, ""

    def text(self, json_module) -> str:
        """The value's JSON by ``json_module`` (a socket.io server's), as its packets write it."""
        if self._json is not json_module:
            self._json, self._text = json_module, json_module.dumps(self.value, separators=_SEPARATORS)
        return self._text

    def __repr__(self) -> str:
        return f"Encoded({self.value!r})"


def _json_of(ns):
    return ns.server.packet_class.json


def plain(value: Any) -> Any:
    """``value`` with every ``Encoded`` in its dicts and lists back as its plain value."""
    if isinstance(value, Encoded):
        return value.value
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def _marked(value: Any, texts: list[Encoded]) -> Any:
    """``value`` with each ``Encoded`` replaced by the mark and appended to ``texts``."""
    if isinstance(value, Encoded):
        texts.append(value)
        return _MARK
    if isinstance(value, dict):
        return {k: _marked(v, texts) for k, v in value.items()}
    if isinstance(value, list):
        return [_marked(v, texts) for v in value]
    return value


def frame_text(json_module, namespace: str, update: dict) -> str:
    """The socket.io EVENT packet text of ``("event", update)`` in ``namespace``, as
    ``socketio.Packet.encode`` writes it, with each ``Encoded``'s text in its place."""
    values: list[Encoded] = []
    data = json_module.dumps(["event", _marked(update, values)], separators=_SEPARATORS)
    if values:
        # The mark as the module writes a string: in quotes, nothing in it escaped.
        pieces = data.split(f'"{_MARK}"')
        if len(pieces) != len(values) + 1:  # the module escaped it after all: encode it all
            data = json_module.dumps(["event", plain(update)], separators=_SEPARATORS)
        else:
            texts = [v.text(json_module) for v in values]
            data = "".join(p for pair in zip(pieces, [*texts, ""], strict=True) for p in pair)
    prefix = "" if namespace == "/" else namespace + ","
    return f"{sio_packet.EVENT}{prefix}{data}"


def serves(ns) -> bool:
    """Whether ``send`` hands ``ns``'s frames out itself (one worker's in-process manager)."""
    return type(getattr(ns.server, "manager", None)) is socketio.AsyncManager


async def send(ns, to: str, update: dict, *, skip_sid: str | None = None) -> None:
    """One event frame of ``update`` to every socket of ``to`` in ``ns`` but ``skip_sid``."""
    if not serves(ns):
        extra = {} if skip_sid is None else {"skip_sid": skip_sid}
        await ns.emit("event", plain(update), to=to, **extra)
        return
    server, namespace = ns.server, ns.namespace
    pkt = eio_packet.Packet(eio_packet.MESSAGE, frame_text(_json_of(ns), namespace, update))
    for sid, eio_sid in list(server.manager.get_participants(namespace, to)):
        if sid == skip_sid:
            continue
        try:
            await server._send_eio_packet(eio_sid, pkt)
        except Exception:  # a socket closing meanwhile: the others still get the frame
            log.debug("a frame to socket %s was not sent", sid, exc_info=True)


async def push_encoded(channel: str, state_cls: type, *, skip_sid: str | None = None, **values) -> None:
    """``realtime.push`` for values that may be ``Encoded``: one frame of the state's var
    values to every socket of ``channel`` but ``skip_sid``, in the app's event namespace."""
    # The package holds the app (``realtime.init``); imported here: it imports this module.
    from sessions_app import realtime

    update = {"delta": {state_cls.get_full_name(): {k + FIELD_MARKER: v for k, v in values.items()}}, "events": []}
    await send(realtime._app.event_namespace, channel, update, skip_sid=skip_sid)
