"""A student's data: everything they own, exported as JSON, and the account's deletion with
all of it (in the caller's one transaction)."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import datetime

from sqlmodel import Session, col, delete, select

from sessions_app.db import elevated
from sessions_app.models import (
    AmbientMix,
    AuthSession,
    BlockGoal,
    CalendarFeed,
    ChatMessage,
    ChatReaction,
    EmailToken,
    FocusCredit,
    LoginTicket,
    OAuthAccount,
    RoomMember,
    SessionNote,
    SessionParticipant,
    StudySession,
    Task,
    User,
    utcnow,
)
from sessions_app.services import chat, scheduled
from sessions_app.services.accounts import me
from sessions_app.services.errors import ServiceError


def export_data(db: Session, *, user_id: int) -> dict:
    """Everything the user owns, as JSON-ready data (no password hash, no tokens)."""
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")

    def rows(model, *where):
        return [r.model_dump(mode="json") for r in db.exec(select(model).where(*where)).all()]

    return {
        "format": "sessions-export/1",
        "exported_at": utcnow().isoformat(),
        "profile": {
            **asdict(me(user)),
            "created_at": user.created_at.isoformat(),
            "email_verified": user.email_verified_at is not None,
            "email_verified_at": user.email_verified_at.isoformat() if user.email_verified_at else None,
            "day_start_minutes": user.day_start_minutes,
            "weekly_goal_minutes": user.weekly_goal_minutes,
        },
        # The room's mood: chosen cosmetics and the ambient sound mix.
        "cosmetics": {"name_color": user.name_color, "avatar_border": user.avatar_border},
        "ambient_mix": rows(AmbientMix, AmbientMix.user_id == user_id),
        "oauth_identities": [
            {"provider": a.provider} for a in db.exec(select(OAuthAccount).where(OAuthAccount.user_id == user_id))
        ],
        "tasks": rows(Task, Task.user_id == user_id),
        "messages": rows(ChatMessage, ChatMessage.user_id == user_id),
        "room_stints": rows(RoomMember, RoomMember.user_id == user_id),
        "focus_credits": rows(FocusCredit, FocusCredit.user_id == user_id),
        "scheduled_sessions": rows(StudySession, StudySession.creator_id == user_id),
        "session_signups": rows(SessionParticipant, SessionParticipant.user_id == user_id),
        "session_notes": rows(SessionNote, SessionNote.user_id == user_id),
        "block_goals": rows(BlockGoal, BlockGoal.user_id == user_id),
        "chat_reactions": rows(ChatReaction, ChatReaction.user_id == user_id),
    }


def delete_account(db: Session, *, user_id: int, now: datetime | None = None) -> scheduled.Departure:
    """Remove the user and everything they own, in the caller's one transaction.

    Rows owned by the user go by foreign-key cascade (tasks, messages, memberships, credits,
    logins, OAuth identities, scheduled sessions, sign-ups, notes, calendar feed); rooms they
    host pass to the next participant through the rooms service, which the caller runs first
    (it needs to publish the change). Upcoming sessions they host with people signed up are
    cancelled first and their places elsewhere freed (the waitlist moves up): the returned
    ``Departure`` names those sessions so the caller can tell the people looking at them.
    """
    user = db.get(User, user_id)
    if user is None:
        return scheduled.Departure((), ())
    with elevated(db, "an account's deletion takes others' sign-ups, notes and chat in its sessions"):
        return _delete_account(db, user=user, now=now)


def _delete_account(db: Session, *, user: User, now: datetime | None) -> scheduled.Departure:
    user_id = user.id
    departure = scheduled.release_user(db, user_id=user_id, now=now)
    # What open pages show of the user and must drop (their rooms' cached task and goal
    # lists, chat tails), read before the rows go.
    rooms = {*db.exec(select(Task.room_id).where(Task.user_id == user_id, col(Task.room_id).is_not(None))).all(),
             *db.exec(select(BlockGoal.room_id).where(BlockGoal.user_id == user_id,
                                                      col(BlockGoal.room_id).is_not(None))).all()}
    departure = replace(departure, rooms=tuple(sorted(rooms)),
                        chat_changes=tuple(chat.author_gone(db, user_id=user_id)))
    # Explicit deletes as well as the FK cascade: SQLite only cascades with foreign_keys=ON.
    for model in (AuthSession, LoginTicket, EmailToken, OAuthAccount, Task, ChatMessage, FocusCredit, RoomMember,
                  SessionNote, SessionParticipant, CalendarFeed, BlockGoal, ChatReaction):
        db.exec(delete(model).where(col(model.user_id) == user_id))
    hosted = db.exec(select(StudySession.id).where(StudySession.creator_id == user_id)).all()
    if hosted:
        # Other people's sign-ups, notes and chat in the sessions the user hosted go with them.
        db.exec(delete(SessionParticipant).where(col(SessionParticipant.session_id).in_(hosted)))
        db.exec(delete(SessionNote).where(col(SessionNote.session_id).in_(hosted)))
        db.exec(delete(ChatMessage).where(col(ChatMessage.channel).in_([scheduled.chat_channel(i) for i in hosted])))
        db.exec(delete(StudySession).where(col(StudySession.id).in_(hosted)))
    db.delete(user)
    return departure
