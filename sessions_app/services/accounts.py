"""Accounts: sign-up, password login, login sessions and profile (a student's data, its export
and deletion: ``services.account_data``)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from sessions_app.models import (
    AuthSession,
    LoginTicket,
    User,
    utcnow,
)
from sessions_app.services import login_guard, passwords, progression, text
from sessions_app.services.errors import ServiceError
from sessions_app.services.tokens import hash_token, new_token
from sessions_app.settings import get_settings

MAX_NAME = 40
MIN_PASSWORD = passwords.MIN_PASSWORD
MAX_PASSWORD = passwords.MAX_PASSWORD
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

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
    return text.clean(name, label="Display name", max_len=MAX_NAME, field="name")


def clean_email(email: object) -> str:
    """Validate and normalise an email address (lower-case, trimmed)."""
    email = text.clean(email, label="Email", max_len=1000, field="email", required=False).lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise ServiceError("Enter a valid email address, like ada@example.com.", field="email")
    return email


def check_password_strength(password: object, *, email: str = "", name: str = "") -> str:
    """Refuse weak passwords (zxcvbn score < 3) with a message that says how to fix them;
    the account's email and name count as words a guesser would try first."""
    password = passwords.check_strength(password, user_inputs=password_user_inputs(email=email, name=name))
    # zxcvbn discounts such words but can still score "grace.hopper.2024!" high for
    # grace.hopper@…: the first thing a targeted guesser tries, so refuse it outright.
    local = email.split("@")[0]
    if len(local) >= 4 and local in password.lower():
        raise ServiceError("That password is too easy to guess. It contains your email address. "
                           "Use a few words that have nothing to do with you.", field="password")
    return password


def password_user_inputs(*, email: str = "", name: str = "") -> tuple[str, ...]:
    """The account's own words that make a password guessable (for zxcvbn)."""
    return tuple(x for x in (email, name, "sessions") if x)


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
    password = check_password_strength(password, email=email, name=name)
    return add_password_user(db, name=name, email=email, password_hash=passwords.hash_password(password),
                             timezone=timezone)


def add_password_user(db: Session, *, name: str, email: str, password_hash: str, timezone: str = "UTC") -> User:
    """Insert a password account from already-cleaned fields and a hash (the hashing runs
    off the event loop: ``accounts_async.sign_up``)."""
    if db.exec(select(User.id).where(User.email == email)).first() is not None:
        raise ServiceError(DUPLICATE_EMAIL, field="email")
    try:
        tz = clean_timezone(timezone)
    except ServiceError:
        tz = "UTC"
    user = User(email=email, password_hash=password_hash, display_name=name, timezone=tz)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same email signed up concurrently, between check and insert
        raise ServiceError(DUPLICATE_EMAIL, field="email") from None
    return user


def login_email_key(email: object) -> str:
    """The email as logins look it up and throttle it (trimmed, lower-case, capped)."""
    return email.strip().lower()[:254] if isinstance(email, str) and text.encodable(email) else ""


def begin_login(db: Session, *, email_key: str, password: object, client: str,
                device: object = "") -> tuple[User | None, login_guard.Attempt]:
    """First half of a password login: find the account, pick the failure counters (a known
    device has its own), refuse while they are blocked and refuse malformed input.

    Returns the user (None for an unknown email: the caller still verifies a dummy hash, so
    both take the same time) and the attempt to report back to ``login_guard``.
    """
    user = db.exec(select(User).where(User.email == email_key)).first() if email_key else None
    attempt = login_guard.attempt(email_key, client, login_guard.known_device(device, user.id if user else None))
    login_guard.check(attempt)
    if (not isinstance(password, str) or not email_key or len(password) > MAX_PASSWORD
            or not text.encodable(password)):
        login_guard.failed(attempt)
        raise ServiceError(BAD_LOGIN)
    return user, attempt


def finish_login(attempt: login_guard.Attempt, user: User | None, ok: bool) -> User:
    """Second half: count a failure (same message whether or not the email exists) or
    clear this client's failures."""
    if not ok or user is None:
        login_guard.failed(attempt)
        raise ServiceError(BAD_LOGIN)
    login_guard.succeeded(attempt)
    return user


def authenticate(db: Session, *, email: object, password: object, client: str, device: object = "") -> User:
    """Check an email + password (synchronously: scripts and tests; the app uses
    ``accounts_async.authenticate``). Failures never tell whether the email exists.

    Failed attempts are throttled with growing delays (``login_guard``); ``device`` is the
    browser's device token from an earlier login, which keeps the owner's usual browser
    unaffected by anyone else's failures.
    """
    user, attempt = begin_login(db, email_key=login_email_key(email), password=password, client=client, device=device)
    ok = passwords.verify_password(user.password_hash if user else None, password)
    finish_login(attempt, user, ok)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
        db.add(user)
    return user


def start_session(db: Session, *, user_id: int) -> str:
    """Create a new login for ``user_id`` and return its token (only its hash is stored)."""
    token = new_token()
    now = utcnow()
    db.add(AuthSession(user_id=user_id, token_hash=hash_token(token),
                       created_at=now, expires_at=now + timedelta(days=get_settings().session_days)))
    return token


# Every event of a logged-in tab runs this lookup: built once, Core columns (no ORM step).
_LOGIN = select(AuthSession.__table__.c.user_id, AuthSession.__table__.c.expires_at).where(
    AuthSession.__table__.c.token_hash == bindparam("token_hash"))


def user_for_token(db: Session, token: object) -> User | None:
    """The user a login token belongs to, or None if it is unknown, revoked or expired."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = db.execute(_LOGIN, {"token_hash": hash_token(token)}).first()
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


def adopt_timezone(db: Session, *, user_id: int, timezone: object) -> None:
    """Use ``timezone`` (the browser's) for an account still on UTC; an unknown zone is ignored."""
    user = db.get(User, user_id)
    if user is not None and user.timezone == "UTC" and timezone != "UTC":
        try:
            set_timezone(db, user_id=user_id, timezone=timezone)
        except ServiceError:
            pass
