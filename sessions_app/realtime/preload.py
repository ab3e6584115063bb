"""Modules Reflex imports lazily on a tab's event, imported once with the app instead.

Reflex 0.10.1 imports ``reflex.model`` the first time an event's payload is a dict for a
handler argument annotated with a class (``form: dict``: every form post, the lobby chat's
included): that pulls in Alembic, Mako and, through Mako's error pages, Pygments' lexers —
about 7 MB and 70 ms on an idle machine, on the event loop, while every tab of the worker
waits. Importing it with the app does the work once, before the server forks its workers
(so they share those pages), instead of in each worker under its first load.

Part of the ``realtime`` package: the only code that touches Reflex internals.
"""

from __future__ import annotations

import importlib

# What Reflex's event processing imports on first use (reflex_base.event.processor).
LAZY_IMPORTS = ("reflex.model",)


def install() -> None:
    """Import them now (idempotent)."""
    for name in LAZY_IMPORTS:
        importlib.import_module(name)
