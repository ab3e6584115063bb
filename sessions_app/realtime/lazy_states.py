"""With the in-memory state manager, a tab's states are made when it first uses them.

Reflex's in-memory manager builds a tab's WHOLE state tree when the tab connects: one
instance of every state class of the app (27 here), each with its own bookkeeping (two sets
and a dict), about 0.75 KB apiece — about 20 KB per connected tab, most of it for pages the
tab never opened. The Redis manager already loads states on demand.

``install()`` makes the in-memory manager do the same for the states that are safe to make
late: a direct child of the root with no substates, no client storage (cookies, local
storage), no shared-state role and no part in another state's computed vars
(``_always_dirty_substates`` / ``_potentially_dirty_states``: Reflex reads those
synchronously). Its own computed vars are fine when they are cached and read only its own
vars (the lobby's filter choices, the session form's ``is_edit``): at its defaults such a
var holds the value the page was compiled with, and once the state is made Reflex recomputes
it whenever one of its vars changes, as for any state. Every other state is still made with
the root, as before. A late state is made, with its defaults, the first time an event asks
for it (``get_state``) — exactly what the root would have made at connect; until then it is
neither kept nor sent in the tab's first (hydrate) frame.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import functools

from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.shared import SharedStateBaseInternal
from reflex.state import BaseState
from reflex.utils import types

_reflex_create = StateManagerMemory._get_or_create_state
_reflex_fetch = BaseState._get_state_from_redis


@functools.cache
def made_late(state_cls: type[BaseState]) -> bool:
    """Whether ``state_cls`` may be made on first use instead of with the root."""
    parent = state_cls.get_parent_state()
    if parent is None or parent.get_parent_state() is not None:
        return False  # the root, or not a direct child of it
    name = state_cls.get_name()
    if (issubclass(state_cls, SharedStateBaseInternal) or state_cls.get_substates()
            or not _computed_vars_are_own(state_cls) or name in parent._always_dirty_substates
            or name in parent._potentially_dirty_states):
        return False
    return not any(state_cls._is_client_storage(field) for field in state_cls.get_fields().values())


def _computed_vars_are_own(state_cls: type[BaseState]) -> bool:
    """Whether ``state_cls``'s computed vars (if any) are cached and depend on its own vars
    only, and no other state's computed var depends on it."""
    if not state_cls.computed_vars:
        return True
    if state_cls._always_dirty_computed_vars or getattr(state_cls, "_interval_computed_var_names", None):
        return False
    if any(not isinstance(cv._initial_value, types.Unset) for cv in state_cls.computed_vars.values()):
        return False  # the page was compiled with a value given by hand, not the computed one
    full = state_cls.get_full_name()
    if state_cls._potentially_dirty_states - {full}:
        return False  # another state's computed var reads ours
    others = _all_states(state_cls.get_root_state())
    return not any(full in other._potentially_dirty_states for other in others if other is not state_cls)


def _all_states(root: type[BaseState]) -> list[type[BaseState]]:
    out, todo = [], [root]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo.extend(cls.get_substates())
    return out


def _create(self: StateManagerMemory, token):
    """``StateManagerMemory._get_or_create_state``: a new tab's root with only the states
    that cannot be made late."""
    key = token.cache_key
    if key not in self.states and isinstance(token, BaseStateToken):
        root_cls = token.cls.get_root_state()
        root = root_cls(_reflex_internal_init=True, init_substates=False)
        for sub in root_cls.get_substates():
            if not made_late(sub):
                root.substates[sub.get_name()] = sub(parent_state=root, _reflex_internal_init=True)
        self.states[key] = root
    return _reflex_create(self, token)


async def _fetch(self: BaseState, state_cls: type[BaseState]):
    """``BaseState._get_state_from_redis`` (what ``get_state`` falls back to when a state is
    not in the tree): with the in-memory manager, make a late state now; else Reflex's way."""
    root = self._get_root_state()
    if made_late(state_cls) and state_cls.get_name() not in root.substates and _in_memory():
        late = state_cls(parent_state=root, _reflex_internal_init=True)
        root.substates[state_cls.get_name()] = late
        return late
    return await _reflex_fetch(self, state_cls)


def _in_memory() -> bool:
    from reflex.istate.manager import get_state_manager

    return isinstance(get_state_manager(), StateManagerMemory)


def install() -> None:
    """Patch the in-memory manager (idempotent; the Redis and disk managers are untouched)."""
    StateManagerMemory._get_or_create_state = _create
    BaseState._get_state_from_redis = _fetch
