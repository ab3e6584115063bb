"""A page whose on_load is ONE event sets Reflex's ``is_hydrated`` inside that event.

Reflex 0.10 loads a page in four events: ``hydrate_and_load`` (the first frame), then
``on_load_internal`` (a superseding event that queues the page's on_load handlers), the
handlers, and ``set_is_hydrated(True)`` last — its own state lock, delta and frame, once per
tab (200 in a join storm), only to flip one flag. A page with several load steps already runs
them as one event (``state.page_load``); ``fold_hydrated(handler)`` lets ``on_load_internal`` hand that
event a ``hydrated=True`` argument instead of queueing ``set_is_hydrated`` after it, and the
handler calls ``mark_hydrated`` when it ends. Same order as before (the flag comes after
every load step), one event less. Any other page is loaded the way Reflex does.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import reflex.state as reflex_state
from reflex.state import OnLoadInternalState

_reflex_load_events = reflex_state._load_events_for_page
_FOLDED: set[str] = set()  # full names of the one-event page loads that take ``hydrated``
ARG = "hydrated"


def fold_hydrated(handler: Any) -> None:
    """Let ``handler`` (an ``EventHandler`` taking ``hydrated: bool``) set the flag itself
    when it is a page's only on_load event."""
    _FOLDED.add(f"{handler.state.get_full_name()}.{handler.fn.__name__}")


def _load_events(state):
    """``reflex.state._load_events_for_page``: [the page's one load event with
    ``hydrated=True``] where that event is a folded one; else Reflex's list."""
    was = getattr(state, "is_hydrated", None)
    events = _reflex_load_events(state)
    if was is False and hasattr(state, "_get_root_state"):
        # Reflex set the flag to False again (the hydrate frame said so already): no frame
        # for that (one per tab in a join storm).
        state._get_root_state().dirty_vars.discard("is_hydrated")
    if not events or len(events) != 2:
        return events
    load, last = events
    # Reflex's own ``OnLoadInternalState.set_is_hydrated(True)`` (an EventSpec).
    handler = getattr(last, "handler", None)
    flip = handler is not None and handler.fn is OnLoadInternalState.set_is_hydrated.fn
    if flip and getattr(load, "name", None) in _FOLDED:
        return [dataclasses.replace(load, payload={**load.payload, ARG: True})]
    return events


def mark_hydrated(state) -> None:
    """The tab's page load is done (what ``set_is_hydrated(True)`` did)."""
    state._get_root_state().is_hydrated = True


def install() -> None:
    """Patch ``_load_events_for_page`` (idempotent)."""
    reflex_state._load_events_for_page = _load_events
