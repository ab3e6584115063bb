"""Every SQLModel table, imported here so ``SQLModel.metadata`` (and Alembic) sees them all."""

from sessions_app.models.activity import ChatMessage, FocusCredit, Task
from sessions_app.models.base import UTCDateTime, utcnow
from sessions_app.models.call import CallMember, CallOption
from sessions_app.models.chat_log import ChatChangeLog, ChatChannel
from sessions_app.models.email import EmailToken
from sessions_app.models.focus import BlockGoal, ChatReaction
from sessions_app.models.mood import AmbientMix
from sessions_app.models.room import Room, RoomMember
from sessions_app.models.scheduled import (
    CalendarFeed,
    SessionNote,
    SessionParticipant,
    StudySession,
)
from sessions_app.models.uptime import ServerHeartbeat, ServerOutage
from sessions_app.models.user import AuthSession, LoginTicket, OAuthAccount, OAuthState, User

__all__ = [
    "AmbientMix",
    "AuthSession",
    "BlockGoal",
    "CallMember",
    "CallOption",
    "CalendarFeed",
    "ChatChangeLog",
    "ChatChannel",
    "ChatMessage",
    "ChatReaction",
    "EmailToken",
    "FocusCredit",
    "LoginTicket",
    "OAuthAccount",
    "OAuthState",
    "Room",
    "RoomMember",
    "ServerHeartbeat",
    "ServerOutage",
    "SessionNote",
    "SessionParticipant",
    "StudySession",
    "Task",
    "UTCDateTime",
    "User",
    "utcnow",
]
