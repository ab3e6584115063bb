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

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import reflex as rx
from reflex.istate.manager import _ModifyStateWithLinks

# Full event names ("<state full name>.<handler>") of the link-free handlers.
_LINK_FREE: set[str] = set()
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
    return await _reflex_enter(self)


_ModifyStateWithLinks.__aenter__ = _enter
