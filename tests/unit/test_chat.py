"""Chat service: validation, rate limit, who may read/write/delete, history paging, links."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from sessions_app.models import ChatMessage
from sessions_app.services import chat, rooms
from sessions_app.services.chat import Segment
from sessions_app.services.errors import RateLimited, ServiceError
from tests.support.factories import make_room, make_user


@pytest.fixture
def fast(settings_env):
    """A generous chat rate limit, for tests that post a lot."""
    settings_env(CHAT_RATE_LIMIT="1000/second")


# --- validation ---------------------------------------------------------------------------------


def test_body_is_trimmed_and_stored(db):
    ada = make_user(db).id
    msg = chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="  hello\r\nworld \t ")
    assert msg.body == "hello\nworld"
    assert db.get(ChatMessage, msg.id).body == "hello\nworld"


@pytest.mark.parametrize(("body", "message"), [("", "Write a message"), ("   ", "Write a message"),
                                               ("\n\n", "Write a message"), (None, "Write a message"),
                                               (42, "must be text"), (["hi"], "must be text")])
def test_empty_or_non_text_refused(db, body, message):
    ada = make_user(db).id
    with pytest.raises(ServiceError, match=message):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=body)
    assert db.exec(select(ChatMessage)).all() == []


def test_length_limit(db):
    ada = make_user(db).id
    assert len(chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="x" * 2000).body) == 2000
    with pytest.raises(ServiceError, match="too long: at most 2000 characters"):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="x" * 2001)


@pytest.mark.parametrize("bad", ["\x00", "\x07", "\x1b[31m", "\x7f", "\u202e", "\u2066"])
def test_control_characters_refused(db, bad):
    ada = make_user(db).id
    with pytest.raises(ServiceError, match="cannot be shown"):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=f"a{bad}b")


def test_newlines_tabs_and_unicode_kept_blank_runs_collapsed(db):
    ada = make_user(db).id
    body = "a\tb\n\n\n\n\nc — ünïcødé 😀"
    assert chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=body).body == "a\tb\n\nc — ünïcødé 😀"


def test_html_is_stored_and_returned_as_text(db):
    ada = make_user(db).id
    evil = '<img src=x onerror="window.__pwned=1"><script>alert(1)</script>'
    msg = chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=evil)
    assert msg.body == evil  # unchanged text: the UI renders it as text nodes
    assert msg.segments == (Segment(evil, False),)


# --- rate limit ---------------------------------------------------------------------------------


def test_rate_limit_per_user(db, settings_env):
    settings_env(CHAT_RATE_LIMIT="3/minute")
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    for i in range(3):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}")
    with pytest.raises(RateLimited, match="too fast. Wait a few seconds"):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="flood")
    chat.post_message(db, channel=chat.LOBBY, user_id=bob, body="bob is fine")  # per user
    assert len(db.exec(select(ChatMessage)).all()) == 4


def test_default_rate_limit_is_five_per_five_seconds(db):
    ada = make_user(db).id
    for i in range(5):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}")
    with pytest.raises(RateLimited):
        chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="sixth")


def test_invalid_messages_do_not_use_the_allowance(db, settings_env):
    settings_env(CHAT_RATE_LIMIT="2/minute")
    ada = make_user(db).id
    for _ in range(5):
        with pytest.raises(ServiceError):
            chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="x" * 3000)
    chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="ok")


# --- who may read and write ---------------------------------------------------------------------


def test_room_chat_is_for_members_only(db):
    host, outsider = make_user(db, "Host").id, make_user(db, "Out").id
    room = make_room(db, host)
    channel = chat.room_channel(room.id)
    chat.post_message(db, channel=channel, user_id=host, body="members only")
    with pytest.raises(ServiceError, match="Only the people in this room"):
        chat.post_message(db, channel=channel, user_id=outsider, body="let me in")
    with pytest.raises(ServiceError, match="Only the people in this room"):
        chat.recent(db, channel, user_id=outsider)
    with pytest.raises(ServiceError):
        chat.before(db, channel, 10_000, user_id=outsider)
    with pytest.raises(ServiceError):
        chat.since(db, channel, 0, user_id=outsider)
    assert [m.body for m in chat.recent(db, channel, user_id=host)] == ["members only"]


def test_member_who_left_loses_access_and_rejoining_restores_it(db):
    host, guest = make_user(db, "Host").id, make_user(db, "Guest").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    channel = chat.room_channel(room.id)
    chat.post_message(db, channel=channel, user_id=guest, body="hi")
    rooms.leave(db, room_id=room.id, user_id=guest)
    assert not chat.can_read(db, channel=channel, user_id=guest)
    with pytest.raises(ServiceError):
        chat.post_message(db, channel=channel, user_id=guest, body="still here?")
    rooms.enter(db, room_id=room.id, user_id=guest)
    assert [m.body for m in chat.recent(db, channel, user_id=guest)] == ["hi"]


def test_closed_room_chat_is_closed(db):
    host = make_user(db, "Host").id
    room = make_room(db, host)
    rooms.leave(db, room_id=room.id, user_id=host)  # last member: the room closes
    assert not chat.can_write(db, channel=chat.room_channel(room.id), user_id=host)


@pytest.mark.parametrize("channel", ["room:abc", "room:", "nope", "session:x", "", "lobby ", None, 5])
def test_unknown_channels_refused(db, channel):
    ada = make_user(db).id
    assert not chat.can_read(db, channel=channel, user_id=ada)
    with pytest.raises(ServiceError):
        chat.post_message(db, channel=channel, user_id=ada, body="hi")


def test_lobby_needs_a_real_user(db):
    assert not chat.can_write(db, channel=chat.LOBBY, user_id=None)
    assert not chat.can_write(db, channel=chat.LOBBY, user_id=999)
    with pytest.raises(ServiceError):
        chat.post_message(db, channel=chat.LOBBY, user_id=None, body="anon")


def test_public_shape_has_author_but_never_email(db):
    ada = make_user(db, "Ada", email="secret-ada@example.com", exp=150).id
    msg = chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="hello")
    data = asdict(chat.recent(db, chat.LOBBY, user_id=ada)[0])
    assert data["author_name"] == "Ada" and data["level"] == 1 and data["user_id"] == ada
    assert data["created_at_ms"] == msg.created_at_ms > 1_700_000_000_000
    assert "secret-ada" not in repr(data) and "email" not in data


# --- deleting -----------------------------------------------------------------------------------


def test_author_deletes_own_message(db):
    ada = make_user(db).id
    msg = chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="oops")
    assert chat.delete_message(db, message_id=msg.id, user_id=ada) == chat.LOBBY
    assert db.get(ChatMessage, msg.id) is None


def test_nobody_deletes_another_users_lobby_message(db):
    ada, bob = make_user(db, "Ada").id, make_user(db, "Bob").id
    msg = chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="mine")
    with pytest.raises(ServiceError, match="only delete your own"):
        chat.delete_message(db, message_id=msg.id, user_id=bob)
    assert db.get(ChatMessage, msg.id) is not None


def test_room_host_removes_any_message_in_their_room_only(db):
    host, guest, other_host = make_user(db, "Host").id, make_user(db, "Guest").id, make_user(db, "Other").id
    room = make_room(db, host)
    other_room = make_room(db, other_host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    rooms.enter(db, room_id=other_room.id, user_id=guest)
    msg = chat.post_message(db, channel=chat.room_channel(room.id), user_id=guest, body="spam")
    elsewhere = chat.post_message(db, channel=chat.room_channel(other_room.id), user_id=guest, body="hi")
    lobby = chat.post_message(db, channel=chat.LOBBY, user_id=guest, body="lobby")
    # A guest cannot delete the host's message; the host of another room cannot delete here.
    host_msg = chat.post_message(db, channel=chat.room_channel(room.id), user_id=host, body="welcome")
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=host_msg.id, user_id=guest)
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=msg.id, user_id=other_host)
    # The host's power stops at their room: not the lobby, not another room.
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=lobby.id, user_id=host)
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=elsewhere.id, user_id=host)
    assert chat.delete_message(db, message_id=msg.id, user_id=host) == chat.room_channel(room.id)
    assert db.get(ChatMessage, msg.id) is None


def test_former_host_loses_the_power(db):
    host, guest = make_user(db, "Host").id, make_user(db, "Guest").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=guest)
    msg = chat.post_message(db, channel=chat.room_channel(room.id), user_id=guest, body="hey")
    rooms.leave(db, room_id=room.id, user_id=host)  # the guest becomes host
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=msg.id, user_id=host)


@pytest.mark.parametrize("bad_id", [None, "abc", -1, 0, 10_000, 1.5e9])
def test_delete_unknown_ids_refused(db, bad_id):
    ada = make_user(db).id
    with pytest.raises(ServiceError):
        chat.delete_message(db, message_id=bad_id, user_id=ada)


# --- history ------------------------------------------------------------------------------------


def test_recent_before_and_since_page_through_history(db, fast):
    ada = make_user(db).id
    ids = [chat.post_message(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}").id for i in range(120)]
    tail = chat.recent(db, chat.LOBBY, user_id=ada)
    assert [m.id for m in tail] == ids[-50:]  # oldest first
    older = chat.before(db, chat.LOBBY, tail[0].id, user_id=ada)
    assert [m.id for m in older] == ids[20:70]
    oldest = chat.before(db, chat.LOBBY, older[0].id, user_id=ada)
    assert [m.id for m in oldest] == ids[:20]
    assert chat.before(db, chat.LOBBY, ids[0], user_id=ada) == []
    assert [m.id for m in chat.since(db, chat.LOBBY, ids[100], user_id=ada)] == ids[100:]


def test_channels_do_not_mix(db):
    ada = make_user(db).id
    room = make_room(db, ada)
    chat.post_message(db, channel=chat.LOBBY, user_id=ada, body="lobby")
    chat.post_message(db, channel=chat.room_channel(room.id), user_id=ada, body="room")
    assert [m.body for m in chat.recent(db, chat.LOBBY, user_id=ada)] == ["lobby"]
    assert [m.body for m in chat.recent(db, chat.room_channel(room.id), user_id=ada)] == ["room"]


# --- links --------------------------------------------------------------------------------------


def test_segments_find_http_links():
    text = "see https://example.com/a?b=1, and http://x.org/(wiki). ok"
    assert chat.segments(text) == [
        Segment("see ", False), Segment("https://example.com/a?b=1", True), Segment(", and ", False),
        Segment("http://x.org/(wiki)", True), Segment(". ok", False),
    ]


@pytest.mark.parametrize("text", [
    "javascript:alert(1)", "JaVaScRiPt://alert(1)", "data:text/html,<script>x</script>",
    "ftp://example.com", "https://", "mailto:a@b.c", "<a href='https://x.y'>x</a>",
])
def test_segments_never_link_anything_but_http_urls(text):
    for seg in chat.segments(text):
        if seg.link:
            assert seg.text.lower().startswith(("http://", "https://"))
            assert not any(c in seg.text for c in "<>\"' ")


def test_link_inside_html_stays_text_around_it():
    parts = chat.segments('<a href="https://evil.example/x">click</a>')
    assert parts == [Segment('<a href="', False), Segment("https://evil.example/x", True),
                     Segment('">click</a>', False)]


@given(st.lists(st.sampled_from(["a", " ", "<", ">", '"', "'", "/", ":", ".", ",", ")", "(", "\n", "http",
                                  "https://", "http://", "javascript:", "é", "😀"]), max_size=40).map("".join)
       | st.text(max_size=60))
def test_segments_round_trip_and_links_are_http(text):
    parts = chat.segments(text)
    assert "".join(p.text for p in parts) == text
    assert all(p.text for p in parts)
    for p in parts:
        if p.link:
            assert p.text.lower().startswith(("http://", "https://")) and len(p.text) > len("http://")


def test_session_creator_moderates_the_session_chat(db):
    from datetime import timedelta

    from sessions_app.models import StudySession, utcnow

    creator, writer, other = make_user(db, "Cre").id, make_user(db, "Wri").id, make_user(db, "Oth").id
    session = StudySession(creator_id=creator, title="Eigenvalues", starts_at=utcnow() + timedelta(minutes=5),
                           ends_at=utcnow() + timedelta(minutes=50))
    db.add(session)
    db.flush()
    first = ChatMessage(channel=f"session:{session.id}", user_id=writer, body="hello")
    second = ChatMessage(channel=f"session:{session.id}", user_id=writer, body="again")
    db.add_all([first, second])
    db.flush()
    with pytest.raises(ServiceError, match="only delete your own"):
        chat.delete_message(db, message_id=first.id, user_id=other)
    assert chat.delete_message(db, message_id=first.id, user_id=creator) == f"session:{session.id}"
    assert chat.delete_message(db, message_id=second.id, user_id=writer) == f"session:{session.id}"
