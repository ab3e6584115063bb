"""A user's own tabs (their channel, ``channels.user``): new EXP and level after a block ends,
pushed as ``AuthState`` values (no state load per tab); and the tabs of logins that ended,
logged out at once."""

from __future__ import annotations

from sessions_app import login_cookie, realtime, routes
from sessions_app.live import channels, targets
from sessions_app.services import accounts

# Why a tab was logged out, as the login page's ``?ended=`` (``AuthState.load_auth_page``).
ENDED_BY_PASSWORD = "password"
ENDED_BY_DELETION = "deleted"


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


async def logins_ended(user_id: int, *, keep: str = "", only: str = "", skip_sid: str = "",
                       reason: str = "") -> None:
    """Logins of the user ended (``realtime.end_logins``: ``only`` one, all but ``keep``, or
    all): their open tabs leave every channel now and go to the logout route, then to the
    login page that says ``reason`` (or home, without one). A stolen device's open room page
    stops receiving the moment the password changes, not at its next event."""
    then = f"{routes.LOGIN}?ended={reason}" if reason else routes.HOME
    await realtime.end_logins(user_id, login_cookie.logout_script(then), keep=keep, only=only, skip_sid=skip_sid)
