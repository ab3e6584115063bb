"""One server event per page load.

Reflex runs every ``on_load`` handler of a page as its own event: its own state lock (and, for
a tab in a room, the room's lock: every event of a member patches the room's shared states
in), its own caller lookup, its own delta and frame. A room page had 8 of them, the lobby and
/profile 4-5 (with the leave-when-away hooks), and a join storm of 200 queued 1,600+ events.

``_register`` (``sessions_app.py``) gives every page with more than one load step ONE
``on_load`` event, ``PageLoad.run(route)``, which runs the page's steps in order inside that
event, each against its own state (``await self.get_state(cls)``), exactly as the separate
events did: every step is still an ordinary ``@rx.event`` handler that authorizes by itself
(they stay public endpoints), so a crafted ``run`` with another page's route does no more than
calling those handlers one by one. What is shared is what makes it cheap: one lock, the
caller resolved once (``Handler._caller_id`` caches it per event), the room's lock taken
once, one delta. A step that returns another state's handler without arguments (the clock's
``ClockState.begin``) has it run inside the same event too; frontend events (redirects,
scripts) and everything else go back to Reflex as usual, in order. Reflex's own last load
event, ``set_is_hydrated``, runs inside it too (``realtime.hydrated_load``): a room tab's load
is three events (hydrate, ``on_load_internal``, this one), not four.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Sequence
from typing import Any

import reflex as rx
from reflex.event import EventHandler, EventSpec

from sessions_app import realtime

log = logging.getLogger("sessions.page_load")

# route → the page's steps: backend handlers (no arguments) or frontend event specs.
_STEPS: dict[str, tuple[Any, ...]] = {}
# Steps that do nothing on a state at its defaults (the leave-when-away hooks): skipped when
# the tab has never made their state, rather than making it (``realtime.never_made``).
_IDLE_AT_DEFAULTS: set[Any] = set()
# How deep returned backend handlers are followed inside the same event.
_INLINE_DEPTH = 2


def _backend(step: Any) -> Any | None:
    """The ``EventHandler`` a step runs on the server (no arguments), or None for a frontend
    event (``rx.redirect``, ``rx.call_script``, ...)."""
    handler = step if isinstance(step, EventHandler) else None
    if isinstance(step, EventSpec) and not step.args:
        handler = step.handler
    if handler is None or handler.state is None:
        return None
    return handler


def register(route: str, steps: Sequence[Any], *, idle_at_defaults: Sequence[Any] = ()) -> Any:
    """Record ``route``'s load steps; the ONE on_load event that runs them all.
    ``idle_at_defaults``: those of ``steps`` that do nothing while their state holds its
    defaults (skipped for a tab that never made the state)."""
    for step in steps:
        handler = _backend(step)
        if handler is not None and handler.is_background:
            raise ValueError(f"{route}: a background handler cannot be a page-load step ({handler.fn.__qualname__})")
        if handler is None and not isinstance(step, EventSpec):
            raise ValueError(f"{route}: page-load steps are event handlers or event specs, not {step!r}")
        if handler is None and step.handler.state is not None:
            raise ValueError(f"{route}: a page-load step with arguments runs as its own event ({step!r})")
    _STEPS[route] = tuple(steps)
    _IDLE_AT_DEFAULTS.update(h for h in map(_backend, idle_at_defaults) if h is not None)
    return PageLoad.run(route)


def _as_list(events: Any) -> list:
    if events is None:
        return []
    return list(events) if isinstance(events, list | tuple) else [events]


class PageLoad(rx.State):
    """Runs a page's load steps in one event (no vars)."""

    async def _step(self, step: Any, depth: int) -> list:
        """Run one step; the events it leaves for Reflex (after inlining backend ones)."""
        handler = _backend(step)
        if handler is None:
            return [step]
        if handler in _IDLE_AT_DEFAULTS and realtime.never_made(self, handler.state):
            return []  # nothing to undo, and no state made (about 1 KB per tab) to find that out
        try:
            returned = handler.fn(await self.get_state(handler.state))
            if inspect.isawaitable(returned):
                returned = await returned
        except Exception:  # as with separate events: one failing step does not stop the rest
            log.exception("page load step %s failed", handler.fn.__qualname__)
            return []
        out = []
        for event in _as_list(returned):
            if depth < _INLINE_DEPTH and _backend(event) is not None:
                out += await self._step(event, depth + 1)
            else:
                out.append(event)
        return out

    @rx.event
    async def run(self, route: str, hydrated: bool = False):
        """on_load of every page with several load steps: all of them, in this one event.
        ``hydrated``: Reflex's last load event (``set_is_hydrated``) is folded into this one
        (``realtime.hydrated_load``): the flag is set after the steps, in the same delta."""
        steps = _STEPS.get(route) if isinstance(route, str) else None
        events: list = []
        try:
            for step in steps or ():
                events += await self._step(step, 0)
        finally:
            if hydrated is True:
                realtime.mark_hydrated(self)
        return events or None


realtime.fold_hydrated(PageLoad.run)
