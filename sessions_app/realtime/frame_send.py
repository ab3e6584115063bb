"""A tab's frames go from socket.io to the server's own ``send``: Reflex's subprotocol wrapper
handles the accept only.

Reflex mounts socket.io inside a ``HeaderMiddleware`` whose ``send`` wrapper changes one
message in a socket's life, the accept (it names the subprotocol the browser asked for: the
Reflex version). engine.io's ASGI ``WebSocket`` keeps the ``send`` it is given for every
later frame, so each frame to each tab passed through the wrapper's extra coroutine, which
changes nothing after the accept — a per-delivery cost the bare socket.io relay does not pay.

``DirectFramesWebSocket`` is engine.io's ``WebSocket`` sending its accept through the
wrapper (so the accept is exactly Reflex's) and every later frame through the server's own
``send``, which ``realtime.socket_path`` puts in the socket's ASGI scope (``RAW_SEND``). A
scope without it (another mount) keeps the wrapper for everything. ``install(sio)`` makes a
socket.io server's engine.io use it (the driver table is copied, not changed in place).

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

from engineio.async_drivers.asgi import WebSocket

# The scope key under which ``socket_path`` leaves the server's own ``send`` for the socket.
RAW_SEND = "sessions.raw_send"


class DirectFramesWebSocket(WebSocket):
    """engine.io's ASGI WebSocket: the accept through the mounted app's ``send`` (Reflex's
    subprotocol fix), the frames through the server's own."""

    async def __call__(self, environ):
        self.asgi_receive = environ["asgi.receive"]
        self.asgi_send = environ["asgi.send"]
        await self.asgi_send({"type": "websocket.accept"})  # what engine.io sends, through the wrapper
        self.asgi_send = environ["asgi.scope"].get(RAW_SEND, self.asgi_send)
        await self.handler(self)
        return ""  # as engine.io's: send nothing as response


def install(sio) -> None:
    """Make ``sio``'s engine.io server open its WebSockets as ``DirectFramesWebSocket``."""
    eio = sio.eio
    if eio._async.get("websocket") is not DirectFramesWebSocket:
        eio._async = {**eio._async, "websocket": DirectFramesWebSocket}
