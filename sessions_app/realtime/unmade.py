"""Whether a tab has ever made one of its states (in-memory manager, states made late).

``lazy_states`` makes most of a tab's states on first use. A state the tab never made holds
nothing but its defaults, so a step that would only act on a non-default value (a
leave-when-away hook: "leave the room this tab is in") can be skipped without making it:
asking for the state would build it (about 1 KB per state per tab, kept for the tab's life)
only to find nothing to do.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import reflex as rx

from sessions_app.realtime import lazy_states


def never_made(state: rx.State, cls: type[rx.State]) -> bool:
    """Whether the tab of ``state`` has never made ``cls``: True only when ``cls`` is made on
    first use (in-memory manager) and is not in the tab's tree. False when unknown (the
    Redis manager loads states from Redis: it may exist there)."""
    if not lazy_states.made_late(cls) or not lazy_states._in_memory():
        return False
    return cls.get_name() not in state._get_root_state().substates
