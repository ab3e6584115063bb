"""A Reflex in-memory state manager for unit tests of the app's state machinery, with the
app's lazily made states installed and an event context whose queued events go nowhere."""

from __future__ import annotations

from reflex.istate.manager.memory import StateManagerMemory
from reflex_base.event.context import EventContext

from sessions_app.realtime import lazy_states


async def _nothing(*_args, **_kwargs) -> None:
    return None


def memory_manager(token: str = "tab") -> StateManagerMemory:
    """A fresh in-memory manager, set as the current event context's (for ``token``)."""
    lazy_states.install()
    manager = StateManagerMemory()
    EventContext.set(EventContext(token=token, state_manager=manager, enqueue_impl=_nothing))
    return manager
