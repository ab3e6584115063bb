"""A chat change's frames (``realtime.fanout``): encoded once, handed to each socket without a
task per socket — and still exactly the frames python-socketio's ``emit`` sends, to the same
sockets in the same order, the sender skipped; with several workers (a Redis manager) the
namespace's ``emit`` does the broadcast as before."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
import socketio
from reflex.app import _sio_dumps, _sio_loads
from socketio import packet as sio_packet
from socketio.base_manager import BaseManager

from sessions_app.realtime import fanout

NS = "/_event"
REFLEX_JSON = SimpleNamespace(dumps=_sio_dumps, loads=_sio_loads)  # what the app's servers encode with


def _change() -> dict:
    return {"ch": "room:7", "seq": 12, "add": {"id": 40, "user_id": 3, "author": "Zoë “quoted” <b>", "avatar_url": "",
                                                "level": 2, "body": "héllo \\ \"there\" \u2028 ✓",
                                                "parts": [{"text": "héllo", "link": False}], "created_at_ms": 1,
                                                "name_color": "", "border": ""}}


def _update(value) -> dict:
    return {"delta": {"board": {"chat_event_rx_state_": value}, "ui": {"chat_error_rx_state_": ""}},
            "events": [{"name": "_set_value", "router_data": {}, "payload": {"ref": "ref_chat_input", "value": ""}}]}


@pytest.mark.parametrize("namespace", ["/", NS])
def test_a_frame_is_the_text_socketio_would_write(namespace):
    change = _change()
    expected = sio_packet.Packet(sio_packet.EVENT, namespace=namespace, data=["event", _update(change)])
    expected.json = REFLEX_JSON
    encoded = fanout.Encoded(change)
    assert fanout.frame_text(REFLEX_JSON, namespace, _update(encoded)) == expected.encode()
    # Two places, one value: both spliced, the value encoded once.
    both = {"delta": {"a": {"x": encoded}, "b": {"y": [encoded, 1]}}, "events": []}
    plain = sio_packet.Packet(sio_packet.EVENT, namespace=namespace, data=["event", fanout.plain(both)])
    plain.json = REFLEX_JSON
    assert fanout.frame_text(REFLEX_JSON, namespace, both) == plain.encode()


def test_a_value_is_encoded_once_for_all_its_frames():
    calls: list[object] = []

    def dumps(obj, **kwargs):
        calls.append(obj)
        return _sio_dumps(obj, **kwargs)

    counting = SimpleNamespace(dumps=dumps, loads=_sio_loads)
    encoded = fanout.Encoded(_change())
    fanout.frame_text(counting, NS, _update(encoded))
    fanout.frame_text(counting, NS, {"delta": {"board": {"chat_event_rx_state_": encoded}}, "events": []})
    assert sum(1 for obj in calls if obj is encoded.value) == 1


def _server() -> tuple[socketio.AsyncServer, list[tuple[str, str]]]:
    """A one-worker socket.io server (in-process manager) whose sends are recorded."""
    server = socketio.AsyncServer(async_mode="asgi", json=REFLEX_JSON)
    sent: list[tuple[str, str]] = []

    async def record(eio_sid, pkt):
        sent.append((eio_sid, pkt.encode()))

    server._send_eio_packet = record
    return server, sent


def _connect(server, eio_sid: str, *channels: str) -> str:
    sid = BaseManager.pre_connect(server.manager, eio_sid, NS)  # (the async manager's, without a loop)
    for channel in channels:
        server.manager.basic_enter_room(sid, NS, channel)
    return sid


def test_a_broadcast_reaches_the_channel_s_sockets_but_the_sender_as_emit_does():
    server, sent = _server()
    ns = SimpleNamespace(server=server, namespace=NS)
    sids = [_connect(server, f"e{i}", "room-7") for i in range(4)]
    _connect(server, "outsider", "room-8")
    update = {"delta": {"board": {"chat_event_rx_state_": _change()}}, "events": []}

    async def both():
        await server.emit("event", update, to="room-7", namespace=NS, skip_sid=sids[1])
        by_emit = sorted(sent)
        sent.clear()
        await fanout.send(ns, "room-7", {"delta": {"board": {"chat_event_rx_state_": fanout.Encoded(_change())}},
                                         "events": []}, skip_sid=sids[1])
        return by_emit, list(sent)

    by_emit, by_fanout = asyncio.run(both())
    assert [eio for eio, _ in by_fanout] == ["e0", "e2", "e3"]  # the manager's order, the sender skipped
    assert sorted(by_fanout) == by_emit  # the same bytes to the same sockets


def test_an_answer_goes_to_its_socket_only():
    server, sent = _server()
    ns = SimpleNamespace(server=server, namespace=NS)
    mine = _connect(server, "me", "room-7")
    _connect(server, "other", "room-7")
    asyncio.run(fanout.send(ns, mine, _update(fanout.Encoded(_change()))))
    ((eio_sid, text),) = sent
    assert eio_sid == "me"
    assert _sio_loads(text[len("42" + NS + ","):]) == ["event", _update(_change())]


def test_a_socket_that_fails_does_not_keep_the_frame_from_the_others():
    server, sent = _server()
    ns = SimpleNamespace(server=server, namespace=NS)
    for i in range(3):
        _connect(server, f"e{i}", "room-7")

    async def flaky(eio_sid, pkt):
        if eio_sid == "e1":
            raise ConnectionError("closed meanwhile")
        sent.append((eio_sid, pkt.encode()))

    server._send_eio_packet = flaky
    asyncio.run(fanout.send(ns, "room-7", _update(fanout.Encoded(_change()))))
    assert [eio for eio, _ in sent] == ["e0", "e2"]


def test_several_workers_broadcast_through_the_namespace_s_emit_with_plain_values():
    emitted: list[tuple] = []

    async def emit(event, data, to=None, **kwargs):
        emitted.append((event, data, to, kwargs))

    redis_like = SimpleNamespace(server=SimpleNamespace(manager=object()), namespace=NS, emit=emit)
    assert not fanout.serves(redis_like)
    asyncio.run(fanout.send(redis_like, "room-7", _update(fanout.Encoded(_change())), skip_sid="s1"))
    assert emitted == [("event", _update(_change()), "room-7", {"skip_sid": "s1"})]
