"""The caller of a hot event (a chat post, a timer action), from the login token, in ONE
statement — and as a chat message shows its author.

``accounts.user_for_token`` reads the login, then loads the whole ``User`` row through the
ORM (and a chat post used that row for the message's author): two statements and the ORM's
loading machinery on every post, the largest part of a post's database time after the
commit. ``for_token`` applies the same rule (an unknown, revoked or expired login is
nobody) with one Core statement that also reads the few columns a message shows of its
author (``Caller``). Inside the transaction the caller is remembered (``remember``), so the
service that runs next for them (``chat.post``) does not read it again (``known``): the
part the ORM's identity map played before.

Page loads, which refresh the user's own view (email-free, but with the time zone and EXP),
keep ``accounts.user_for_token``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, select
from sqlmodel import Session

from sessions_app.models import AuthSession, User, utcnow
from sessions_app.services.tokens import hash_token

_USER, _LOGIN = User.__table__.c, AuthSession.__table__.c
_COLUMNS = (_USER.id, _USER.display_name, _USER.avatar_url, _USER.exp_total, _USER.name_color,
            _USER.avatar_border)
# Built once, bound parameters, Core columns: every hot event runs one of them.
_BY_TOKEN = (select(*_COLUMNS, _LOGIN.expires_at)
             .join_from(AuthSession.__table__, User.__table__, _USER.id == _LOGIN.user_id)
             .where(_LOGIN.token_hash == bindparam("token_hash")))
_BY_ID = select(*_COLUMNS).where(_USER.id == bindparam("user_id"))
_KEY = "sessions_caller"  # in ``Session.info``: this transaction's caller


@dataclass(frozen=True)
class Caller:
    """A logged-in user as others see them next to a message (the field names are
    ``User``'s, so ``cosmetics.looks`` reads either)."""

    id: int
    display_name: str
    avatar_url: str
    exp_total: int
    name_color: str
    avatar_border: str


def for_token(db: Session, token: object) -> Caller | None:
    """Who holds the login ``token``: ``accounts.user_for_token``'s rule (None for anything
    that is not a token, an unknown, revoked or expired login) in one statement."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = db.connection().execute(_BY_TOKEN, {"token_hash": hash_token(token)}).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return Caller(row.id, row.display_name, row.avatar_url, row.exp_total, row.name_color, row.avatar_border)


def by_id(db: Session, user_id: int) -> Caller | None:
    """A user by id (None if there is none)."""
    row = db.connection().execute(_BY_ID, {"user_id": user_id}).first()
    return Caller(*row) if row is not None else None


def remember(db: Session, caller: Caller) -> None:
    """This transaction runs for ``caller`` (``state.base.caller_then``, after the lookup)."""
    db.info[_KEY] = caller


def known(db: Session, user_id: object) -> Caller | None:
    """The caller this transaction was started for, if it is ``user_id`` (else None)."""
    caller = db.info.get(_KEY)
    return caller if caller is not None and caller.id == user_id else None


def get(db: Session, user_id: object) -> Caller | None:
    """``known`` if it is this user, else read (None for no such user or no id)."""
    if not isinstance(user_id, int) or user_id <= 0:
        return None
    return known(db, user_id) or by_id(db, user_id)
