"""Unit tests of the accounts service: validation, hashing, login, sessions, export, deletion.

Each test runs on its own temporary SQLite file (the ``db`` fixture) with fresh rate limits.
Messages are asserted as a student would read them: they must say what to fix.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from sessions_app.models import (
    AuthSession,
    ChatMessage,
    FocusCredit,
    LoginTicket,
    OAuthAccount,
    Room,
    RoomMember,
    Task,
    User,
    utcnow,
)
from sessions_app.services import account_data, accounts, chat, chat_log
from sessions_app.services.errors import RateLimited, ServiceError
from sessions_app.services.tokens import hash_token
from sessions_app.settings import get_settings
from tests.support.factories import make_user

PASSWORD = "correct horse battery staple"


def refused(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    return info.value


# --- sign-up validation --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        ({"name": ""}, "Enter a display name.", "name"),
        ({"name": "   "}, "Enter a display name.", "name"),
        ({"name": "x" * 41}, "Display name is too long: at most 40 characters.", "name"),
        ({"name": "Ada\x00Lovelace"}, "Display name contains characters that cannot be shown.", "name"),
        ({"name": 42}, "Display name must be text.", "name"),
        ({"email": "not-an-email"}, "Enter a valid email address, like ada@example.com.", "email"),
        ({"email": "a@b"}, "Enter a valid email address, like ada@example.com.", "email"),
        ({"email": "x" * 250 + "@example.com"}, "Enter a valid email address, like ada@example.com.", "email"),
        ({"password": "short"}, "Password is too short: use at least 10 characters.", "password"),
        ({"password": "p" * 257 + "ab1!"}, "Password is too long: at most 256 characters.", "password"),
        ({"password": "password123"}, "That password is too easy to guess. This is a very common password.", "password"),
        ({"password": "aaaaaaaaaaaa"}, "That password is too easy to guess. Repeats like", "password"),
        ({"password": "grace.hopper.2024!"}, "That password is too easy to guess.", "password"),
        # Accepted by the old length + short-list rule (issue 10, item 9).
        ({"password": "Password12"}, "That password is too easy to guess. This is a very common password.", "password"),
        ({"password": "qwertyuiop1"}, "That password is too easy to guess.", "password"),
        ({"password": "1234512345"}, "That password is too easy to guess.", "password"),
    ],
)
def test_sign_up_refuses_bad_fields_with_a_clear_message(db, fields, message, field):
    values = {"name": "Grace", "email": "grace.hopper@example.com", "password": PASSWORD, **fields}
    err = refused(accounts.sign_up, db, **values)
    assert err.message.startswith(message)
    assert err.field == field
    assert db.exec(select(User)).all() == []


def test_sign_up_accepts_a_name_of_exactly_40_characters_and_tidies_spaces(db):
    user = accounts.sign_up(db, name="  Ada   " + "L" * 36 + "  ", email="ada@example.com", password=PASSWORD)
    assert user.display_name == "Ada " + "L" * 36
    assert len(user.display_name) == 40


def test_email_is_normalised_and_duplicates_are_refused_whatever_the_case(db):
    user = make_user(db, email="  Ada.Lovelace@Example.COM ", password=PASSWORD)
    assert user.email == "ada.lovelace@example.com"
    err = refused(accounts.sign_up, db, name="Other", email="ADA.LOVELACE@example.com", password=PASSWORD)
    assert err.message == "An account with this email already exists. Log in instead."
    assert err.field == "email"
    assert len(db.exec(select(User)).all()) == 1


def test_sign_up_keeps_a_valid_time_zone_and_falls_back_to_utc(db):
    berlin = accounts.sign_up(db, name="B", email="b@example.com", password=PASSWORD, timezone="Europe/Berlin")
    bogus = accounts.sign_up(db, name="C", email="c@example.com", password=PASSWORD, timezone="Mars/Olympus")
    assert (berlin.timezone, bogus.timezone) == ("Europe/Berlin", "UTC")


def test_password_is_stored_only_as_an_argon2id_hash(db):
    user = make_user(db, password=PASSWORD)
    stored = db.exec(select(User.password_hash).where(User.id == user.id)).one()
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    # Two accounts with the same password get different hashes (salted).
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    assert other.password_hash != stored


def test_password_is_never_logged(db, caplog):
    caplog.set_level("DEBUG")
    make_user(db, password=PASSWORD)
    accounts.authenticate(db, email="ada@example.com", password=PASSWORD, client="c")
    with pytest.raises(ServiceError):
        accounts.authenticate(db, email="ada@example.com", password="wrong password here", client="c")
    assert PASSWORD not in caplog.text and "wrong password here" not in caplog.text


# --- authenticate ----------------------------------------------------------------------------


def test_authenticate_returns_the_user_for_the_right_password_any_email_case(db):
    user = make_user(db, password=PASSWORD)
    assert accounts.authenticate(db, email=" ADA@example.com ", password=PASSWORD, client="c").id == user.id


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong password!!"),
        ("nobody@example.com", PASSWORD),
        ("nobody@example.com", "wrong password!!"),
        ("", PASSWORD),
        (None, PASSWORD),
        ("ada@example.com", None),
        ("ada@example.com", "x" * 300),
    ],
)
def test_authenticate_failures_all_read_the_same(db, email, password):
    make_user(db, password=PASSWORD)
    err = refused(accounts.authenticate, db, email=email, password=password, client="c")
    assert err.message == accounts.BAD_LOGIN
    assert not isinstance(err, RateLimited)


def test_oauth_only_account_cannot_log_in_with_a_password(db):
    db.add(User(email="oauth@example.com", display_name="OAuth Only"))
    db.commit()
    err = refused(accounts.authenticate, db, email="oauth@example.com", password="", client="c")
    assert err.message == accounts.BAD_LOGIN
    err = refused(accounts.authenticate, db, email="oauth@example.com", password=PASSWORD, client="c")
    assert err.message == accounts.BAD_LOGIN


# Failed-login throttling (delays, keys, lock-out): tests/unit/test_login_guard.py.


# --- sessions and tickets --------------------------------------------------------------------


def test_session_token_is_stored_only_as_its_hash(db):
    user = make_user(db, password=PASSWORD)
    token = accounts.start_session(db, user_id=user.id)
    db.commit()
    row = db.exec(select(AuthSession)).one()
    assert row.token_hash == hash_token(token) and row.token_hash != token
    assert len(token) >= 40
    assert accounts.user_for_token(db, token).id == user.id
    assert row.expires_at - row.created_at == timedelta(days=get_settings().session_days)


@pytest.mark.parametrize("token", ["", None, 123, "x" * 129, "not-a-token"])
def test_unknown_or_malformed_tokens_log_nobody_in(db, token):
    make_user(db, password=PASSWORD)
    assert accounts.user_for_token(db, token) is None


def test_expired_session_logs_nobody_in(db):
    user = make_user(db, password=PASSWORD)
    token = accounts.start_session(db, user_id=user.id)
    db.commit()
    row = db.exec(select(AuthSession)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert accounts.user_for_token(db, token) is None


def test_logout_revokes_only_that_login(db):
    user = make_user(db, password=PASSWORD)
    phone = accounts.start_session(db, user_id=user.id)
    laptop = accounts.start_session(db, user_id=user.id)
    db.commit()
    accounts.end_session(db, token=phone)
    db.commit()
    assert accounts.user_for_token(db, phone) is None
    assert accounts.user_for_token(db, laptop).id == user.id


def test_login_ticket_works_once(db):
    user = make_user(db, password=PASSWORD)
    ticket = accounts.issue_login_ticket(db, user_id=user.id, next_path="/profile")
    db.commit()
    assert db.exec(select(LoginTicket)).one().ticket_hash == hash_token(ticket)
    token, next_path = accounts.redeem_login_ticket(db, ticket=ticket)
    db.commit()
    assert next_path == "/profile"
    assert accounts.user_for_token(db, token).id == user.id
    assert accounts.redeem_login_ticket(db, ticket=ticket) is None


def test_expired_login_ticket_is_refused_and_removed(db):
    user = make_user(db, password=PASSWORD)
    ticket = accounts.issue_login_ticket(db, user_id=user.id, next_path="/lobby")
    db.commit()
    row = db.exec(select(LoginTicket)).one()
    row.expires_at = utcnow() - timedelta(seconds=1)
    db.add(row)
    db.commit()
    assert accounts.redeem_login_ticket(db, ticket=ticket) is None
    db.commit()
    assert db.exec(select(LoginTicket)).all() == []
    assert db.exec(select(AuthSession)).all() == []


def test_bound_login_ticket_needs_its_binding(db):
    user = make_user(db, password=PASSWORD)
    ticket = accounts.issue_login_ticket(db, user_id=user.id, next_path="/lobby", binding="state-of-tab-a")
    db.commit()
    assert accounts.redeem_login_ticket(db, ticket=ticket) is None
    assert accounts.redeem_login_ticket(db, ticket=ticket, binding="state-of-tab-b") is None
    assert accounts.redeem_login_ticket(db, ticket=ticket, binding="state-of-tab-a") is not None


def test_login_ticket_keeps_only_a_safe_next_path(db):
    user = make_user(db, password=PASSWORD)
    ticket = accounts.issue_login_ticket(db, user_id=user.id, next_path="https://evil.example/")
    assert accounts.redeem_login_ticket(db, ticket=ticket)[1] == "/lobby"


@pytest.mark.parametrize(
    "path",
    ["//evil.com", "https://evil.com", "http://evil.com/lobby", "/\\evil.com", "\\\\evil.com", "evil.com",
     "javascript:alert(1)", "", None, 42, "/\t/evil.com", "/\n/evil.com", "/" + "a" * 600],
)
def test_safe_next_refuses_other_sites(path):
    assert accounts.safe_next(path) == "/lobby"


@pytest.mark.parametrize("path", ["/profile", "/rooms/12", "/sessions/3/edit", "/join/ALGO7X?x=1"])
def test_safe_next_keeps_own_paths(path):
    assert accounts.safe_next(path) == path


# --- profile -----------------------------------------------------------------------------------


def test_rename_validates_and_saves(db):
    user = make_user(db, password=PASSWORD)
    assert accounts.rename(db, user_id=user.id, name="  Countess  of Lovelace ").display_name == "Countess of Lovelace"
    err = refused(accounts.rename, db, user_id=user.id, name="x" * 41)
    assert err.message == "Display name is too long: at most 40 characters."
    db.commit()
    assert db.get(User, user.id).display_name == "Countess of Lovelace"


def test_set_timezone_refuses_unknown_zones(db):
    user = make_user(db, password=PASSWORD)
    assert accounts.set_timezone(db, user_id=user.id, timezone="Asia/Tokyo").timezone == "Asia/Tokyo"
    err = refused(accounts.set_timezone, db, user_id=user.id, timezone="Nowhere/Land")
    assert "Unknown time zone" in err.message


def test_public_view_has_no_private_fields(db):
    user = make_user(db, password=PASSWORD)
    shown = accounts.public(user)
    assert set(vars(shown)) == {"id", "display_name", "avatar_url", "level"}


# --- export and deletion -------------------------------------------------------------------------


def _own_everything(db, user: User, other: User) -> Room:
    """Give ``user`` one of every kind of row, in a room hosted by ``other``."""
    room = Room(name="Algebra", discipline="Mathematics", host_id=other.id)
    db.add(room)
    db.flush()
    db.add_all([
        Task(user_id=user.id, text="Read chapter 3"),
        Task(user_id=user.id, room_id=room.id, text="Exercise 4"),
        ChatMessage(channel="lobby", user_id=user.id, body="hello"),
        ChatMessage(channel=f"room:{room.id}", user_id=user.id, body="ready?"),
        RoomMember(room_id=room.id, user_id=user.id),
        FocusCredit(user_id=user.id, room_id=room.id, phase_seq=1, minutes_present=25, exp=25, local_day="2026-11-20"),
        OAuthAccount(user_id=user.id, provider="github", subject="4242"),
    ])
    accounts.start_session(db, user_id=user.id)
    accounts.issue_login_ticket(db, user_id=user.id, next_path="/lobby")
    db.commit()
    return room


def test_export_has_the_profile_and_owned_rows_but_no_secrets(db):
    user = make_user(db, password=PASSWORD)
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    _own_everything(db, user, other)
    data = account_data.export_data(db, user_id=user.id)
    text = json.dumps(data)  # JSON-ready as it is
    assert data["profile"]["display_name"] == "Ada"
    assert data["profile"]["email"] == "ada@example.com"
    assert len(data["tasks"]) == 2 and len(data["messages"]) == 2
    assert len(data["room_stints"]) == 1 and len(data["focus_credits"]) == 1
    assert data["oauth_identities"] == [{"provider": "github"}]
    stored_hash = db.get(User, user.id).password_hash
    assert stored_hash not in text and "password" not in text.lower() and "token" not in text.lower()
    assert "4242" not in text  # the provider's subject id is not needed by the student
    assert "bob@example.com" not in text


def test_delete_account_removes_the_user_and_everything_owned(db):
    user = make_user(db, password=PASSWORD)
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    room = _own_everything(db, user, other)
    db.add(Task(user_id=other.id, room_id=room.id, text="Bob's task"))
    db.add(ChatMessage(channel="lobby", user_id=other.id, body="hi Ada"))
    db.commit()

    account_data.delete_account(db, user_id=user.id)
    db.commit()

    assert db.get(User, user.id) is None
    for model in (AuthSession, LoginTicket, OAuthAccount, Task, ChatMessage, FocusCredit, RoomMember):
        assert db.exec(select(model).where(model.user_id == user.id)).all() == [], model.__name__
    # Nothing of anyone else goes with it.
    assert db.get(User, other.id) is not None
    assert db.get(Room, room.id) is not None
    assert [t.text for t in db.exec(select(Task)).all()] == ["Bob's task"]
    assert [m.body for m in db.exec(select(ChatMessage)).all()] == ["hi Ada"]
    # The email can sign up again as a brand-new account.
    assert make_user(db, password=PASSWORD).id != user.id


def test_delete_account_names_what_open_pages_must_drop(db):
    """The rooms whose cached task lists showed the user, and a logged deletion (with its
    channel's next number) for each of their messages an open chat's tail still shows."""
    user = make_user(db, password=PASSWORD)
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    room = _own_everything(db, user, other)
    before = chat_log.current(db, "lobby")
    db.add(ChatMessage(channel="lobby", user_id=other.id, body="after Ada"))
    db.commit()
    shown = {m.channel: m.id for m in db.exec(select(ChatMessage).where(ChatMessage.user_id == user.id))}

    departure = account_data.delete_account(db, user_id=user.id)
    db.commit()

    assert departure.rooms == (room.id,)
    assert sorted((c.channel, c.deleted_id) for c in departure.chat_changes) == sorted(shown.items())
    lobby_change = next(c for c in departure.chat_changes if c.channel == "lobby")
    assert lobby_change.seq == before + 1 == chat_log.current(db, "lobby")
    assert [m.body for m in db.exec(select(ChatMessage)).all()] == ["after Ada"]


def test_messages_no_tail_shows_are_not_logged_as_deletions(db):
    user = make_user(db, password=PASSWORD)
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    db.add(ChatMessage(channel="lobby", user_id=user.id, body="long ago"))
    db.add_all([ChatMessage(channel="lobby", user_id=other.id, body=f"later {i}") for i in range(chat.PAGE)])
    db.commit()
    assert chat.author_gone(db, user_id=user.id) == []


def test_delete_account_is_one_transaction_of_the_caller(db):
    user = make_user(db, password=PASSWORD)
    other = make_user(db, name="Bob", email="bob@example.com", password=PASSWORD)
    _own_everything(db, user, other)
    account_data.delete_account(db, user_id=user.id)
    db.rollback()  # e.g. a later step failed: nothing at all is gone
    assert db.get(User, user.id) is not None
    assert len(db.exec(select(Task).where(Task.user_id == user.id)).all()) == 2
    assert len(db.exec(select(AuthSession).where(AuthSession.user_id == user.id)).all()) == 1


def test_deleted_account_cannot_log_in_and_its_sessions_are_gone(db):
    user = make_user(db, password=PASSWORD)
    token = accounts.start_session(db, user_id=user.id)
    db.commit()
    account_data.delete_account(db, user_id=user.id)
    db.commit()
    assert accounts.user_for_token(db, token) is None
    assert refused(accounts.authenticate, db, email="ada@example.com", password=PASSWORD, client="c").message == accounts.BAD_LOGIN
    account_data.delete_account(db, user_id=user.id)  # a second delete is harmless
    assert refused(account_data.export_data, db, user_id=user.id).message == "Your account no longer exists."
