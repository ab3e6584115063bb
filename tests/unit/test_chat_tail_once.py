"""``chat.tail`` (a room tab's load reads it, 200 times in a join storm) authorizes the
reader once, and still refuses anyone who may not read the channel."""

from __future__ import annotations

import pytest

from sessions_app.services import chat, rooms
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_room, make_user


def test_the_tail_checks_the_reader_once_and_shows_what_recent_shows(db, monkeypatch, settings_env):
    settings_env(CHAT_RATE_LIMIT="10000/second")
    host = make_user(db, "Host").id
    room = make_room(db, host)
    channel = chat.room_channel(room.id)
    for i in range(3):
        chat.post(db, channel=channel, user_id=host, body=f"m{i}")
    checks = []
    real = rooms.is_member
    monkeypatch.setattr(rooms, "is_member", lambda *a, **k: checks.append(1) or real(*a, **k))
    tail = chat.tail(db, channel, chat.PAGE, user_id=host)
    assert len(checks) == 1
    assert tail.seq == 3 and [m.body for m in tail.messages] == ["m0", "m1", "m2"]
    assert tail.messages == chat.recent(db, channel, chat.PAGE, user_id=host)


def test_the_tail_is_refused_to_someone_outside_the_room(db):
    host, outsider = make_user(db, "Host").id, make_user(db, "Out").id
    room = make_room(db, host)
    with pytest.raises(ServiceError):
        chat.tail(db, chat.room_channel(room.id), chat.PAGE, user_id=outsider)
