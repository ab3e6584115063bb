"""The one set of data factories, for unit tests (a ``Session`` on a temporary database) and
end-to-end tests (the running app's database, through ``app_db``).

- ``make_user``: a user row; with ``password`` a real password account (``accounts.sign_up``:
  validation and an argon2 hash).
- ``make_room``: a room; with a host it is opened through ``rooms.create_room`` (the host is a
  member, a private room gets a code), without one it is a bare row.
- ``plan_session``: a scheduled session through ``scheduled.create_session``, from
  ``session_form`` (a valid form, Tuesday 10 March 2026 12:00–12:47 Berlin) and ``NOW``;
  ``pick_zone``: a zone in which a session starting now fits in today (one ends on its start
  day); ``plan_session_now``: a session starting this minute, in such a zone.
- ``login_token``: a login for a user, as the app stores it; ``new_login`` does user + login in
  the app's database for protocol clients and fast browser logins.

Factories flush (the rows have ids) and never commit; ``app_db`` commits at the end.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from sessions_app.db import as_system, make_engine
from sessions_app.models import Room, StudySession, User, utcnow
from sessions_app.services import accounts, passwords, rooms, scheduled

PASSWORD = "correct horse battery staple"
# A fixed "now" (a Monday) so the default session form is predictably in the future.
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def make_user(db: Session, name: str = "Ada", *, email: str | None = None, tz: str = "UTC", exp: int = 0,
              password: str | None = None) -> User:
    """A user named ``name`` (email ``ada.lovelace@example.com`` from the name unless given)."""
    email = email if email is not None else f"{name.lower().replace(' ', '.')}@example.com"
    if password is not None:
        user = accounts.sign_up(db, name=name, email=email, password=password, timezone=tz)
        user.exp_total = exp
    else:
        user = User(display_name=name, email=email, timezone=tz, exp_total=exp)
    db.add(user)
    db.flush()
    return user


def make_room(db: Session, host_id: int | None = None, *, name: str = "Algebra", discipline: str = "Mathematics",
              private: bool = False, **timer: int) -> Room:
    """An open room; hosted by ``host_id`` (a member) if given, else a bare row without members.
    ``timer``: the form's settings (``focus_minutes``, ``short_break_minutes``, ...)."""
    if host_id is not None:
        return rooms.create_room(db, host_id=host_id, name=name, discipline=discipline, is_private=private, **timer)
    room = Room(name=name, discipline=discipline, is_private=private)
    db.add(room)
    db.flush()
    return room


@dataclass
class RoomOfThree:
    """A host's room with Bob in it and Eve outside, and a login for each (user id → token)."""

    host: int
    bob: int
    eve: int
    room_id: int
    tokens: dict[int, str]


def room_of_three(db: Session, *, host_exp: int = 0) -> RoomOfThree:
    """The chat and timer tests' world: who may post or act in the room and who may not."""
    host, bob, eve = make_user(db, "Host", exp=host_exp).id, make_user(db, "Bob").id, make_user(db, "Eve").id
    room_id = make_room(db, host).id
    rooms.enter(db, room_id=room_id, user_id=bob)
    return RoomOfThree(host, bob, eve, room_id, {uid: accounts.start_session(db, user_id=uid) for uid in (host, bob, eve)})


def session_form(**overrides) -> dict:
    """A valid session form (what /sessions/new submits), with ``overrides``."""
    values = dict(title="Linear algebra: eigenvalues", description="Chapter 5, exercises 1-12.",
                  meeting_link="https://discord.gg/abc123", date="2026-03-10", start="12:00", end="12:47",
                  capacity="6", timezone="Europe/Berlin")
    values.update(overrides)
    return values


def plan_session(db: Session, creator_id: int, now: datetime = NOW, **overrides) -> StudySession:
    """A scheduled session created by ``creator_id`` from ``session_form(**overrides)``."""
    return scheduled.create_session(db, creator_id=creator_id, now=now, **session_form(**overrides))


# Zones far apart: whatever the hour, one of them has room for a session before its midnight.
ZONES = ["Europe/Berlin", "America/New_York", "Asia/Tokyo", "America/Los_Angeles", "Australia/Sydney",
         "Asia/Kolkata", "UTC"]


def pick_zone(lead: timedelta = timedelta(minutes=60), now: datetime | None = None) -> str:
    """A zone whose local time ``now`` is past 01:00 and stays on the same day for ``lead``."""
    for name in ZONES:
        local = (now or utcnow()).astimezone(ZoneInfo(name))
        if local.hour >= 1 and (local + lead).date() == local.date():
            return name
    raise AssertionError("no zone with room for a session today")


def plan_session_now(db: Session, creator_id: int, minutes: int = 40, **overrides) -> StudySession:
    """A session starting this minute for ``minutes``, in a zone where it ends today: in UTC
    one started at 23:30 would end tomorrow, which the form refuses."""
    now = utcnow()  # the app's clock (tests/unit/conftest.py may move it)
    start = now.astimezone(ZoneInfo(pick_zone(timedelta(minutes=minutes + 1), now=now)))
    end = start + timedelta(minutes=minutes)
    return plan_session(db, creator_id, now=now, date=start.date().isoformat(), start=f"{start:%H:%M}",
                        end=f"{end:%H:%M}", timezone=str(start.tzinfo), **overrides)


def login_token(db: Session, user_id: int) -> str:
    """A new login for ``user_id``: the token a browser or protocol client presents."""
    return accounts.start_session(db, user_id=user_id)


@contextmanager
def app_db(database_url: str) -> Iterator[Session]:
    """A session on a running app's database, committed at the end (as the system: on
    PostgreSQL the test's setup writes under row-level security like the app, docs/rls.md)."""
    engine = make_engine(database_url)
    try:
        with as_system("a test sets up the app's database"), Session(engine, expire_on_commit=False) as db:
            yield db
            db.commit()
    finally:
        engine.dispose()


@functools.cache
def password_hash(password: str) -> str:
    """The argon2 hash of ``password``, made once per test process: each costs about 0.2 s of
    CPU, and end-to-end runs make a password account for nearly every browser."""
    return passwords.hash_password(password)


def new_login(database_url: str, name: str, *, tz: str = "UTC", password: str | None = None) -> tuple[int, str, str]:
    """An account (unique email; a password account if ``password`` is given, its hash from
    ``password_hash``) in the app's database, logged in: returns (user id, email, login token)."""
    email = f"{uuid.uuid4().hex[:12]}@example.com"
    with app_db(database_url) as db:
        if password is None:
            user = make_user(db, name, email=email, tz=tz)
        else:
            user = accounts.add_password_user(db, name=name, email=email, password_hash=password_hash(password),
                                              timezone=tz)
        return user.id, user.email, login_token(db, user.id)
