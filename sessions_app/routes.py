"""Route constants and URL builders: the one place the app's URLs are spelled."""

from urllib.parse import quote

HOME = "/"
LOGIN = "/login"
SIGNUP = "/signup"
LOBBY = "/lobby"
ROOM_NEW = "/rooms/new"
ROOM = "/rooms/[room_id]"
JOIN = "/join/[code]"
PROFILE = "/profile"
SETTINGS = "/settings"
AUTH_COMPLETE = "/auth/complete"
SESSIONS = "/sessions"
SESSION_NEW = "/sessions/new"
SESSION = "/sessions/[session_id]"
SESSION_EDIT = "/sessions/[session_id]/edit"
VERIFY_EMAIL = "/verify-email"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"
# The original product's URLs for creating and editing a session: they redirect to today's.
LEGACY_SESSION_CREATE = "/session/create"
LEGACY_SESSION_EDIT = "/session/[session_id]/edit"


def room(room_id: int) -> str:
    """The page of one room."""
    return f"/rooms/{room_id}"


def join(code: str) -> str:
    """The link that joins a private room by code."""
    return f"/join/{code}"


def session(session_id: int) -> str:
    """The page of one scheduled session."""
    return f"/sessions/{int(session_id)}"


def session_edit(session_id: int) -> str:
    """The edit form of one scheduled session."""
    return f"/sessions/{int(session_id)}/edit"


def login_then(next_path: str) -> str:
    """The login page that returns to ``next_path`` afterwards."""
    return f"{LOGIN}?next={quote(next_path, safe='/')}"
