"""Changing the password from /settings (``accounts_async.change_password``): the current
password is checked and its failures throttled like logins, the new one must be strong and
different, and every other login of the account ends (this one stays), with pending login
tickets and mailed reset links; an address-confirmation link stays valid."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from sessions_app.db import session_scope
from sessions_app.models import AuthSession, EmailToken, User, utcnow
from sessions_app.services import accounts, accounts_async, passwords, recovery
from sessions_app.services.errors import RateLimited, ServiceError
from tests.support.factories import make_user

OLD = "correct horse battery staple"
NEW = "violet tram under seven bridges"


@pytest.fixture
def ada(engine):
    """Ada with a password, logged in on two devices, with a reset link and a confirmation link."""
    with session_scope(engine) as db:
        user = make_user(db, "Ada", password=OLD)
        here, elsewhere = (accounts.start_session(db, user_id=user.id) for _ in range(2))
        recovery.issue_token(db, user=user, purpose=recovery.RESET)
        recovery.issue_token(db, user=user, purpose=recovery.VERIFY)
        return {"id": user.id, "here": here, "elsewhere": elsewhere}


def _change(engine, ada, current=OLD, new=NEW, client="10.0.0.1", confirm=None):
    return asyncio.run(accounts_async.change_password(user_id=ada["id"], current=current, new=new,
                                                      confirm=new if confirm is None else confirm,
                                                      keep_token=ada["here"], client=client, engine=engine))


def _logged_in(engine, token) -> bool:
    with Session(engine) as db:
        return accounts.user_for_token(db, token) is not None


def _hash(engine, uid) -> str:
    with Session(engine) as db:
        return db.get(User, uid).password_hash


def test_the_new_password_works_the_old_one_does_not_and_only_this_login_stays(engine, ada):
    with session_scope(engine) as db:  # a login that expired long ago goes too, uncounted
        db.add(AuthSession(user_id=ada["id"], token_hash="old", created_at=utcnow() - timedelta(days=90),
                           expires_at=utcnow() - timedelta(days=60)))
    assert _change(engine, ada) == 1  # one other (live) login ended
    with Session(engine) as db:
        assert accounts.authenticate(db, email="ada@example.com", password=NEW, client="c").id == ada["id"]
        with pytest.raises(ServiceError, match="do not match"):
            accounts.authenticate(db, email="ada@example.com", password=OLD, client="c")
        purposes = {t.purpose for t in db.exec(select(EmailToken)).all()}
        logins = db.exec(select(AuthSession)).all()
    assert _logged_in(engine, ada["here"]) and not _logged_in(engine, ada["elsewhere"])
    assert len(logins) == 1  # only this browser's
    assert purposes == {recovery.VERIFY}  # the reset link is gone; the confirmation link stays


@pytest.mark.parametrize(("current", "new", "message"), [
    ("not my password at all", NEW, accounts_async.WRONG_CURRENT),
    (None, NEW, accounts_async.WRONG_CURRENT),
    ("x" * 10_000, NEW, accounts_async.WRONG_CURRENT),
    (OLD, OLD, accounts_async.SAME_PASSWORD),
    (OLD, "password123", "too easy to guess"),
    (OLD, None, "Password"),
    (OLD, "ada@example.com", "too easy to guess"),  # its own email address
])
def test_a_refused_change_changes_nothing(engine, ada, current, new, message):
    before = _hash(engine, ada["id"])
    with pytest.raises(ServiceError) as refused:
        _change(engine, ada, current=current, new=new)
    assert message.lower() in refused.value.message.lower()
    assert _hash(engine, ada["id"]) == before
    assert _logged_in(engine, ada["here"]) and _logged_in(engine, ada["elsewhere"])


def test_two_different_new_passwords_are_refused_before_anything_is_checked(engine, ada, settings_env):
    settings_env(LOGIN_FREE_FAILURES="1")
    before = _hash(engine, ada["id"])
    for _ in range(3):  # not failed logins: a typo does not count against the account
        with pytest.raises(ServiceError, match="differ"):
            _change(engine, ada, current="a wrong guess", confirm=NEW + "!")
    assert _hash(engine, ada["id"]) == before
    assert _change(engine, ada) == 1


def test_guessing_the_current_password_is_throttled_like_a_login(engine, ada, settings_env):
    settings_env(LOGIN_FREE_FAILURES="2")
    for _ in range(3):
        with pytest.raises(ServiceError, match="current password"):
            _change(engine, ada, current="a wrong guess")
    with pytest.raises(RateLimited, match="Too many failed logins"):
        _change(engine, ada)  # even the right one waits now
    assert passwords.verify_password(_hash(engine, ada["id"]), OLD)


def test_an_account_without_a_password_is_told_how_to_add_one(engine):
    with session_scope(engine) as db:
        uid = make_user(db, "Oauth Olli").id  # signed up through a provider: no password
    with pytest.raises(ServiceError, match="no password yet"):
        asyncio.run(accounts_async.change_password(user_id=uid, current="", new=NEW, confirm=NEW, keep_token="",
                                                   client="c", engine=engine))
