"""The chats' change logs stay bounded: pruning keeps what a catch-up can use, and a tab whose
missed changes were pruned reloads its tail instead of getting a log with a hole."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from sessions_app.live.chat import apply, message_views, wire_catch_up
from sessions_app.models import ChatChangeLog, utcnow
from sessions_app.services import chat, chat_log, rooms
from tests.support.factories import make_room, make_user


@pytest.fixture(autouse=True)
def fast(settings_env):
    """A generous chat rate limit: these tests post a lot."""
    settings_env(CHAT_RATE_LIMIT="10000/second")


def _logged(db, channel: str) -> list[int]:
    return list(db.exec(select(ChatChangeLog.seq).where(ChatChangeLog.channel == channel)
                        .order_by(col(ChatChangeLog.seq))).all())


def test_pruning_keeps_each_channels_last_changes_and_catch_up_still_works(db):
    ada = make_user(db).id
    room = make_room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=ada)
    room_chat = chat.room_channel(room.id)
    busy = chat_log.MAX_CATCH_UP + 50
    for i in range(busy):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"lobby {i}")
    for i in range(3):
        chat.post(db, channel=room_chat, user_id=ada, body=f"room {i}")

    assert chat_log.prune(db) == 50
    assert _logged(db, chat.LOBBY) == list(range(51, busy + 1))  # the last MAX_CATCH_UP, dense
    assert _logged(db, room_chat) == [1, 2, 3]  # a quiet channel keeps all of its few
    assert chat_log.prune(db) == 0  # nothing more to drop

    # A tab as far behind as a catch-up goes still gets exactly what it missed.
    caught = chat.catch_up(db, chat.LOBBY, busy - chat_log.MAX_CATCH_UP, user_id=ada)
    assert caught is not None and [c.seq for c in caught.changes] == list(range(51, busy + 1))
    tail = chat.tail(db, chat.LOBBY, user_id=ada)
    stale = chat.tail(db, chat.LOBBY, user_id=ada).messages[:-5]
    view = apply(message_views(stale), [wire_catch_up(chat.LOBBY, caught)], chat.PAGE)
    assert [m.id for m in view] == [m.id for m in tail.messages][-len(view):]


def test_old_entries_go_after_a_day_and_a_tab_missing_them_reloads_its_tail(db):
    ada = make_user(db).id
    for i in range(4):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}")
    # The first two changes happened more than a day ago.
    for entry in db.exec(select(ChatChangeLog).where(col(ChatChangeLog.seq) <= 2)).all():
        entry.created_at = utcnow() - chat_log.KEEP_FOR - timedelta(minutes=1)
        db.add(entry)
    db.flush()

    assert chat_log.prune(db) == 2
    assert _logged(db, chat.LOBBY) == [3, 4]
    assert chat.catch_up(db, chat.LOBBY, 0, user_id=ada) is None  # its changes 1-2 are gone: reload
    caught = chat.catch_up(db, chat.LOBBY, 2, user_id=ada)
    assert caught is not None and [c.seq for c in caught.changes] == [3, 4]


def test_the_log_stays_bounded_under_a_long_busy_chat(db):
    ada = make_user(db).id
    for round_ in range(3):
        for i in range(chat_log.MAX_CATCH_UP):
            chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"r{round_} m{i}")
        chat_log.prune(db)
        count = db.exec(select(func.count()).select_from(ChatChangeLog)).one()
        assert count == chat_log.MAX_CATCH_UP
