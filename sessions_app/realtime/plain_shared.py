"""Shared states that Reflex stores but never fans out: delivery is ours.

A live room's stores (``RoomLive``, ``RoomBoard``…) are ``rx.SharedState``s linked to the
room's key: Reflex keeps their authoritative copy and the room's lock orders their changes.
Reflex's own delivery — after every event, a state load, lock and delta per linked member —
collapses past a few dozen members, so these states are marked ``broadcast_only``: the app
sends one socket.io broadcast per change (``realtime.publish``/``push``) instead.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import contextlib

import reflex as rx
import reflex.istate.shared as _reflex_shared

from sessions_app.realtime.linking import patch_from_locked_root

# The states of ``broadcast_only``, and Reflex's own way of patching a linked state in.
_PLAIN_SHARED: set[type] = set()
_reflex_patch_state = _reflex_shared._patch_state


@contextlib.asynccontextmanager
async def _patch_plain(original_state, linked_state, full_delta: bool = False):
    """Reflex's ``_patch_state`` for a ``broadcast_only`` state: the same swap of the linked
    instance into the tab's tree and back, without marking the root's router dirty and
    resolving the whole tree's delta (both only serve computed vars, which these states' vars
    do not feed). A link or unlink (``full_delta``) marks every var of the instance now shown
    dirty, so the tab gets them all. (Reflex resolved the tree at every link: a room page
    linking its four room states in one event serialized the room's member list four extra
    times, under the room's lock.) Any other state goes Reflex's way."""
    if type(original_state) not in _PLAIN_SHARED:
        async with _reflex_patch_state(original_state, linked_state, full_delta=full_delta):
            yield
        return
    if full_delta:
        cls = type(linked_state)
        linked_state.dirty_vars.update(name for name, f in cls.get_fields().items() if f._owner is cls)
        linked_state._mark_dirty()
    parent, name = original_state.parent_state, original_state.get_name()
    linked_parent = linked_state.parent_state
    parent.substates[name] = linked_state
    linked_state.parent_state = parent
    try:
        yield
    finally:
        parent.substates[name] = original_state
        linked_state.parent_state = linked_parent


_reflex_shared._patch_state = _patch_plain


def broadcast_only(cls: type[rx.SharedState]) -> type[rx.SharedState]:
    """Class decorator: this shared state is stored by Reflex but never fanned out by it.

    Reflex adds the calling tab's token to ``_linked_from`` every time an event patches a
    linked state into its tree, and after the event fans the changed vars out to every token
    collected there — for *any* held shared state, even one the event did not change (that
    sends router-only deltas to everyone). Clearing the set right after each patch means
    Reflex's fan-out never has anyone to send to; delivery is ours (``publish``/``push``).

    Patching one in is also lighter (``_patch_plain``): Reflex marks every router var of the
    root dirty and resolves a whole delta each time it patches a linked state into a tab's tree
    (for computed vars reading the linked state: these states have plain vars only, and no
    computed var reads them). Every event of a room member patched in all its room's states,
    and its own answer re-sent the whole router and every route argument (1.4 KB).
    """
    _PLAIN_SHARED.add(cls)
    patch = cls._internal_patch_linked_state

    async def _internal_patch_linked_state(self, token: str, full_delta: bool = False):
        # Every class linked to the token in this event from the one locked root (``linking``).
        linked = await patch_from_locked_root(self, token, full_delta, patch)
        linked._linked_from.clear()
        return linked

    cls._internal_patch_linked_state = _internal_patch_linked_state
    return cls
