"""Lists sent in order across workers without a state lock (several workers, Redis).

A live room's member list went out under the room's shared-state lock: the lock kept a list
read before a departure from arriving after the departure's own list (a departed member
would reappear). With Redis that lock is Reflex's, taken in turn by every page load of the
room on both workers; in a join storm of 200 a load on a busy worker held it up to ~0.7 s
(each of its awaits waits for the worker's event loop to come round), and the list that makes
everyone see everyone waited behind it.

Here the order comes from numbers instead, kept in one Redis hash per list (``key``):

* ``next_number(key)`` — a number taken BEFORE the list is read (and, for a departure, after
  its commit): a list read later has a higher number;
* ``send_if_newest(key, number, ...)`` — one Lua script: unless a list with a higher number
  was sent already, note the number and PUBLISH the broadcast on the Redis channel every
  worker's socket.io manager listens to (the message python-socketio's own ``emit`` sends,
  with a host id no worker has, so every worker delivers it to its sockets, its own included).

Every list goes through that one channel, so every socket gets the lists in the order they
were sent, and they were sent in the order of their numbers: none is overtaken by an older
one. Both calls are blocking (a sync Redis client, one per process): they run in a thread,
with the database read between them, so a list never waits for a busy event loop.

Every list goes out, even one equal to the last: with several workers a tab's page load leaves
the member list out of its own frame and waits for the list its arrival asks for (a second tab
of a member, a client-side navigation into the room), and a worker that just restarted has
noted no list to hand it (``newest``).

A socket that joins the channel after a list went out finds it with ``newest(channel)``: each
worker's listener (``workers.RedisRoomManager``) notes the newest list it delivers — with its
number and the ``tags`` the sender gave it (whom it lists) — in the same step as it picks
the recipients, so a socket that joins, then looks, either was among the recipients or finds
that list or a newer one (``send_newest_to``); ``delivered`` waits for a list's delivery.

Part of the ``realtime`` package: the only code that touches Reflex / socket.io internals
(the message format is python-socketio 5.18's, pinned; ``tests/unit/test_ordered_lists.py``
compares it with what the manager publishes).
"""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

import redis

from sessions_app.realtime import workers
from sessions_app.realtime.workers import ORDERED_HOST as ORDERED_HOST
from sessions_app.realtime.workers import RedisRoomManager

_PREFIX = "sessions:ordered:"
_KEEP_SECONDS = 7 * 24 * 3600  # an idle list's numbers are forgotten after a week (one hash)
_SEND = """
local sent = tonumber(redis.call('HGET', KEYS[1], 'sent') or '0')
if tonumber(ARGV[1]) <= sent then
    return 0
end
redis.call('HSET', KEYS[1], 'sent', ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('PUBLISH', ARGV[2], ARGV[3])
return 1
"""

_app: Any = None
_client: tuple[int, redis.Redis] | None = None  # (pid, client): workers fork after import
_client_lock = threading.Lock()


def install(app) -> None:
    """Wire the module to the app (``realtime.init``)."""
    global _app
    _app = app


def available() -> bool:
    """Whether lists go this way: the socket.io server relays through Redis (several workers)."""
    return _app is not None and isinstance(getattr(_app.sio, "manager", None), RedisRoomManager)


def _redis() -> redis.Redis:
    global _client
    with _client_lock:
        if _client is None or _client[0] != os.getpid():
            # The Redis the socket.io manager relays through (``REFLEX_REDIS_URL``).
            _client = (os.getpid(), redis.Redis.from_url(_app.sio.manager.redis_url))
        return _client[1]


def next_number(key: str) -> int:
    """The next number of the list ``key`` (blocking: call it off the event loop)."""
    pipe = _redis().pipeline()
    pipe.hincrby(_PREFIX + key, "n", 1)
    pipe.expire(_PREFIX + key, _KEEP_SECONDS)
    return int(pipe.execute()[0])


# What a numbered list's message carries besides python-socketio's own fields (its listener
# reads only its own; ``RedisRoomManager`` notes these).
EXTRA_FIELDS = ("number", "tags")


def message(channel: str, update: dict, number: int = 0, tags: list[int] | None = None) -> dict:
    """What python-socketio's ``AsyncPubSubManager.emit("event", update, to=channel)``
    publishes, from a host that is no worker, with the list's number and tags."""
    return {"method": "emit", "event": "event", "data": [update], "binary": False,
            "namespace": _app.event_namespace.namespace, "room": channel, "skip_sid": None, "callback": None,
            "host_id": ORDERED_HOST, "number": number, "tags": list(tags or ())}


def send_if_newest(key: str, number: int, channel: str, state_cls: type, values: dict,
                   tags: list[int] | None = None) -> bool:
    """Broadcast ``values`` of ``state_cls`` (as ``realtime.push`` does) to ``channel``
    unless a list of ``key`` with a higher number went out already; whether it is out (sent
    now). ``tags``: what ``newest`` hands a late joiner with
    it (blocking: call it off the loop)."""
    from sessions_app import realtime  # the package (its __init__ imports this module)

    manager = _app.sio.manager
    update = realtime._delta(state_cls, values)
    payload = manager.json.dumps(message(channel, update, number, tags))
    sent = _redis().eval(_SEND, 1, _PREFIX + key, number, manager.channel, payload, _KEEP_SECONDS)
    return bool(sent)


def newest(channel: str) -> tuple[int, dict, frozenset] | None:
    """(number, update, tags) of the newest list this worker delivered to ``channel``, or
    None. Look after the socket joined the channel (module doc)."""
    return workers.newest_lists.get(channel)


async def send_newest_to(sid: str, channel: str, tag: int) -> bool:
    """Send the newest list of ``channel`` to one socket (already in the channel) if its tags
    hold ``tag``: a socket that joined after that list went out gets it now, not with the next
    one. Whether it was sent."""
    found = newest(channel)
    if found is None or tag not in found[2]:
        return False
    await _app.sio.manager.send_newest(sid, _app.event_namespace.namespace, channel)
    return True


async def delivered(channel: str, tag: int, timeout: float) -> bool:
    """Wait (at most ``timeout`` seconds) until this worker has delivered a list of
    ``channel`` tagged ``tag`` to its sockets in the channel (or it is the newest one a late
    joiner was sent, ``send_newest_to``); whether it has."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        found = newest(channel)
        if found is not None and tag in found[2] and workers.delivered_lists.get(channel, 0) >= found[0]:
            return True
        if (left := deadline - loop.time()) <= 0:
            return False
        event = workers.list_delivered.setdefault(channel, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), left)
        except TimeoutError:
            return False
