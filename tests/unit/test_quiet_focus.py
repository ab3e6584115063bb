"""Quiet focus (``services.quiet_focus``) and reactions (``services.reactions``): posting is
refused during focus unless the host opened chat, and nothing is stored; reactions toggle, count
once per member and emoji, and stay within the caller's room."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sessions_app.models import ChatMessage, ChatReaction, Room
from sessions_app.services import account_data, chat, quiet_focus, reactions, rooms
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_user

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def _room(db, host: int, name: str = "Quiet"):
    return rooms.create_room(db, host_id=host, name=name, discipline="Law", is_private=False,
                             now=T0 - timedelta(minutes=5))


def _messages(db, room_id: int) -> list[str]:
    return [m.body for m in db.exec(select(ChatMessage).where(ChatMessage.channel == chat.room_channel(room_id)))]


def test_chat_is_quiet_during_focus_open_in_breaks_and_when_the_host_opens_it(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = _room(db, ada)
    channel = chat.room_channel(room.id)
    rooms.enter(db, room_id=room.id, user_id=bob)
    chat.post(db, channel=channel, user_id=bob, body="before the block")  # idle: open
    timer = rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    for who in (bob, ada):  # the host too, until they open it
        with pytest.raises(ServiceError, match="quiet during focus"):
            chat.post(db, channel=channel, user_id=who, body="psst")
    assert _messages(db, room.id) == ["before the block"]  # nothing stored
    # Paused focus is still focus.
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="pause", now=T0 + timedelta(minutes=1))
    with pytest.raises(ServiceError, match="quiet during focus"):
        chat.post(db, channel=channel, user_id=bob, body="psst")
    # Only the host opens it; a member's attempt changes nothing.
    with pytest.raises(ServiceError, match="Only the host"):
        quiet_focus.set_focus_chat(db, room_id=room.id, user_id=bob, open_=True)
    with pytest.raises(ServiceError, match="Choose"):
        quiet_focus.set_focus_chat(db, room_id=room.id, user_id=ada, open_="yes")
    assert db.get(Room, room.id).focus_chat_open is False
    assert quiet_focus.set_focus_chat(db, room_id=room.id, user_id=ada, open_=True) is True
    chat.post(db, channel=channel, user_id=bob, body="chat is open")
    quiet_focus.set_focus_chat(db, room_id=room.id, user_id=ada, open_=False)
    with pytest.raises(ServiceError, match="quiet during focus"):
        chat.post(db, channel=channel, user_id=bob, body="psst")
    # The break: chat is open for everyone.
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="resume", now=T0 + timedelta(minutes=2))
    timer = rooms.timer_of(db.get(Room, room.id))
    rooms.advance_due(db, room_id=room.id, expected_seq=timer.seq, now=timer.ends_at)
    assert db.get(Room, room.id).phase == "short_break"
    chat.post(db, channel=channel, user_id=bob, body="break!")
    assert _messages(db, room.id) == ["before the block", "chat is open", "break!"]


def test_quiet_focus_leaves_the_lobby_and_other_rooms_alone(db):
    ada = make_user(db).id
    room = _room(db, ada)
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)
    chat.post(db, channel=chat.LOBBY, user_id=ada, body="lobby is never quiet")
    other = _room(db, ada, name="Other")
    chat.post(db, channel=chat.room_channel(other.id), user_id=ada, body="idle room")


def test_reactions_toggle_once_per_member_and_emoji(db):
    ada, bob = make_user(db).id, make_user(db, "Bob").id
    room = _room(db, ada)
    rooms.enter(db, room_id=room.id, user_id=bob)
    channel = chat.room_channel(room.id)
    msg = chat.post(db, channel=channel, user_id=ada, body="Starting lemma 3").message
    rooms.control_timer(db, room_id=room.id, user_id=ada, action="start", now=T0)  # reactions work in focus
    assert reactions.toggle(db, message_id=msg.id, user_id=bob, key="thumbs", channel=channel) is True
    assert reactions.toggle(db, message_id=msg.id, user_id=ada, key="thumbs", channel=channel) is True
    assert reactions.toggle(db, message_id=msg.id, user_id=bob, key="party", channel=channel) is True
    assert [(r.key, r.emoji, r.count) for r in reactions.counts(db, [msg.id])] == [("thumbs", "👍", 2),
                                                                                  ("party", "🎉", 1)]
    assert sorted(reactions.mine(db, user_id=bob, message_ids=[msg.id])) == [f"{msg.id}:party", f"{msg.id}:thumbs"]
    # The same emoji again takes it back.
    assert reactions.toggle(db, message_id=msg.id, user_id=bob, key="thumbs", channel=channel) is False
    assert [(r.key, r.count) for r in reactions.counts(db, [msg.id])] == [("thumbs", 1), ("party", 1)]
    db.add(ChatReaction(message_id=msg.id, user_id=ada, emoji="thumbs"))
    with pytest.raises(Exception, match="(?i)unique"):  # SQLite "UNIQUE", PostgreSQL "unique constraint"
        db.flush()


def test_reactions_refuse_strangers_other_rooms_and_unknown_emoji(db):
    ada, eve = make_user(db).id, make_user(db, "Eve").id
    room, elsewhere = _room(db, ada), _room(db, eve, name="Eve's")
    channel = chat.room_channel(room.id)
    msg = chat.post(db, channel=channel, user_id=ada, body="hello").message
    with pytest.raises(ServiceError, match="Only the people in this room"):
        reactions.toggle(db, message_id=msg.id, user_id=eve, key="thumbs", channel=channel)
    # Eve names the message from her own room's channel: not a message of that channel.
    with pytest.raises(ServiceError, match="no longer exists"):
        reactions.toggle(db, message_id=msg.id, user_id=eve, key="thumbs", channel=chat.room_channel(elsewhere.id))
    for key in ("<script>", "👍", None, 1):
        with pytest.raises(ServiceError, match="offered reactions"):
            reactions.toggle(db, message_id=msg.id, user_id=ada, key=key, channel=channel)
    with pytest.raises(ServiceError, match="no longer exists"):
        reactions.toggle(db, message_id="abc", user_id=ada, key="thumbs", channel=channel)
    assert db.exec(select(ChatReaction)).all() == []


def test_reactions_are_rate_limited_and_exported(db):
    ada = make_user(db).id
    room = _room(db, ada)
    channel = chat.room_channel(room.id)
    msg = chat.post(db, channel=channel, user_id=ada, body="hello").message
    for _ in range(20):
        reactions.toggle(db, message_id=msg.id, user_id=ada, key="heart", channel=channel)
    with pytest.raises(ServiceError, match="too fast"):
        reactions.toggle(db, message_id=msg.id, user_id=ada, key="heart", channel=channel)
    reactions_before = db.exec(select(ChatReaction)).all()
    assert reactions_before == []  # 20 toggles: on, off, … off
    reactions.ratelimit.reset()
    reactions.toggle(db, message_id=msg.id, user_id=ada, key="heart", channel=channel)
    assert [r["emoji"] for r in account_data.export_data(db, user_id=ada)["chat_reactions"]] == ["heart"]
