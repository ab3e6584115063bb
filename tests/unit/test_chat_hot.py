"""The SQLite fast lane of a chat post (``services.chat_hot``) does what the regular path
(``state.base.caller_then`` + ``chat.post``) does: the same rows, the same change, the same
refusals, from the same login rule. Each case runs both paths on two copies of one world."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import AuthSession, ChatChangeLog, ChatMessage, Room, User, utcnow
from sessions_app.services import accounts, chat, chat_hot, quiet_focus
from sessions_app.state.base import REFUSED, caller_then
from tests.support import postgres
from tests.support.factories import room_of_three

pytestmark = pytest.mark.skipif(postgres.unit_suite_on_postgres(),
                                reason="the chat post's driver road is SQLite's; PostgreSQL keeps the regular post")


def _world(engine) -> dict:
    with app_db.session_scope(engine) as db:
        three = room_of_three(db, host_exp=900)
    return {"host": three.host, "bob": three.bob, "eve": three.eve, "room": three.room_id, "tokens": three.tokens}


def _regular(engine, token, channel, body, now):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(app_db, "get_engine", lambda: engine)
        uid, _, result, err = caller_then(token, False, lambda db, uid: chat.post(db, channel=channel, user_id=uid,
                                                                                 body=body, now=now))
    return uid, (None if result is REFUSED else result), err


def _hot(engine, token, channel, body, now):
    return chat_hot.post(engine, token=token, channel=channel, body=body, now=now)


def _rows(engine) -> list[tuple]:
    with app_db.session_scope(engine) as db:
        messages = [(m.id, m.channel, m.user_id, m.body, m.created_at) for m in db.exec(select(ChatMessage)).all()]
        log = [(e.channel, e.seq, e.message_id, e.deleted) for e in db.exec(select(ChatChangeLog)).all()]
        return messages + log


@pytest.fixture
def two(engine, tmp_path):
    """The test's database and a second one with the same world (same ids and tokens)."""
    world = _world(engine)
    engine.dispose()  # the file holds everything: copy it
    copy = tmp_path / "copy.db"
    copy.write_bytes((tmp_path / "test.db").read_bytes())
    other = app_db.make_engine(f"sqlite:///{copy}")
    yield engine, other, world
    other.dispose()


ROOM = chat.room_channel(1)  # the world's room (the first room of a fresh database)


def _both(two, who: str | None, channel: str, body: object, token: str | None = None):
    engine, other, world = two
    token = token if token is not None else (world["tokens"][world[who]] if who else "")
    now = utcnow()
    regular, hot = _regular(engine, token, channel, body, now), _hot(other, token, channel, body, now)
    return regular, hot, world


def _same(regular, hot) -> None:
    assert regular[0] == hot[0]  # the caller
    assert regular[1] == hot[1]  # the change (message, seq) or None
    assert (regular[2] and regular[2].message) == (hot[2] and hot[2].message)  # the refusal


def test_a_member_s_room_post_is_the_same_on_both_paths(two):
    regular, hot, world = _both(two, "bob", ROOM, "hello https://example.org/x.")
    _same(regular, hot)
    assert chat.room_channel(world["room"]) == ROOM
    assert hot[1].seq == 1 and hot[1].message.body == "hello https://example.org/x." and hot[1].message.user_id == world["bob"]
    assert _rows(two[0]) == _rows(two[1])


def test_the_author_s_level_and_looks_are_the_same(two):
    engine, other, world = two
    for e in (engine, other):
        with app_db.session_scope(e) as db:
            db.get(User, world["host"]).name_color = "teal"
    regular, hot, _ = _both(two, "host", chat.room_channel(world["room"]), "hi all")
    _same(regular, hot)
    assert hot[1].message.level == regular[1].message.level > 0


def test_a_lobby_post_is_the_same(two):
    regular, hot, world = _both(two, "eve", chat.LOBBY, "lobby hello")
    _same(regular, hot)
    assert hot[1].channel == chat.LOBBY and _rows(two[0]) == _rows(two[1])


@pytest.mark.parametrize("who,body", [("eve", "not a member"), ("bob", "   "), ("bob", "x" * (chat.MAX_BODY + 1)),
                                      ("bob", None), ("bob", {"not": "text"})])
def test_refusals_are_the_same_and_store_nothing(two, who, body):
    regular, hot, _ = _both(two, who, ROOM, body)
    _same(regular, hot)
    assert hot[1] is None and hot[2] is not None
    assert _rows(two[0]) == _rows(two[1]) == []


def test_a_quiet_focus_block_refuses_on_both(two):
    engine, other, world = two
    for e in (engine, other):
        with app_db.session_scope(e) as db:
            room = db.get(Room, world["room"])
            room.phase, room.focus_chat_open = "focus", False
    regular, hot, _ = _both(two, "bob", chat.room_channel(world["room"]), "psst")
    _same(regular, hot)
    assert hot[2].message == quiet_focus.QUIET


@pytest.mark.parametrize("token", ["", "not-a-login", "x" * 129])
def test_no_login_is_nobody_on_both(two, token):
    regular, hot, _ = _both(two, None, ROOM, "anonymous", token=token)
    assert regular == hot == (None, None, None)
    assert _rows(two[1]) == []


def test_an_expired_or_revoked_login_is_nobody(two):
    engine, other, world = two
    token = world["tokens"][world["bob"]]
    with app_db.session_scope(other) as db:
        row = db.exec(select(AuthSession).where(AuthSession.token_hash == accounts.hash_token(token))).one()
        row.expires_at = utcnow() - timedelta(seconds=1)
    assert _hot(other, token, chat.room_channel(world["room"]), "late", utcnow()) == (None, None, None)
    with app_db.session_scope(other) as db:
        accounts.end_session(db, token=world["tokens"][world["host"]])
    assert _hot(other, world["tokens"][world["host"]], chat.room_channel(world["room"]), "gone", utcnow()) == \
        (None, None, None)
    assert _rows(other) == []


def test_sequence_numbers_continue_across_both_paths(two):
    engine, _, world = two
    channel = chat.room_channel(world["room"])
    first = _regular(engine, world["tokens"][world["bob"]], channel, "one", utcnow())
    second = _hot(engine, world["tokens"][world["host"]], channel, "two", utcnow())
    third = _regular(engine, world["tokens"][world["bob"]], channel, "three", utcnow())
    assert [first[1].seq, second[1].seq, third[1].seq] == [1, 2, 3]
    assert first[1].message.id < second[1].message.id < third[1].message.id


def test_only_sqlite_room_and_lobby_posts_take_the_fast_lane(engine):
    assert chat_hot.handles(engine, chat.LOBBY) and chat_hot.handles(engine, chat.room_channel(3))
    assert not chat_hot.handles(engine, "session:3") and not chat_hot.handles(engine, "room:x")
    postgres = app_db.make_engine("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert not chat_hot.handles(postgres, chat.LOBBY)


def test_a_driver_post_waits_its_turn_among_the_processs_writers_and_hands_it_on(engine):
    """The driver's BEGIN IMMEDIATE takes the process's SQLite write turn (``db.sqlite_write_turn``)
    like the engine's own writers: it neither sleeps in SQLite's busy wait behind a writer nor
    keeps the turn after its commit (a kept turn would stall every later writer for 30 s)."""
    import threading

    world = _world(engine)
    turn = app_db._WRITER_TURNS[engine]
    token = world["tokens"][world["bob"]]
    assert turn.acquire(timeout=5)  # another writer holds the turn
    done = threading.Event()
    worker = threading.Thread(target=lambda: (_hot(engine, token, ROOM, "after you", None), done.set()))
    worker.start()
    assert not done.wait(0.3), "the post went ahead of the writer holding the turn"
    turn.release()
    assert done.wait(10), "the post never got the turn"
    worker.join()
    assert not turn.locked(), "the post kept the turn"
    with app_db.session_scope(engine) as db:
        assert [m.body for m in db.exec(select(ChatMessage)).all()] == ["after you"]
