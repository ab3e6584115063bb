"""Whether a broadcast can reach anyone, so a feed skips reading what nobody would get.

Part of the ``realtime`` package: the only code that touches Reflex internals (the app's
socket.io manager). Certain only in one process: with several workers (the Redis client
manager) the other workers' sockets are not known here, so the answer is always "maybe".
"""

from __future__ import annotations

import socketio


def nobody_in(channel: str) -> bool:
    """True only when it is certain that no socket is in ``channel``: one process (socket.io's
    plain in-process manager) and none of its sockets entered it. A tab that enters the channel
    afterwards reads the current values in its own load (pages join before they read)."""
    from sessions_app import realtime  # the package sets its app at startup

    sio = getattr(realtime._app, "sio", None)
    if sio is None:  # not serving yet
        return False
    manager = sio.manager
    if type(manager) is not socketio.AsyncManager:  # pub/sub (several workers) or unknown: maybe
        return False
    return not manager.rooms.get(realtime._namespace(), {}).get(channel)
