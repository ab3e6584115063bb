"""The one chat pipeline: what the chat service returns for a post or a delete, the change
that is broadcast, and that merging broadcast changes into a stale view gives exactly what
a fresh load shows (``verify_action``), whatever the order or repetition of delivery."""

from __future__ import annotations

import json
import random

import pytest
from sqlmodel import select

from sessions_app.live.chat import apply, message_views, wire
from sessions_app.models import ChatMessage
from sessions_app.services import chat, rooms
from sessions_app.services.errors import ServiceError
from sessions_app.state.chat import LobbyChatState, RoomBoard
from sessions_app.state.session_chat import TAIL
from tests.support.factories import make_room, make_user


@pytest.fixture(autouse=True)
def fast(settings_env):
    """A generous chat rate limit: these tests post a lot."""
    settings_env(CHAT_RATE_LIMIT="10000/second")


def fresh_load(db, channel: str, uid: int, keep: int = chat.PAGE):
    """What a tab loading the chat now shows."""
    return message_views(chat.recent(db, channel, keep, user_id=uid))


def test_post_returns_the_new_message_as_the_change(db):
    ada = make_user(db).id
    change = chat.post(db, channel=chat.LOBBY, user_id=ada, body="hello https://example.org")
    stored = db.exec(select(ChatMessage)).one()
    assert change.message.id == stored.id and change.seq == 1  # the lobby's first change
    assert change.channel == chat.LOBBY and change.deleted_id is None
    assert change.message.author_name == "Ada" and change.message.body == "hello https://example.org"
    assert [s.link for s in change.message.segments] == [False, True]


def test_sequence_grows_in_storing_order_within_a_channel(db):
    ada = make_user(db).id
    room = make_room(db, ada)
    seqs = [chat.post(db, channel=ch, user_id=ada, body=f"m{i}").seq
            for i, ch in enumerate([chat.LOBBY, chat.room_channel(room.id)] * 3)]
    # Each channel numbers its own changes 1, 2, 3 …: no gap a reader could mistake for a loss.
    assert seqs[0::2] == [1, 2, 3] and seqs[1::2] == [1, 2, 3]


def test_outsider_post_is_refused_and_stores_nothing(db):
    host, outsider = make_user(db, "Host").id, make_user(db, "Out").id
    room = make_room(db, host)
    with pytest.raises(ServiceError, match="Only the people in this room"):
        chat.post(db, channel=chat.room_channel(room.id), user_id=outsider, body="let me in")
    assert db.exec(select(ChatMessage)).all() == []


def test_delete_returns_the_id_and_the_message_entering_the_tail(db):
    ada = make_user(db).id
    ids = [chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}").message.id for i in range(chat.PAGE + 2)]
    change = chat.delete(db, message_id=ids[-1], user_id=ada, channel=chat.LOBBY)
    assert change.deleted_id == ids[-1] and change.message is None
    assert change.seq == chat.PAGE + 3  # a delete is a change of the channel too
    # The tail was ids[2:]; without the newest it is ids[1:-1]: ids[1] moves in.
    assert change.fill is not None and change.fill.id == ids[1]
    assert [m.id for m in chat.recent(db, chat.LOBBY, user_id=ada)] == ids[1:-1]


def test_delete_in_a_short_channel_has_nothing_to_fill(db):
    ada = make_user(db).id
    first = chat.post(db, channel=chat.LOBBY, user_id=ada, body="one").message.id
    assert chat.delete(db, message_id=first, user_id=ada, channel=chat.LOBBY).fill is None


def test_delete_keeps_the_moderation_rules(db):
    host, guest, other = make_user(db, "Host").id, make_user(db, "Guest").id, make_user(db, "Other").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    rooms.enter(db, room_id=room.id, user_id=other)
    channel = chat.room_channel(room.id)
    mine = chat.post(db, channel=channel, user_id=guest, body="mine").message.id
    with pytest.raises(ServiceError, match="only delete your own"):
        chat.delete(db, message_id=mine, user_id=other, channel=channel)
    with pytest.raises(ServiceError, match="no longer exists"):
        chat.delete(db, message_id=mine, user_id=guest, channel=chat.LOBBY)  # another channel
    assert chat.delete(db, message_id=mine, user_id=host, channel=channel).deleted_id == mine  # the host


def test_the_broadcast_is_the_change_only_and_small(db):
    ada = make_user(db, "Ada Lovelace").id
    for i in range(chat.PAGE):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"an earlier message number {i}")
    change = chat.post(db, channel=chat.LOBBY, user_id=ada, body="Shall we start the next block at 14:00?")
    for state in (LobbyChatState, RoomBoard):
        frame = json.dumps({"delta": {state.get_full_name(): {"chat_event_rx_state_": wire(change)}}, "events": []},
                           separators=(",", ":"))
        assert "earlier message" not in frame
        assert len(frame.encode()) <= 500, frame


@pytest.mark.parametrize("keep", [chat.PAGE, TAIL])
def test_applying_broadcasts_to_a_stale_view_gives_the_fresh_load(db, keep):
    """``verify_action``: a tab that loaded the chat, then received every change since (in
    any order, some twice), shows exactly what a tab loading now shows."""
    users = [make_user(db, name).id for name in ("Ada", "Bob", "Cy")]
    rng = random.Random(12)
    for i in range(keep - 5):
        chat.post(db, channel=chat.LOBBY, user_id=rng.choice(users), body=f"old {i}")
    stale = fresh_load(db, chat.LOBBY, users[0], keep)
    changes = []
    for step in range(80):
        live = [m.id for m in chat.recent(db, chat.LOBBY, keep + 20, user_id=users[0])]
        if live and rng.random() < 0.3:
            victim = db.get(ChatMessage, rng.choice(live))
            changes.append(chat.delete(db, message_id=victim.id, user_id=victim.user_id, channel=chat.LOBBY,
                                       limit=keep))
        else:
            changes.append(chat.post(db, channel=chat.LOBBY, user_id=rng.choice(users), body=f"new {step}"))
    wired = [json.loads(json.dumps(wire(c))) for c in changes]  # as a browser receives them
    expected = fresh_load(db, chat.LOBBY, users[0], keep)
    got = apply(stale, wired, keep)
    assert [m.id for m in got] == [m.id for m in expected], sorted(set(m.id for m in got) ^ set(m.id for m in expected))
    assert got == expected
    shuffled = wired + rng.sample(wired, 10)
    rng.shuffle(shuffled)
    assert apply(stale, shuffled, keep) == expected
    # One at a time, as a browser applies them, gives the same.
    view = stale
    for c in wired:
        view = apply(view, [c], keep)
    assert view == expected
