"""Linking several shared states to ONE shared token in one event (Reflex 0.10.1 internals).

Reflex's ``_internal_patch_linked_state`` locks the shared token's root the first time an
event links a state to it (``modify_state``, saved when the event ends) — but for every
further state class linked to the same token in that event it loads the root AGAIN with the
state manager's ``get_state``. In memory that is the same object; with Redis it is a second,
unlocked copy that is never saved: whatever the event sets on it is lost. The room page's one
load links the room's four states (``RoomLive``, ``RoomBoard``, ``RoomGoals``, ``RoomQuiet``)
to the room's key, so here every state class of a token comes from the one locked root.
"""

from __future__ import annotations

import dataclasses

from reflex.istate import shared as _reflex_shared
from reflex.istate.manager import get_state_manager
from reflex.istate.manager.token import BaseStateToken

# Where the locked root of a token is kept among the event's held locks (``_held_locks`` maps
# token → {state class: linked instance}; Reflex reads only its SharedState values).
_ROOT = "__locked_root__"


async def patch_from_locked_root(state, token: str, full_delta: bool, reflex_patch):
    """``state._internal_patch_linked_state(token)`` taking every class of ``token`` from the
    root this event locked; ``reflex_patch`` (Reflex's own) where another path locked it."""
    holder = state._linked_locks_holder()
    if holder._exit_stack is None or holder._held_locks is None:
        return await reflex_patch(state, token, full_delta=full_delta)  # Reflex's error
    held = holder._held_locks.get(token)
    if held is not None and _ROOT not in held:
        return await reflex_patch(state, token, full_delta=full_delta)
    async with holder._held_locks_lock:
        held = holder._held_locks.get(token)
        if held is None:
            root = await holder._exit_stack.enter_async_context(
                get_state_manager().modify_state(BaseStateToken(ident=token, cls=type(state))))
            if (session := root.rx_router_session).client_token != token:
                # As Reflex does: later get_state calls on this root load the token's instances.
                root.rx_router_session = dataclasses.replace(session, client_token=token)
            held = holder._held_locks.setdefault(token, {_ROOT: root})
    linked = await held[_ROOT].get_state(type(state))
    held.setdefault(type(state), linked)
    if linked._linked_to != token:
        linked._linked_to = token
    await holder._exit_stack.enter_async_context(
        _reflex_shared._patch_state(original_state=state, linked_state=linked, full_delta=full_delta))
    return linked
