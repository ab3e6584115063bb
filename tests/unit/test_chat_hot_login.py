"""The SQLite chat lane reads the login and the poster's room in ONE statement
(``services.chat_hot._LOGIN_IN_ROOM``, the expiry compared by SQLite): the same answers as
the regular path's two reads (``callers.for_token`` + ``chat._POSTER_ROOM``) at the edges —
a member who left, a stint in another room, a login about to expire and one just expired."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import AuthSession, utcnow
from sessions_app.services import accounts, chat, rooms
from tests.support import postgres
from tests.unit.test_chat_hot import _both, _same, two  # noqa: F401 (the fixture)

pytestmark = pytest.mark.skipif(postgres.unit_suite_on_postgres(),
                                reason="the chat post's driver road is SQLite's; PostgreSQL keeps the regular post")


def _for_both(two, fn) -> None:  # noqa: F811
    engine, other, _ = two
    for e in (engine, other):
        with app_db.session_scope(e) as db:
            fn(db)


def test_a_member_who_left_is_refused_on_both(two):  # noqa: F811
    world = two[2]
    _for_both(two, lambda db: rooms.leave(db, room_id=world["room"], user_id=world["bob"]))
    regular, hot, _ = _both(two, "bob", chat.room_channel(world["room"]), "still here?")
    _same(regular, hot)
    assert hot[0] == world["bob"] and hot[1] is None and hot[2].message == chat.NOT_ALLOWED


def test_a_stint_in_another_room_does_not_let_a_post_into_this_one(two):  # noqa: F811
    world = two[2]

    def eve_elsewhere(db):
        from tests.support.factories import make_room
        make_room(db, world["eve"], name="Eve's own")

    _for_both(two, eve_elsewhere)
    regular, hot, _ = _both(two, "eve", chat.room_channel(world["room"]), "hi from next door")
    _same(regular, hot)
    assert hot[1] is None and hot[2].message == chat.NOT_ALLOWED


def _expire_bob_in(two, delta: timedelta) -> None:  # noqa: F811
    token = two[2]["tokens"][two[2]["bob"]]

    def expire(db):
        row = db.exec(select(AuthSession).where(AuthSession.token_hash == accounts.hash_token(token))).one()
        row.expires_at = utcnow() + delta

    _for_both(two, expire)


def test_a_login_valid_a_moment_longer_posts_on_both(two):  # noqa: F811
    _expire_bob_in(two, timedelta(seconds=30))
    regular, hot, world = _both(two, "bob", chat.room_channel(two[2]["room"]), "just in time")
    _same(regular, hot)
    assert hot[0] == world["bob"] and hot[1].seq == 1


def test_a_login_expired_a_moment_ago_is_nobody_on_both(two):  # noqa: F811
    _expire_bob_in(two, -timedelta(milliseconds=5))
    regular, hot, _ = _both(two, "bob", chat.room_channel(two[2]["room"]), "too late")
    assert regular == hot == (None, None, None)
