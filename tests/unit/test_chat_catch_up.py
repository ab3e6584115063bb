"""Per-channel sequence numbers and catch-up, the same for the lobby, room and session chats.

A reader that missed broadcasts (dropped, delayed past others, a reconnect) notices the gap in
its channel's numbers and asks for the changes after the last number it has; applying them
gives exactly what a fresh load shows: 0 lost, 0 duplicated, whatever was dropped, repeated or
reordered. The reader here is ``live.chat.apply``, the Python twin of ``components.chat_feed``.
"""

from __future__ import annotations

import json
import random

import pytest

from sessions_app.live.chat import apply, message_views, wire, wire_catch_up
from sessions_app.models import ChatMessage
from sessions_app.services import chat, chat_log, rooms, scheduled
from sessions_app.services.errors import ServiceError
from tests.support.factories import make_room, make_user, plan_session_now


@pytest.fixture(autouse=True)
def fast(settings_env):
    """A generous chat rate limit: these tests post a lot."""
    settings_env(CHAT_RATE_LIMIT="10000/second")


def _session_channel(db, creator: int) -> str:
    """A scheduled session starting now, whose chat is open to its creator."""
    made = plan_session_now(db, creator, minutes=60, title="Catch-up session", capacity="")
    return scheduled.chat_channel(made.id)


def _channels(db, uid: int) -> list[str]:
    room = make_room(db, uid)
    rooms.enter(db, room_id=room.id, user_id=uid)
    return [chat.LOBBY, chat.room_channel(room.id), _session_channel(db, uid)]


class Reader:
    """A browser tab's chat: loaded at some sequence number, applying what arrives, asking
    for what it missed when its numbers have a gap (as ``chat_feed`` does)."""

    def __init__(self, db, channel: str, uid: int, keep: int):
        self.db, self.channel, self.uid, self.keep = db, channel, uid, keep
        tail = chat.tail(db, channel, keep, user_id=uid)
        self.view, self.last, self.ahead, self.catch_ups = message_views(tail.messages), tail.seq, set(), 0

    def receive(self, change: dict) -> None:
        self.view = apply(self.view, [change], self.keep)
        if change["seq"] > self.last:
            self.ahead.add(change["seq"])
        self._advance()

    def _advance(self) -> None:
        self.ahead = {n for n in self.ahead if n > self.last}
        while self.last + 1 in self.ahead:
            self.ahead.discard(self.last + 1)
            self.last += 1

    def gap(self) -> bool:
        current = chat_log.current(self.db, self.channel)
        return bool(self.ahead) or self.last < current

    def catch_up(self) -> None:
        self.catch_ups += 1
        caught = chat.catch_up(self.db, self.channel, self.last, self.keep, user_id=self.uid)
        assert caught is not None
        batch = json.loads(json.dumps(wire_catch_up(self.channel, caught)))  # as a browser gets it
        self.view = apply(self.view, [batch], self.keep)
        self.last = max(self.last, batch["seq"])
        self._advance()


def test_every_chat_numbers_its_changes_densely_in_commit_order(db):
    ada = make_user(db).id
    channels = _channels(db, ada)
    for round_ in range(3):
        for ch in channels:
            change = chat.post(db, channel=ch, user_id=ada, body=f"{ch} {round_}")
            assert change.seq == 2 * round_ + 1
            assert chat.delete(db, message_id=change.message.id, user_id=ada, channel=ch).seq == 2 * round_ + 2
    assert [chat_log.current(db, ch) for ch in channels] == [6, 6, 6]


@pytest.mark.parametrize("kind", [0, 1, 2], ids=["lobby", "room", "session"])
@pytest.mark.parametrize("seed", range(6))
def test_a_reader_that_loses_repeats_and_reorders_broadcasts_catches_up_exactly(db, kind, seed):
    """0 lost, 0 duplicated: whatever the delivery did, after catching up from its last seen
    number the reader's list is the fresh load, with every id once."""
    rng = random.Random(seed)
    users = [make_user(db, name).id for name in ("Ada", "Bob")]
    channel = _channels(db, users[0])[kind]
    if kind == 1:
        rooms.enter(db, room_id=int(channel.split(":")[1]), user_id=users[1])
    writers = users if kind != 2 else users[:1]  # the session's creator holds its chat
    keep = 12
    for i in range(keep + 3):
        chat.post(db, channel=channel, user_id=rng.choice(writers), body=f"old {i}")
    reader = Reader(db, channel, users[0], keep)
    in_flight: list[dict] = []
    for step in range(60):
        present = [m.id for m in chat.recent(db, channel, keep + 5, user_id=users[0])]
        if present and rng.random() < 0.35:
            victim = db.get(ChatMessage, rng.choice(present))
            change = chat.delete(db, message_id=victim.id, user_id=victim.user_id, channel=channel, limit=keep)
        else:
            change = chat.post(db, channel=channel, user_id=rng.choice(writers), body=f"new {step}")
        in_flight.append(json.loads(json.dumps(wire(change))))
        # The network: some changes never arrive, some twice, in any order.
        rng.shuffle(in_flight)
        while in_flight and rng.random() < 0.6:
            c = in_flight.pop()
            if rng.random() < 0.25:
                continue  # lost
            reader.receive(c)
            if rng.random() < 0.15:
                reader.receive(c)  # duplicated
        if reader.ahead and rng.random() < 0.3:
            reader.catch_up()
    in_flight.clear()  # whatever is still on the way is lost too
    if reader.gap():
        reader.catch_up()
    fresh = message_views(chat.recent(db, channel, keep, user_id=users[0]))
    ids = [m.id for m in reader.view]
    assert len(ids) == len(set(ids))  # nothing twice
    assert reader.view == fresh  # nothing lost, nothing stale
    assert reader.last == chat_log.current(db, channel) and reader.catch_ups >= 1


def test_catch_up_from_the_latest_number_is_empty_and_a_reader_too_far_behind_reloads(db):
    ada = make_user(db).id
    for i in range(3):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"m{i}")
    up_to_date = chat.catch_up(db, chat.LOBBY, 3, user_id=ada)
    assert up_to_date is not None and up_to_date.changes == [] and up_to_date.seq == 3
    assert chat.catch_up(db, chat.LOBBY, 99, user_id=ada) is None  # a number it cannot have seen
    for i in range(chat_log.MAX_CATCH_UP + 1):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"more {i}")
    assert chat.catch_up(db, chat.LOBBY, 3, user_id=ada) is None  # reload the tail instead
    assert chat.catch_up(db, chat.LOBBY, "3; drop table", user_id=ada) is None  # not a number: from 0, too far


def test_catch_up_is_for_readers_only(db):
    host, outsider = make_user(db, "Host").id, make_user(db, "Out").id
    room = make_room(db, host)
    rooms.enter(db, room_id=room.id, user_id=host)
    chat.post(db, channel=chat.room_channel(room.id), user_id=host, body="members only")
    with pytest.raises(ServiceError, match="Only the people in this room"):
        chat.catch_up(db, chat.room_channel(room.id), 0, user_id=outsider)
    with pytest.raises(ServiceError):
        chat.tail(db, chat.room_channel(room.id), user_id=outsider)


def test_a_catch_up_batch_is_small_for_a_few_missed_changes(db):
    ada = make_user(db, "Ada Lovelace").id
    for i in range(chat.PAGE):
        chat.post(db, channel=chat.LOBBY, user_id=ada, body=f"an earlier message number {i}")
    chat.post(db, channel=chat.LOBBY, user_id=ada, body="missed one")
    caught = chat.catch_up(db, chat.LOBBY, chat.PAGE, user_id=ada)
    batch = json.dumps(wire_catch_up(chat.LOBBY, caught), separators=(",", ":"))
    assert "earlier message" not in batch and "missed one" in batch
    assert len(batch.encode()) <= 600
