"""A tab's frames skip Reflex's subprotocol wrapper (``realtime.frame_send``): the accept
still goes through it — and names the subprotocol the browser asked for, as Reflex's does —
and every later frame goes to the server's own ``send``."""

from __future__ import annotations

import asyncio

import engineio.async_drivers.asgi as eio_asgi

import sessions_app.sessions_app as app_module
from sessions_app.realtime import frame_send, socket_path


def _reflex_wrapper(inner):
    """Reflex's own subprotocol wrapper (the class it mounts at the event path) around ``inner``."""
    return type(socket_path.mounted_socket_app(app_module.app))(inner)


def _run_socket(scope: dict) -> list[tuple[str, dict]]:
    """A socket served by ``DirectFramesWebSocket`` inside Reflex's wrapper, sending two frames
    and closing. The server's ``send`` is one function; here the dispatcher's two handles on
    it (the one given to the wrapper, the one left in the scope) record which path each
    message took."""
    got: list[tuple[str, dict]] = []

    async def through_wrapper(message):
        got.append(("wrapper", message))

    async def direct(message):
        got.append(("direct", message))

    async def handler(ws):
        await ws.send('42["event",{}]')
        await ws.send(b"\x01")
        await ws.close()

    async def socket_app(scope, receive, send):  # engine.io's part: the environ it builds
        ws = frame_send.DirectFramesWebSocket(handler, None)
        await ws({"asgi.receive": receive, "asgi.send": send, "asgi.scope": scope})

    wrapped = _reflex_wrapper(socket_app)

    async def dispatch():  # what socket_path's dispatcher does for a socket
        scope[frame_send.RAW_SEND] = direct
        await wrapped(scope, None, through_wrapper)

    asyncio.run(dispatch())
    return got


def test_the_accept_is_reflexs_and_the_frames_go_straight_to_the_server():
    got = _run_socket({"type": "websocket", "path": "/_event/", "subprotocols": ["0.10.1"]})
    assert got == [("wrapper", {"type": "websocket.accept", "subprotocol": "0.10.1"}),
                   ("direct", {"type": "websocket.send", "bytes": None, "text": '42["event",{}]'}),
                   ("direct", {"type": "websocket.send", "bytes": b"\x01", "text": None}),
                   ("direct", {"type": "websocket.close"})]


def test_frames_keep_the_wrapper_where_no_server_send_was_left_in_the_scope():
    sent_through = []

    async def handler(ws):
        await ws.send("x")

    async def send(message):
        sent_through.append(message)

    async def run():
        ws = frame_send.DirectFramesWebSocket(handler, None)
        await ws({"asgi.receive": None, "asgi.send": send, "asgi.scope": {"type": "websocket"}})

    asyncio.run(run())
    assert [m["type"] for m in sent_through] == ["websocket.accept", "websocket.send"]


def test_the_apps_engineio_opens_its_sockets_this_way_and_engineios_table_is_untouched():
    sio = app_module.app.sio
    frame_send.install(sio)
    frame_send.install(sio)  # idempotent
    assert sio.eio._async["websocket"] is frame_send.DirectFramesWebSocket
    assert eio_asgi._async["websocket"] is eio_asgi.WebSocket
