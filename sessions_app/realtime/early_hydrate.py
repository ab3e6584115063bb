"""Work a page load needs first, started with the connect's hydrate instead of after it.

A tab's connect is Reflex's ``hydrate_and_load`` event (the first frame), then
``on_load_internal``, then the page's one load event (``state.page_load``) — three events,
each with its own turn on the tab's lock and, with Redis, a load and a save of the tab's
states. In a join storm of 200 on two workers every tab's room entry (what the others' member
lists wait for) came after all three, and the three ran in lockstep for all the tabs of a
worker: ~0.7 s of hydrates and dispatches before the first entry.

``before_hydrate(hook)`` registers ``hook(state)``, called when a connect's hydrate starts
(the tab's lock is held: it is an ordinary event). It starts what may run beside the hydrate
(a task: blocking work on the handler pool) and returns None, or an awaitable that is awaited
once the hydrate's frame has been sent, inside the same event — so what that does (a socket
joining a channel) comes after the frame. Its outcome is for the page's own load to take over; it must
authorize by itself, as any handler. Reconnects and reloads hydrate too: a hook does what
the page's load would do again anyway.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from reflex.state import State

log = logging.getLogger("sessions.realtime")

_HOOKS: list[Callable[[Any], Awaitable[None] | None]] = []
_HANDLER = State.event_handlers["hydrate_and_load"]
_reflex_hydrate_and_load = _HANDLER.fn


def before_hydrate(hook: Callable[[Any], Awaitable[None] | None]) -> None:
    """Call ``hook(state)`` when a connect's hydrate starts (module doc)."""
    install()
    _HOOKS.append(hook)


@functools.wraps(_reflex_hydrate_and_load)  # Reflex names events by the function's qualified name
async def _hydrate_and_load(self, vars: dict[str, Any] | None = None, hashes: list[str] | None = None):
    """Reflex's ``State.hydrate_and_load`` with the hooks' work beside it (module doc)."""
    running = []
    for hook in _HOOKS:
        try:
            if (work := hook(self)) is not None:
                running.append(work)
        except Exception:  # a hook never costs the tab its first frame
            log.exception("hydrate hook %r failed", hook)
    try:
        return await _reflex_hydrate_and_load(self, vars=vars, hashes=hashes)
    finally:
        for work in running:
            try:
                await work
            except Exception:
                log.exception("hydrate hook work failed")


def install() -> None:
    """Wrap the connect's hydrate (idempotent)."""
    if _HANDLER.fn is not _hydrate_and_load:
        object.__setattr__(_HANDLER, "fn", _hydrate_and_load)  # a frozen dataclass: the one instance
