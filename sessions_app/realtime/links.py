"""Events that need none of the tab's linked (shared) states.

Before every event of a tab, Reflex locks and patches in EVERY shared state the tab is linked
to and finds in its loaded tree — with the in-memory state manager that is all of them, and
with Redis every one under ``SharedStateBaseInternal`` (which is always loaded): a room tab's
chat post locked the room's four stores (``RoomLive``, ``RoomBoard``, ``RoomQuiet``,
``RoomGoals``), patched them in, and collected their fan-out afterwards, for a handler that
reads none of them. (The post's order comes from the chat's sequence numbers, decided by the
database, not from the room's lock; the lobby chat never had one.)

``link_free(state_cls, "handler")`` marks a handler of a PRIVATE state whose event runs with
the tab's own state tree only: Reflex's ``modify_state_with_links`` takes the tab's lock and
skips the linked states. Such a handler must not read or write a shared state: it would get
the tab's unlinked private copy (with the in-memory manager) or an error (with Redis). It
delivers to others through ``realtime.push``.

``own_link_only(shared_cls, "handler")`` marks a handler of a SHARED state that needs its
own link (``self`` is the room's store, and the room's lock orders its broadcasts: a timer
action) but none of the tab's other linked states: only that one is locked and patched in.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import contextvars

import reflex as rx
from reflex.istate.manager import _ModifyStateWithLinks
from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import BaseState

# Full event names ("<state full name>.<handler>") of the link-free handlers, and of the
# own-link-only ones (-> the one shared state's full name they may patch in).
_LINK_FREE: set[str] = set()
_OWN_LINK_ONLY: dict[str, str] = {}
# While Reflex patches the linked states in for an own-link-only event: the one it may.
_ONLY: contextvars.ContextVar[str | None] = contextvars.ContextVar("sessions_only_link", default=None)
_reflex_enter = _ModifyStateWithLinks.__aenter__


def link_free(state_cls: type[rx.State], handler: str) -> str:
    """Mark ``state_cls.handler`` as needing none of the tab's linked states; returns the
    event's full name. Only private states: a shared state's own handler needs its link."""
    if issubclass(state_cls, rx.SharedState):
        raise TypeError(f"{state_cls.__name__} is a shared state: its handlers need their link")
    if not callable(getattr(state_cls, handler, None)):
        raise AttributeError(f"{state_cls.__name__} has no handler {handler!r}")
    name = f"{state_cls.get_full_name()}.{handler}"
    _LINK_FREE.add(name)
    return name


def own_link_only(shared_cls: type[rx.SharedState], handler: str) -> str:
    """Mark ``shared_cls.handler`` as needing only its own link (not the tab's other linked
    states); returns the event's full name. The handler must not ``get_state`` another shared
    state: with the in-memory manager it would get the tab's unlinked private copy."""
    if not issubclass(shared_cls, rx.SharedState):
        raise TypeError(f"{shared_cls.__name__} is not a shared state: use link_free")
    if not callable(getattr(shared_cls, handler, None)):
        raise AttributeError(f"{shared_cls.__name__} has no handler {handler!r}")
    name = f"{shared_cls.get_full_name()}.{handler}"
    _OWN_LINK_ONLY[name] = shared_cls.get_full_name()
    return name


def _only_wanted_links(self, state_cls):
    """``_get_state_from_cache`` of the shared states' base: while an own-link-only event's
    links are patched in, any other shared state reads as "not loaded for this event", which
    Reflex's patch loop skips (its own words: "This state wasn't required")."""
    only = _ONLY.get()
    if only is not None and issubclass(state_cls, rx.SharedState) and state_cls.get_full_name() != only:
        raise ValueError(f"{state_cls.get_full_name()} is not needed by this event")
    return BaseState._get_state_from_cache(self, state_cls)


SharedStateBaseInternal._get_state_from_cache = _only_wanted_links


def is_link_free(event_name: str | None) -> bool:
    """Whether an event runs without the tab's linked states."""
    return event_name in _LINK_FREE


async def _enter(self: _ModifyStateWithLinks):
    """``_ModifyStateWithLinks.__aenter__``: for a link-free event, only the tab's own lock
    and tree (``__aexit__`` then has no links to release); any other event goes Reflex's way.
    A fan-out to another tab (``previous_dirty_vars``) always goes Reflex's way."""
    event = self._context.get("event")
    if self._previous_dirty_vars is None and event is not None and event.name in _LINK_FREE:
        manager = self._manager
        self._state_context = manager.modify_state(manager._coerce_token(self._token), **self._context)
        return await self._state_context.__aenter__()
    only = _OWN_LINK_ONLY.get(event.name) if self._previous_dirty_vars is None and event is not None else None
    if only is None:
        return await _reflex_enter(self)
    reset = _ONLY.set(only)
    try:
        return await _reflex_enter(self)
    finally:
        _ONLY.reset(reset)


_ModifyStateWithLinks.__aenter__ = _enter
