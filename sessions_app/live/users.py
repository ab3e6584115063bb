"""A user's own view on every tab of theirs (their channel, ``channels.user``): new EXP and
level after a block ends, pushed as ``AuthState`` values (no state load per tab)."""

from __future__ import annotations

from sessions_app import realtime
from sessions_app.live import channels, targets
from sessions_app.services import accounts


def own_view_vars(user) -> dict:
    """The logged-in user's own view as ``AuthState`` var values (also what a server push of
    new EXP sends to that user's tabs)."""
    view = accounts.me(user)
    return {"user_id": view.id, "display_name": view.display_name, "avatar_url": view.avatar_url,
            "timezone": view.timezone, "level": view.level, "exp_total": view.exp_total,
            "level_progress": view.level_progress, "exp_to_next": view.exp_to_next}


async def push_own_view(user_id: int, values: dict) -> None:
    """One broadcast of a user's own view to all their tabs."""
    await realtime.push(channels.user(user_id), targets.of(targets.OWN_VIEW), **values)
