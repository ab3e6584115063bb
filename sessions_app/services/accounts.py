"""Accounts: sign-up, password login, login sessions, profile, export and deletion."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from sessions_app.models import (
    AuthSession,
    CalendarFeed,
    ChatMessage,
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
from sessions_app.services import progression, ratelimit, scheduled
from sessions_app.services.errors import ServiceError
from sessions_app.services.tokens import hash_token, new_token
from sessions_app.settings import get_settings

MAX_NAME = 40
MIN_PASSWORD = 10
MAX_PASSWORD = 256
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# A handful of passwords that pass a length rule yet are guessed first.
COMMON_PASSWORDS = frozenset(
    {"password123", "1234567890", "qwertyuiop", "password1234", "iloveyou12", "letmein123",
     "0123456789", "abcdefghij", "passwordpassword", "qwerty1234", "1q2w3e4r5t", "aaaaaaaaaa"}
)

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown so a failed login takes the same time either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")

BAD_LOGIN = "That email and password do not match an account. Check them and try again."
DUPLICATE_EMAIL = "An account with this email already exists. Log in instead."


@dataclass(frozen=True)
class UserPublic:
    """What other students may see of a user."""

    id: int
    display_name: str
    avatar_url: str
    level: int


@dataclass(frozen=True)
class Me:
    """What the logged-in user sees of themselves (never sent to anyone else)."""

    id: int
    display_name: str
    avatar_url: str
    email: str
    timezone: str
    exp_total: int
    level: int
    level_progress: float
    exp_to_next: int


def public(user: User) -> UserPublic:
    """The public shape of a user."""
    return UserPublic(user.id, user.display_name, user.avatar_url, progression.level_for(user.exp_total))


def me(user: User) -> Me:
    """The owner's own view of their account."""
    lvl = progression.level_for(user.exp_total)
    return Me(
        id=user.id,
        display_name=user.display_name,
        avatar_url=user.avatar_url,
        email=user.email or "",
        timezone=user.timezone,
        exp_total=user.exp_total,
        level=lvl,
        level_progress=progression.progress_in_level(user.exp_total),
        exp_to_next=progression.exp_for_level(lvl + 1) - user.exp_total,
    )


# --- validation -------------------------------------------------------------------------


def clean_display_name(name: object) -> str:
    """Validate a display name: 1–40 visible characters, no control characters."""
    if not isinstance(name, str):
        raise ServiceError("Display name must be text.", field="name")
    name = unicodedata.normalize("NFC", " ".join(name.split()))
    if not name:
        raise ServiceError("Enter a display name.", field="name")
    if len(name) > MAX_NAME:
        raise ServiceError(f"Display name is too long: at most {MAX_NAME} characters.", field="name")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise ServiceError("Display name contains characters that cannot be shown.", field="name")
    return name


def clean_email(email: object) -> str:
    """Validate and normalise an email address (lower-case, trimmed)."""
    if not isinstance(email, str):
        raise ServiceError("Email must be text.", field="email")
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ServiceError("Enter a valid email address, like ada@example.com.", field="email")
    return email


def check_password_strength(password: object, *, email: str = "") -> str:
    """Refuse weak passwords with a message that says how to fix them."""
    if not isinstance(password, str):
        raise ServiceError("Password must be text.", field="password")
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"Password is too short: use at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise ServiceError(f"Password is too long: at most {MAX_PASSWORD} characters.", field="password")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4 or (email and email.split("@")[0] in lowered and len(email.split("@")[0]) >= 4):
        raise ServiceError("That password is too easy to guess. Try a few unrelated words together.", field="password")
    return password


def clean_timezone(tz: object) -> str:
    """Validate an IANA time-zone name such as ``Europe/Berlin``."""
    if not isinstance(tz, str) or not tz or len(tz) > 64:
        raise ServiceError("Choose a time zone from the list.", field="timezone")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(f"Unknown time zone {tz[:64]!r}. Choose one from the list.", field="timezone") from None
    return tz


# --- sign-up, login, sessions -------------------------------------------------------------


def sign_up(db: Session, *, name: object, email: object, password: object, timezone: str = "UTC") -> User:
    """Create a password account. Raises ``ServiceError`` for any bad field."""
    name = clean_display_name(name)
    email = clean_email(email)
    password = check_password_strength(password, email=email)
    if db.exec(select(User.id).where(User.email == email)).first() is not None:
        raise ServiceError(DUPLICATE_EMAIL, field="email")
    try:
        tz = clean_timezone(timezone)
    except ServiceError:
        tz = "UTC"
    user = User(email=email, password_hash=_hasher.hash(password), display_name=name, timezone=tz)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same email signed up concurrently, between check and insert
        raise ServiceError(DUPLICATE_EMAIL, field="email") from None
    return user


def authenticate(db: Session, *, email: object, password: object, client: str) -> User:
    """Check an email + password. Failures never tell whether the email exists.

    Rate-limited per email and per client, so guessing is refused on the server.
    """
    email_key = email.strip().lower()[:254] if isinstance(email, str) else ""
    ratelimit.hit(
        get_settings().login_rate_limit,
        f"login:email:{email_key}",
        f"login:client:{client}",
        message="Too many login attempts. Wait a minute, then try again.",
    )
    if not isinstance(password, str) or not email_key or len(password) > MAX_PASSWORD:
        raise ServiceError(BAD_LOGIN)
    user = db.exec(select(User).where(User.email == email_key)).first()
    if user is None or not user.password_hash:
        try:
            _hasher.verify(_DUMMY_HASH, password)
        except VerificationError:
            pass
        raise ServiceError(BAD_LOGIN)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise ServiceError(BAD_LOGIN) from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        db.add(user)
    return user


def start_session(db: Session, *, user_id: int) -> str:
    """Create a new login for ``user_id`` and return its token (only its hash is stored)."""
    token = new_token()
    now = utcnow()
    db.add(AuthSession(user_id=user_id, token_hash=hash_token(token),
                       created_at=now, expires_at=now + timedelta(days=get_settings().session_days)))
    return token


def user_for_token(db: Session, token: object) -> User | None:
    """The user a login token belongs to, or None if it is unknown, revoked or expired."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = db.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return db.get(User, row.user_id)


def end_session(db: Session, *, token: object) -> None:
    """Revoke one login (logout)."""
    if isinstance(token, str) and token:
        db.exec(delete(AuthSession).where(col(AuthSession.token_hash) == hash_token(token)))


def _ticket_hash(ticket: str, binding: str) -> str:
    return hash_token(f"{ticket}:{binding}" if binding else ticket)


def issue_login_ticket(db: Session, *, user_id: int, next_path: str, binding: str = "") -> str:
    """A one-time ticket (60 s) that the browser exchanges for a login after OAuth.

    With a ``binding`` (the OAuth ``state`` the browser tab started), only a redemption that
    presents the same binding works: a callback URL opened in another browser (login CSRF)
    logs nobody in.
    """
    ticket = new_token()
    db.add(LoginTicket(ticket_hash=_ticket_hash(ticket, binding), user_id=user_id,
                       next_path=safe_next(next_path), expires_at=utcnow() + timedelta(seconds=60)))
    return ticket


def take_login_ticket(db: Session, *, ticket: object, binding: str = "") -> tuple[int, str] | None:
    """Use up a ticket: ``(user id, next path)``, or None if unknown, expired or used."""
    if not isinstance(ticket, str) or not ticket or len(ticket) > 128 or not isinstance(binding, str):
        return None
    row = db.get(LoginTicket, _ticket_hash(ticket, binding))
    if row is None:
        return None
    db.delete(row)
    if row.expires_at <= utcnow():
        return None
    return row.user_id, row.next_path


def redeem_login_ticket(db: Session, *, ticket: object, binding: str = "") -> tuple[str, str] | None:
    """Exchange a ticket for ``(session token, next path)``; each ticket works once."""
    taken = take_login_ticket(db, ticket=ticket, binding=binding)
    if taken is None:
        return None
    return start_session(db, user_id=taken[0]), taken[1]


def purge_expired_logins(db: Session, *, now: datetime | None = None) -> int:
    """Delete expired login tickets and expired logins (a periodic clean-up); returns the count."""
    now = now or utcnow()
    tickets = db.exec(delete(LoginTicket).where(col(LoginTicket.expires_at) <= now)).rowcount
    logins = db.exec(delete(AuthSession).where(col(AuthSession.expires_at) <= now)).rowcount
    return (tickets or 0) + (logins or 0)


def safe_next(path: object) -> str:
    """A post-login destination limited to this app's own paths (no open redirects)."""
    # Whitespace and control characters are refused too: browsers drop tabs and newlines
    # from URLs, so "/\t/evil.com" would become "//evil.com".
    if (isinstance(path, str) and path.startswith("/") and not path.startswith("//") and "\\" not in path
            and len(path) <= 500 and not any(c.isspace() or unicodedata.category(c).startswith("C") for c in path)):
        return path
    return "/lobby"


# --- profile --------------------------------------------------------------------------------


def rename(db: Session, *, user_id: int, name: object) -> User:
    """Change the display name."""
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")
    user.display_name = clean_display_name(name)
    db.add(user)
    return user


def set_timezone(db: Session, *, user_id: int, timezone: object) -> User:
    """Change the time zone used for streak days and shown times."""
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")
    user.timezone = clean_timezone(timezone)
    db.add(user)
    return user


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
        },
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
    departure = scheduled.release_user(db, user_id=user_id, now=now)
    # Explicit deletes as well as the FK cascade: SQLite only cascades with foreign_keys=ON.
    for model in (AuthSession, LoginTicket, OAuthAccount, Task, ChatMessage, FocusCredit, RoomMember,
                  SessionNote, SessionParticipant, CalendarFeed):
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
