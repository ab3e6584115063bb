"""The chat posts answered before Reflex's event queue (``realtime.fast_events``,
``state.chat_posts``): the same rules as the full ``send`` handlers, from server-side facts
only.

A socket event is fed to the patched ``EventNamespace.on_event`` of a stand-in namespace (the
socket ids, tokens and channels a real one holds); the database is a real one. What must hold:
the user is the socket's login cookie's, the room (or session) is the channel the server put
the socket in — never anything in the payload —, a refusal stores nothing and answers with the
form's message, and every case the fast path is not sure of goes to Reflex's own handler
untouched.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlmodel import select

from sessions_app import db as app_db
from sessions_app import realtime
from sessions_app.live import channels
from sessions_app.live import chat as live_chat
from sessions_app.models import ChatMessage, SessionParticipant, StudySession, utcnow
from sessions_app.realtime import fanout, fast_events
from sessions_app.services import accounts, chat, chat_log, cosmetics, rooms, scheduled
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.lobby_chat import LobbyChatState
from sessions_app.state.session_chat import SessionChatState
from tests.support.factories import make_room, room_of_three

ROOM_POST = f"{RoomBoardUi.get_full_name()}.send"
LOBBY_POST = f"{LobbyChatState.get_full_name()}.send"
SESSION_POST = f"{SessionChatState.get_full_name()}.send"
UI, BOARD = RoomBoardUi.get_full_name(), RoomBoard.get_full_name()


class FakeNamespace:
    """What the fast path reads of Reflex's event namespace: socket → tab token, the socket.io
    manager's channel membership, and ``emit`` (recorded)."""

    namespace = "/_event"

    def __init__(self) -> None:
        self.sid_to_token: dict[str, str] = {}
        self.server = SimpleNamespace(manager=SimpleNamespace(rooms={self.namespace: {}}))
        self.sent: list[tuple[str, dict]] = []

    async def emit(self, event: str, data: dict, to: str | None = None) -> None:
        assert event == "event"
        self.sent.append((to, data))

    def connect(self, sid: str, token: str) -> None:
        self.sid_to_token[sid] = token

    def join(self, sid: str, channel: str) -> None:
        """What ``realtime.join`` does: socket.io's membership, and the fast path's note."""
        self.server.manager.rooms[self.namespace].setdefault(channel, {})[sid] = sid
        fast_events._note_join(sid, channel)

    def leave(self, sid: str, channel: str) -> None:
        """A leave socket.io does by itself (a closed room, another worker's request)."""
        self.server.manager.rooms[self.namespace].get(channel, {}).pop(sid, None)


@pytest.fixture
def world(engine, monkeypatch):
    monkeypatch.setattr(app_db, "get_engine", lambda: engine)
    with app_db.session_scope(engine) as db:
        three = room_of_three(db)
        host, bob, eve, room_id, tokens = three.host, three.bob, three.eve, three.room_id, three.tokens
        other_room = make_room(db, eve, name="Eve's room").id  # eve is in this one only
    cookies: dict[str, str] = {}  # socket id -> the login cookie it presented
    monkeypatch.setattr(realtime, "held_cookie", lambda sid: cookies.get(sid, ""))
    to_reflex: list[tuple[str, dict]] = []

    async def reflex_on_event(ns, sid, data):
        to_reflex.append((sid, data))

    monkeypatch.setattr(fast_events, "_reflex_on_event", reflex_on_event)
    broadcasts: list[tuple[str, str, str | None, dict]] = []

    async def push(channel, state_cls, *, skip_sid=None, **values):
        broadcasts.append((channel, state_cls.get_full_name(), skip_sid, values))

    async def push_encoded(channel, state_cls, *, skip_sid=None, **values):
        broadcasts.append((channel, state_cls.get_full_name(), skip_sid, fanout.plain(values)))

    monkeypatch.setattr(realtime, "push", push)
    monkeypatch.setattr(realtime, "push_encoded", push_encoded)
    ns = FakeNamespace()
    yield SimpleNamespace(host=host, bob=bob, eve=eve, room_id=room_id, other_room=other_room, tokens=tokens,
                          cookies=cookies, ns=ns, to_reflex=to_reflex, broadcasts=broadcasts, engine=engine)
    fast_events._JOINED.clear()


def _tab(world, sid: str, user: int | None, *channel_names: str) -> str:
    """A connected tab: its socket, its login cookie (None: no login), its channels."""
    world.ns.connect(sid, f"tab-token-{sid}")
    if user is not None:
        world.cookies[sid] = world.tokens[user]
    for name in channel_names:
        world.ns.join(sid, name)
    return sid


def _send(world, sid: str, name: str, payload: dict) -> None:
    asyncio.run(fast_events._on_event(world.ns, sid, {"name": name, "payload": payload, "router_data": {}}))


def _stored(world, channel: str) -> tuple[list[tuple[int, str]], int]:
    with app_db.session_scope(world.engine) as db:
        rows = db.exec(select(ChatMessage).where(ChatMessage.channel == channel)).all()
        return [(m.user_id, m.body) for m in rows], chat_log.current(db, channel)


def test_a_member_s_post_is_one_broadcast_to_the_others_and_one_answer_to_the_sender(world):
    sid = _tab(world, "bob-1", world.bob, channels.room(world.room_id), channels.user(world.bob))
    _send(world, sid, ROOM_POST, {"form": {"body": "hello room"}})
    assert _stored(world, chat.room_channel(world.room_id)) == ([(world.bob, "hello room")], 1)
    assert world.to_reflex == []
    ((channel, state, skip, values),) = world.broadcasts
    assert (channel, state, skip) == (channels.room(world.room_id), BOARD, sid)
    change = values["chat_event"]
    assert change["seq"] == 1 and change["ch"] == chat.room_channel(world.room_id)
    assert change["add"]["body"] == "hello room" and change["add"]["user_id"] == world.bob
    ((to, frame),) = world.ns.sent
    assert to == sid
    assert frame["delta"] == {BOARD: {"chat_event_rx_state_": change}, UI: {"chat_error_rx_state_": ""}}
    assert frame["events"] == [{"name": "_set_value", "router_data": {},
                                "payload": {"ref": "ref_chat_input", "value": ""}}]


def test_the_frontend_s_form_encoding_is_read_like_reflex_reads_it(world):
    sid = _tab(world, "bob-1", world.bob, channels.room(world.room_id))
    _send(world, sid, ROOM_POST, {"form": {"__reflex_form_data__": [["body", "from a browser"]]}})
    assert _stored(world, chat.room_channel(world.room_id))[0] == [(world.bob, "from a browser")]


def test_the_room_comes_from_the_socket_s_channel_never_from_the_payload(world):
    # Eve is in her own room's channel and crafts a post naming Bob's room every way she can.
    sid = _tab(world, "eve-1", world.eve, channels.room(world.other_room))
    _send(world, sid, ROOM_POST, {"form": {"body": "crafted", "room_id": world.room_id},
                                  "room_id": world.room_id, "channel": chat.room_channel(world.room_id)})
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)
    assert _stored(world, chat.room_channel(world.other_room))[0] == [(world.eve, "crafted")]
    assert [b[0] for b in world.broadcasts] == [channels.room(world.other_room)]


def test_a_socket_in_no_room_channel_is_left_to_reflex(world):
    # An outsider (a refused entry joins no channel), or a load that has not joined yet.
    sid = _tab(world, "eve-2", world.eve, channels.user(world.eve), channels.lobby())
    _send(world, sid, ROOM_POST, {"form": {"body": "let me in"}})
    assert [s for s, _ in world.to_reflex] == [sid]
    assert world.ns.sent == [] and world.broadcasts == []
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_a_channel_the_socket_was_taken_out_of_does_not_count(world):
    sid = _tab(world, "bob-2", world.bob, channels.room(world.room_id))
    world.ns.leave(sid, channels.room(world.room_id))  # e.g. the room closed, or left in another tab
    _send(world, sid, ROOM_POST, {"form": {"body": "still here?"}})
    assert [s for s, _ in world.to_reflex] == [sid]
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_a_socket_still_in_the_channel_whose_user_left_the_room_is_refused(world):
    sid = _tab(world, "bob-3", world.bob, channels.room(world.room_id))
    with app_db.session_scope(world.engine) as db:
        rooms.leave(db, room_id=world.room_id, user_id=world.bob)
    _send(world, sid, ROOM_POST, {"form": {"body": "after leaving"}})
    assert world.ns.sent == [(sid, {"delta": {UI: {"chat_error_rx_state_": chat.NOT_ALLOWED}}})]
    assert world.broadcasts == [] and world.to_reflex == []
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)  # no message, no number


def test_no_login_is_left_to_reflex_and_posts_nothing(world):
    sid = _tab(world, "anon-1", None, channels.room(world.room_id))
    _send(world, sid, ROOM_POST, {"form": {"body": "anonymous"}})
    assert [s for s, _ in world.to_reflex] == [sid]
    assert world.ns.sent == [] and world.broadcasts == []
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_a_revoked_login_posts_nothing(world):
    sid = _tab(world, "bob-4", world.bob, channels.room(world.room_id))
    with app_db.session_scope(world.engine) as db:
        accounts.end_session(db, token=world.tokens[world.bob])
    _send(world, sid, ROOM_POST, {"form": {"body": "after logout"}})
    assert [s for s, _ in world.to_reflex] == [sid]
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_a_foreign_tab_token_without_its_login_posts_nothing(world):
    # A second socket connects with Bob's tab token (client tokens are chosen by clients),
    # and even with Bob's socket's channel: the login is per socket, and it has none.
    _tab(world, "bob-5", world.bob, channels.room(world.room_id))
    world.ns.connect("thief", "tab-token-bob-5")
    world.ns.join("thief", channels.room(world.room_id))
    _send(world, "thief", ROOM_POST, {"form": {"body": "as bob"}})
    assert [s for s, _ in world.to_reflex] == ["thief"]
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_a_socket_reflex_does_not_know_is_left_to_reflex(world):
    world.cookies["ghost"] = world.tokens[world.bob]
    world.ns.join("ghost", channels.room(world.room_id))  # never connected through on_connect
    _send(world, "ghost", ROOM_POST, {"form": {"body": "boo"}})
    assert [s for s, _ in world.to_reflex] == ["ghost"]
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


@pytest.mark.parametrize("form", [{"body": "   "}, {"body": "x" * (chat.MAX_BODY + 1)}, {}, "not a form"])
def test_bad_input_is_the_form_s_message_and_stores_nothing(world, form):
    sid = _tab(world, "bob-6", world.bob, channels.room(world.room_id))
    _send(world, sid, ROOM_POST, {"form": form})
    ((to, frame),) = world.ns.sent
    assert to == sid and list(frame) == ["delta"]  # the text stays in the input (no set_value)
    assert frame["delta"][UI]["chat_error_rx_state_"]
    assert world.broadcasts == [] and world.to_reflex == []
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_the_rate_limit_answers_with_its_message(world, settings_env):
    settings_env(CHAT_RATE_LIMIT="2/minute")
    sid = _tab(world, "bob-7", world.bob, channels.room(world.room_id))
    for i in range(3):
        _send(world, sid, ROOM_POST, {"form": {"body": f"message {i}"}})
    assert world.ns.sent[-1] == (sid, {"delta": {UI: {"chat_error_rx_state_": chat.RATE_LIMITED}}})
    assert len(_stored(world, chat.room_channel(world.room_id))[0]) == 2


def test_an_unregistered_event_goes_to_reflex_untouched(world):
    sid = _tab(world, "bob-8", world.bob, channels.room(world.room_id))
    data = {"name": f"{RoomBoard.get_full_name()}.delete_message", "payload": {"message_id": 1}}
    asyncio.run(fast_events._on_event(world.ns, sid, data))
    assert world.to_reflex == [(sid, data)]


def test_a_lobby_post_needs_only_a_login(world):
    sid = _tab(world, "eve-3", world.eve, channels.lobby())
    _send(world, sid, LOBBY_POST, {"form": {"body": "hi lobby"}})
    assert _stored(world, chat.LOBBY) == ([(world.eve, "hi lobby")], 1)
    ((channel, state, skip, _),) = world.broadcasts
    assert (channel, state, skip) == (chat.LOBBY, LobbyChatState.get_full_name(), sid)
    ((_, frame),) = world.ns.sent
    values = frame["delta"][LobbyChatState.get_full_name()]
    assert values["error_rx_state_"] == "" and values["chat_event_rx_state_"]["add"]["body"] == "hi lobby"
    assert frame["events"][0]["payload"] == {"ref": "ref_lobby_chat_input", "value": ""}
    anonymous = _tab(world, "anon-2", None, channels.lobby())
    _send(world, anonymous, LOBBY_POST, {"form": {"body": "who am I"}})
    assert [s for s, _ in world.to_reflex] == [anonymous]
    assert _stored(world, chat.LOBBY)[1] == 1


def _session(world, creator: int, participant: int) -> int:
    with app_db.session_scope(world.engine) as db:
        now = utcnow()
        row = StudySession(creator_id=creator, title="Soon", starts_at=now + timedelta(minutes=10),
                           ends_at=now + timedelta(minutes=70))
        db.add(row)
        db.flush()
        db.add(SessionParticipant(session_id=row.id, user_id=participant))
        return row.id


def test_a_session_chat_post_goes_to_the_session_whose_chat_channel_the_socket_is_in(world):
    session_id = _session(world, world.host, world.bob)
    sid = _tab(world, "bob-9", world.bob, channels.session(session_id), channels.session_chat(session_id))
    _send(world, sid, SESSION_POST, {"form": {"body": "see you soon"}})
    assert _stored(world, scheduled.chat_channel(session_id)) == ([(world.bob, "see you soon")], 1)
    assert [(b[0], b[2]) for b in world.broadcasts] == [(channels.session_chat(session_id), sid)]
    # Eve only looks at the session's page (its public channel): Reflex's handler answers her.
    eve = _tab(world, "eve-4", world.eve, channels.session(session_id))
    _send(world, eve, SESSION_POST, {"form": {"body": "gatecrash"}})
    assert [s for s, _ in world.to_reflex] == [eve]
    # Put in the chat channel anyway, the database still says no.
    world.ns.join(eve, channels.session_chat(session_id))
    _send(world, eve, SESSION_POST, {"form": {"body": "gatecrash"}})
    assert world.ns.sent[-1] == (eve, {"delta": {SessionChatState.get_full_name(): {
        "error_rx_state_": "You cannot write in this chat now."}}})
    assert _stored(world, scheduled.chat_channel(session_id))[0] == [(world.bob, "see you soon")]


def test_the_newest_channel_of_a_kind_wins(world):
    # A tab that went from one room to another: the room page's load left the first one.
    sid = _tab(world, "eve-5", world.eve, channels.room(world.room_id), channels.room(world.other_room))
    with app_db.session_scope(world.engine) as db:
        rooms.enter(db, room_id=world.room_id, user_id=world.eve)
    _send(world, sid, ROOM_POST, {"form": {"body": "in my room"}})
    assert _stored(world, chat.room_channel(world.other_room))[0] == [(world.eve, "in my room")]
    assert _stored(world, chat.room_channel(world.room_id)) == ([], 0)


def test_only_a_real_handler_can_be_fast():
    async def fn(event):
        return False

    with pytest.raises(AttributeError):
        realtime.fast_event(RoomBoardUi, "no_such_handler", fn)


def test_a_message_on_the_wire_is_its_view_as_a_dict():
    message = chat.MessagePublic(7, "lobby", 3, "Ada", "https://a/b.png", 4, "see https://x.org.", 1234,
                                 tuple(chat.segments("see https://x.org.")), cosmetics.Looks("teal", "gold"))
    assert live_chat.wire_message(message) == dataclasses.asdict(live_chat.message_view(message))
