"""Short garbage-collector pauses in a long-running worker.

CPython's full collection (generation 2) walks every container object the process tracks,
and a worker holds a large graph that lives as long as it does: the compiled pages, Reflex's
state classes and event specs, SQLAlchemy's metadata and statements, every imported module.
Measured under ``make bench``: full collections paused a worker's event loop for 130–240 ms
at a time, and every member of a room saw that message late (the room chats' p99).

``gc.freeze()`` once the worker has started moves everything alive at that moment to the
permanent generation, which collections skip: a full collection then walks only what the
worker made since (tabs' states, sockets, rows) — objects that do become garbage. Nothing is
leaked: frozen objects were alive anyway, and reference counting still frees them.

Measured: the app's startup graph is ~180,000 objects and a full collection of it took
~50 ms; frozen, 0. Under ``make bench`` (1,000 idle lobby tabs connected) the worker's full
collections took 129–194 ms before and 95–155 ms after: the rest is the tabs' own objects.

Full collections also came far too often. CPython collects its youngest generation after 700
more container objects are alive than at the last collection, so every chat post's or page
load's in-flight objects (coroutines, futures, frames being built: a few thousand, alive for
a millisecond) were caught mid-flight, survived two young collections and were promoted to the
old generation, where they died soon after. Those promotions, not real growth, made the old
generation look 25 % bigger every few seconds, and each time the worker paused for a full
collection: measured under ``make bench``, 4 full collections of 80–190 ms during the
20 seconds of room 200's chat and timer (the rows' p99 read 5–7× the floor's), every 3–5 s
with 1,000 lobby tabs. With the youngest threshold at 50,000 (it counts objects alive, net), a
burst's objects come and go before a young collection looks at them: the same run had no full collection after startup, the
young collections over 10 ms were a handful in the lobby (14–48 ms, while 1,000 tabs connected
or left), and room 200's p99 read 0.9× (chat) and 1.3× (timer) the floor's. The cost: up to
50,000 container objects of cyclic garbage may wait for a collection, a few MB.
"""

from __future__ import annotations

import gc

import reflex as rx

# The youngest generation's threshold (CPython's default is 700); the older two keep theirs.
YOUNG_THRESHOLD = 50_000


def _freeze() -> None:
    gc.collect()  # what is already garbage is not frozen
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def install(app: rx.App) -> None:
    """Freeze the worker's startup objects and raise the young threshold when its lifespan
    starts (after a fork, too)."""
    app.register_lifespan_task(_freeze)
