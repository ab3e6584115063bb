"""The SQLite chat lane remembers the hash of each login cookie it has seen
(``services.chat_hot._token_hash``) — and still asks the database about the login on every
post: a tab whose login ended (logged out, expired) since its last post posts nothing more,
and a stranger's token never takes a remembered login's place."""

from __future__ import annotations

from sqlmodel import select

from sessions_app import db as app_db
from sessions_app.models import AuthSession, ChatMessage, utcnow
from sessions_app.services import accounts, chat, chat_hot
from tests.unit.test_chat_hot import _world
from tests.unit.test_chat_hot_login import pytestmark  # noqa: F401 (SQLite's road only)


def _post(engine, token: str, body: str):
    return chat_hot.post(engine, token=token, channel=chat.room_channel(1), body=body)


def _bodies(engine) -> list[str]:
    with app_db.session_scope(engine) as db:
        return [m.body for m in db.exec(select(ChatMessage).order_by(ChatMessage.id)).all()]


def test_a_login_ended_after_a_post_posts_nothing_more(engine):
    world = _world(engine)
    token = world["tokens"][world["bob"]]
    assert _post(engine, token, "first")[0] == world["bob"]
    assert chat_hot._token_hash(token) == accounts.hash_token(token)  # remembered now
    with app_db.session_scope(engine) as db:
        accounts.end_session(db, token=token)
    assert _post(engine, token, "after logout") == (None, None, None)
    assert _bodies(engine) == ["first"]


def test_a_login_expired_after_a_post_posts_nothing_more(engine):
    world = _world(engine)
    token = world["tokens"][world["host"]]
    assert _post(engine, token, "first")[0] == world["host"]
    with app_db.session_scope(engine) as db:
        row = db.exec(select(AuthSession).where(AuthSession.token_hash == accounts.hash_token(token))).one()
        row.expires_at = utcnow()
    assert _post(engine, token, "too late") == (None, None, None)
    assert _bodies(engine) == ["first"]


def test_remembered_hashes_belong_to_their_own_tokens(engine):
    world = _world(engine)
    bob, host = world["tokens"][world["bob"]], world["tokens"][world["host"]]
    _post(engine, bob, "bob's")
    _post(engine, host, "the host's")
    assert _post(engine, bob + "x", "forged") == (None, None, None)
    assert _post(engine, bob, "bob again")[0] == world["bob"]
    assert _bodies(engine) == ["bob's", "the host's", "bob again"]
