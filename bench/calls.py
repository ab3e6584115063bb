"""The call-signalling scenario: server CPU and bytes to set up a call of N participants.

Media never passes through the app (peer to peer, or the SFU); the server relays only
signalling. Here N members of a room join its call one after another, as people do; each
newcomer sends an offer (an SDP of browser-like size) to everyone already in the call, and
each of them answers — the mesh's whole setup, over Reflex's ``/_event`` protocol. Measured:
server CPU for the whole setup, bytes and frames the clients received for it, and the time
from a join to the newcomer holding every answer. The floor target has no calls (skipped).
"""

from __future__ import annotations

import asyncio
import json
import time

import orjson

from bench.client import BaseClient
from bench.measure import close_all, open_all, percentile, quiet_server, wait_for

# A browser's offer with audio + video and a few host candidates is about this long.
SDP_CHARS = 5_000


def _calls(frame: dict) -> list[tuple[str, dict]]:
    """The ``SessionsCall.on(name, data)`` calls a frame carries (``realtime.call_browser``)."""
    out = []
    for event in frame.get("events") or []:
        code = (event.get("payload") or {}).get("javascript_code") or ""
        start = code.find("SessionsCall.on(")
        if start >= 0:
            name, data = json.loads("[" + code[start + len("SessionsCall.on("):-1] + "]")
            out.append((name, data))
    return out


def extractor(me: int):
    def extract(c: BaseClient, frame: dict):
        calls = _calls(frame)
        if not calls:
            return None
        c.state["bytes"] = c.state.get("bytes", 0) + len(orjson.dumps(frame))
        keys = []
        for name, data in calls:
            if name == "signal":
                keys.append(f"{data['kind']}:{data['from']}->{me}")
            elif name == "roster":
                keys.append(f"roster{len(data['peers'])}")
            else:
                keys.append(name)
        return keys
    return extract


async def call_signalling(scn, size: int) -> None:
    """One call of ``size`` people set up from scratch (``scn``: a ``Scenarios``)."""
    t = scn.t
    if not getattr(t, "has_calls", False):
        scn.tick(f"call {size}")
        return
    from sessions_app.state.call import CallState

    message = f"{CallState.get_full_name()}.message"
    users = scn.take_users(size)
    room = t.new_room(users[0], size)
    members = [t.client(u) for u in users]
    await open_all(members, lambda c: t.open_room(c, room), lambda c: t.in_room(c, room))
    await asyncio.sleep(1.0)
    await quiet_server(scn.stack, t.name)
    for c, u in zip(members, users, strict=True):
        c.reset(extractor(u.uid))
        c.state = {}
    sdp = "v=0\r\n" + "a=x-bench:" + "x" * SDP_CHARS + "\r\n"
    cpu0 = scn.cpu()
    setup: list[float] = []
    for i, (c, u) in enumerate(zip(members, users, strict=True)):
        t0 = time.perf_counter()
        await c.call(message, msg={"op": "join", "kind": "room", "id": room})
        await wait_for(lambda c=c: "joined" in c.seen, 20)
        earlier = list(zip(members[:i], users[:i], strict=True))
        for _, e in earlier:
            await c.call(message, msg={"op": "signal", "to": e.uid, "kind": "offer",
                                       "data": {"type": "offer", "sdp": sdp}})
        await wait_for(lambda u=u, earlier=earlier: all(f"offer:{u.uid}->{e.uid}" in ec.seen for ec, e in earlier), 20)
        for ec, _ in earlier:
            await ec.call(message, msg={"op": "signal", "to": u.uid, "kind": "answer",
                                        "data": {"type": "answer", "sdp": sdp}})
        ok = await wait_for(lambda c=c, u=u, earlier=earlier: all(f"answer:{e.uid}->{u.uid}" in c.seen
                                                                  for _, e in earlier), 20)
        if ok:
            setup.append(time.perf_counter() - t0)
    cpu1 = scn.cpu()
    total_bytes = sum(c.state.get("bytes", 0) for c in members)
    frames = sum(c.frames for c in members)
    pairs = size * (size - 1) // 2
    scn.results[f"call {size} signalling"] = {
        "participants": size, "connections": pairs, "cpu_s": cpu1 - cpu0,
        "cpu_ms_per_connection": (cpu1 - cpu0) / pairs * 1000 if pairs else float("nan"),
        "bytes_received": total_bytes, "kb_per_connection": total_bytes / pairs / 1024 if pairs else float("nan"),
        "frames": frames, "joins_complete": len(setup),
        "p50_join_ms": percentile(setup, 0.5) * 1000, "max_join_ms": max(setup, default=float("nan")) * 1000,
    }
    scn.tick(f"call {size}")
    await close_all(members)
    await quiet_server(scn.stack, t.name)
