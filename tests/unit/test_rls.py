"""Row-level security on PostgreSQL: the database itself refuses other users' rows.

A throwaway cluster (``tests/support/postgres.py``) is migrated with ``alembic upgrade head``
as the owner role; the tests connect as the app role (no superuser, no BYPASSRLS), exactly as
production does. A small world is seeded as the system: Alice hosts a public room that Bob
is in, Bob has a private room of his own, Alice plans a session that Bob joined, and each has
logins, links, tasks, messages, credits, notes and a calendar feed, an ambient mix, goals for
focus blocks, reactions, calls and the chats' sequence counters and change logs. Carol has nothing but a lobby message and a reaction to it.

Then, inside one user's transaction, a deliberately unfiltered ``SELECT * FROM <table>``
returns only what that user may see, and UPDATE/DELETE/INSERT on others' rows are refused by
the database (no row touched, or an error for an INSERT). Without the migration's policies
every one of these tests fails: each user would read and change every row.

Skipped (with the reason) only when PostgreSQL's programs are not installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, SQLModel

import sessions_app.models  # noqa: F401  (every table on the metadata)
from sessions_app.db import as_system, as_user, elevated, make_engine
from sessions_app.models import (
    AmbientMix,
    AuthSession,
    BlockGoal,
    CalendarFeed,
    CallMember,
    CallOption,
    ChatChangeLog,
    ChatChannel,
    ChatMessage,
    ChatReaction,
    EmailToken,
    FocusCredit,
    LoginTicket,
    OAuthAccount,
    OAuthState,
    Room,
    RoomMember,
    ServerHeartbeat,
    ServerOutage,
    SessionNote,
    SessionParticipant,
    StudySession,
    Task,
    User,
)
from tests.support import postgres
from tests.unit.test_migrations import ROOT

pytestmark = [
    pytest.mark.skipif(bool(postgres.missing_reason()), reason=postgres.missing_reason() or "-"),
    # One xdist worker runs the module: its cluster starts once.
    pytest.mark.xdist_group("postgres-rls"),
]

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[postgres.Cluster]:
    cluster = postgres.start_cluster()
    try:
        cfg = Config()
        cfg.set_main_option("script_location", str(ROOT / "alembic"))
        cfg.attributes["database_url"] = cluster.url(postgres.OWNER)
        command.upgrade(cfg, "head")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def app_engine(cluster) -> Iterator[sa.Engine]:
    """The engine the app would use: the app role, with the db.py actor hook."""
    engine = make_engine(cluster.url(postgres.APP))
    yield engine
    engine.dispose()


def _seed(engine: sa.Engine) -> dict[str, int]:
    """The world, written as the system; returns the ids the tests name."""
    ids: dict[str, int] = {}
    with as_system("seeding the test world"), Session(engine, expire_on_commit=False) as db:
        alice, bob, carol = (User(display_name=n, email=f"{n.lower()}@example.com") for n in ("Alice", "Bob", "Carol"))
        db.add_all([alice, bob, carol])
        db.flush()
        ids.update(alice=alice.id, bob=bob.id, carol=carol.id)
        public = Room(name="Algebra", discipline="Mathematics", host_id=alice.id)
        private = Room(name="Secret", discipline="Physics", is_private=True, code="ABC234", host_id=bob.id)
        db.add_all([public, private])
        db.flush()
        ids.update(public_room=public.id, private_room=private.id)
        db.add_all([RoomMember(room_id=public.id, user_id=alice.id), RoomMember(room_id=public.id, user_id=bob.id),
                    RoomMember(room_id=private.id, user_id=bob.id)])
        session = StudySession(creator_id=alice.id, title="Eigenvalues", starts_at=LATER,
                               ends_at=LATER + timedelta(hours=1))
        db.add(session)
        db.flush()
        ids["session"] = session.id
        rows = [
            SessionParticipant(session_id=session.id, user_id=bob.id),
            SessionNote(session_id=session.id, user_id=bob.id, body="private note"),
            SessionNote(session_id=session.id, user_id=alice.id, body="public note", is_public=True),
            ChatMessage(channel="lobby", user_id=carol.id, body="hello all"),
            ChatMessage(channel=f"room:{public.id}", user_id=alice.id, body="in public room"),
            ChatMessage(channel=f"room:{private.id}", user_id=bob.id, body="in private room"),
            ChatMessage(channel=f"session:{session.id}", user_id=bob.id, body="in session chat"),
            Task(user_id=alice.id, text="alice personal"),
            Task(user_id=bob.id, text="bob personal"),
            Task(user_id=bob.id, room_id=public.id, text="bob in public room"),
            Task(user_id=bob.id, room_id=private.id, text="bob in private room"),
            ServerHeartbeat(id=1, alive_at=NOW),
            ServerOutage(started_at=NOW - timedelta(hours=2), ended_at=NOW - timedelta(hours=1)),
            OAuthState(state="pending-state", provider="github", code_verifier="v"),
        ]
        for user in (alice, bob):
            n = user.display_name.lower()
            rows += [
                AuthSession(user_id=user.id, token_hash=f"{n}-login".ljust(64, "0"), expires_at=LATER),
                OAuthAccount(user_id=user.id, provider="github", subject=f"{n}-gh"),
                LoginTicket(ticket_hash=f"{n}-ticket".ljust(64, "0"), user_id=user.id, expires_at=LATER),
                EmailToken(user_id=user.id, purpose="verify", token_hash=f"{n}-mail".ljust(64, "0"),
                           email=user.email, expires_at=LATER),
                CalendarFeed(user_id=user.id, token_hash=f"{n}-feed".ljust(64, "0")),
                FocusCredit(user_id=user.id, room_id=public.id, phase_seq=1, minutes_present=25, exp=25,
                            local_day="2026-03-02"),
            ]
        db.add_all(rows)
        db.flush()
        _seed_features(db, ids, alice, bob, carol, public, private, session)
        db.commit()
    return ids


def _seed_features(db: Session, ids: dict[str, int], alice: User, bob: User, carol: User, public: Room,
                   private: Room, session: StudySession) -> None:
    """Mixes, goals, reactions and calls: what the room page's features write."""
    def message_id(channel: str) -> int:
        return db.exec(sa.select(ChatMessage.id).where(ChatMessage.channel == channel)).scalar_one()

    lobby, in_public, in_private = message_id("lobby"), message_id(f"room:{public.id}"), message_id(f"room:{private.id}")
    pub, priv, ses = f"room:{public.id}", f"room:{private.id}", f"session:{session.id}"
    ids.update(public_message=in_public, private_message=in_private)
    db.add_all([
        AmbientMix(user_id=alice.id, rain=10), AmbientMix(user_id=bob.id, cafe=30),
        # Bob's goal for the public room's running block (its members see it), his goal for
        # a block that ended there (his private log now) and one in his private room.
        BlockGoal(user_id=bob.id, room_id=public.id, room_name=public.name, text="bob open in public"),
        BlockGoal(user_id=bob.id, room_id=None, room_name=public.name, text="bob closed in public",
                  block_seq=1, ended_at=NOW, minutes=25, outcome="done"),
        BlockGoal(user_id=bob.id, room_id=private.id, room_name=private.name, text="bob open in private"),
        BlockGoal(user_id=alice.id, room_id=None, room_name=public.name, text="alice closed in public",
                  block_seq=1, ended_at=NOW, minutes=25),
        ChatReaction(message_id=in_public, user_id=bob.id, emoji="thumbs"),
        ChatReaction(message_id=in_public, user_id=alice.id, emoji="strong"),
        ChatReaction(message_id=in_private, user_id=bob.id, emoji="heart"),
        ChatReaction(message_id=lobby, user_id=carol.id, emoji="party"),
        CallMember(call=pub, user_id=alice.id, sid="sid-alice", token="tab-alice"),
        CallMember(call=pub, user_id=bob.id, sid="sid-bob", token="tab-bob"),
        CallMember(call=priv, user_id=bob.id, sid="sid-bob-2", token="tab-bob-2"),
        CallMember(call=ses, user_id=bob.id, sid="sid-bob-3", token="tab-bob-3"),
        CallOption(call=pub, cameras_on_focus=True), CallOption(call=priv, sfu_room=7, sfu_secret="s", sfu_pin="p"),
        CallOption(call=ses),
        # Each chat's sequence counter and change log (services.chat_log): one post each.
        *(ChatChannel(channel=ch, seq=1) for ch in ("lobby", pub, priv, ses)),
        *(ChatChangeLog(channel=ch, seq=1, message_id=m) for ch, m in
          (("lobby", lobby), (pub, in_public), (priv, in_private), (ses, message_id(ses)))),
    ])
    db.flush()
    # Closed the way services.block_goals closes them, by an update (an INSERT of open_key
    # None would take the column's default, True); room_id None above only dodged the
    # one-open-goal constraint until then.
    db.execute(sa.text("UPDATE block_goals SET open_key = NULL, room_id = :r WHERE ended_at IS NOT NULL"),
               {"r": public.id})


@pytest.fixture
def world(cluster, app_engine) -> dict[str, int]:
    postgres.empty_tables(cluster, SQLModel.metadata)
    return _seed(app_engine)


def _rows(engine, table: str, column: str, user_id: int | None) -> set:
    """Every value of ``column`` the user's transaction sees, with no WHERE at all."""
    with as_user(user_id), engine.begin() as conn:
        return set(conn.exec_driver_sql(f"SELECT {column} FROM {table}").scalars())


# table -> (column to compare, what Alice sees, what Carol (a stranger) sees, what an anonymous
# transaction sees), from the world's ids.
def _expected(w: dict[str, int]) -> dict[str, tuple[str, set, set, set]]:
    a, b, c = w["alice"], w["bob"], w["carol"]
    pub, s = w["public_room"], w["session"]
    return {
        "users": ("id", {a, b, c}, {a, b, c}, {a, b, c}),
        "auth_sessions": ("user_id", {a}, set(), set()),
        "oauth_accounts": ("user_id", {a}, set(), set()),
        "oauth_states": ("state", set(), set(), set()),
        "login_tickets": ("user_id", {a}, set(), set()),
        "email_tokens": ("user_id", {a}, set(), set()),
        "calendar_feeds": ("user_id", {a}, set(), set()),
        "focus_credits": ("user_id", {a}, set(), set()),
        "rooms": ("id", {pub}, {pub}, {pub}),
        "room_members": ("room_id || ':' || user_id", {f"{pub}:{a}", f"{pub}:{b}"}, {f"{pub}:{a}", f"{pub}:{b}"},
                         {f"{pub}:{a}", f"{pub}:{b}"}),
        "tasks": ("text", {"alice personal", "bob in public room"}, set(), set()),
        "chat_messages": ("body", {"hello all", "in public room", "in session chat"}, {"hello all"}, set()),
        "study_sessions": ("id", {s}, {s}, {s}),
        "session_participants": ("user_id", {b}, {b}, {b}),
        "session_notes": ("body", {"public note"}, {"public note"}, {"public note"}),
        "server_heartbeat": ("id", {1}, {1}, {1}),
        "server_outages": ("count(*) OVER ()", {1}, {1}, {1}),
        "ambient_mixes": ("user_id", {a}, set(), set()),
        # Closed goals (and Bob's goal in his private room) stay with their author.
        "block_goals": ("text", {"bob open in public", "alice closed in public"}, set(), set()),
        # The reactions of the chats Alice reads (her room's, the lobby's); not the private room's.
        "chat_reactions": ("emoji", {"thumbs", "strong", "party"}, {"party"}, set()),
        "call_members": ("call || '/' || user_id", {f"room:{pub}/{a}", f"room:{pub}/{b}", f"session:{s}/{b}"},
                         set(), set()),
        "call_options": ("call", {f"room:{pub}", f"session:{s}"}, set(), set()),
        # A chat's counter and log go with its messages: the readers of the channel.
        "chat_channels": ("channel", {"lobby", f"room:{pub}", f"session:{s}"}, {"lobby"}, set()),
        "chat_change_log": ("channel || '/' || seq", {"lobby/1", f"room:{pub}/1", f"session:{s}/1"}, {"lobby/1"},
                            set()),
    }


def test_every_table_has_forced_row_level_security(cluster, app_engine):
    """A table added without policies would be readable by everyone: none may exist."""
    with app_engine.connect() as conn:
        rows = dict(conn.exec_driver_sql(
            "SELECT relname, relrowsecurity AND relforcerowsecurity FROM pg_class "
            "WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'alembic_version'").all())
    assert set(rows) == set(SQLModel.metadata.tables)
    assert [name for name, forced in rows.items() if not forced] == []


def test_the_app_role_cannot_bypass_row_level_security(cluster, app_engine):
    with app_engine.connect() as conn:
        super_, bypass = conn.exec_driver_sql(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user").one()
    assert (super_, bypass) == (False, False)


@pytest.mark.parametrize("table", sorted(SQLModel.metadata.tables))
def test_unfiltered_select_returns_only_what_the_user_may_see(world, app_engine, table):
    column, alice_sees, carol_sees, anonymous_sees = _expected(world)[table]
    assert _rows(app_engine, table, column, world["alice"]) == alice_sees
    assert _rows(app_engine, table, column, world["carol"]) == carol_sees
    assert _rows(app_engine, table, column, None) == anonymous_sees


def test_bob_sees_his_private_room_and_its_chat(world, app_engine):
    bob, priv = world["bob"], world["private_room"]
    assert priv in _rows(app_engine, "rooms", "id", bob)
    assert "in private room" in _rows(app_engine, "chat_messages", "body", bob)
    assert {"bob personal", "bob in public room", "bob in private room"} <= _rows(app_engine, "tasks", "text", bob)
    assert _rows(app_engine, "session_notes", "body", bob) == {"private note", "public note"}


def test_the_system_sees_every_row(world, app_engine):
    with as_system("checking the test"), app_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM chat_messages").scalar() == 4
        assert conn.exec_driver_sql("SELECT count(*) FROM auth_sessions").scalar() == 2


# Alice's rows that Carol tries to change: (table, key column, key value from the world).
def _alices_rows(w) -> list[tuple[str, str, object]]:
    a = w["alice"]
    return [("users", "id", a), ("auth_sessions", "user_id", a), ("oauth_accounts", "user_id", a),
            ("login_tickets", "user_id", a), ("email_tokens", "user_id", a), ("calendar_feeds", "user_id", a),
            ("focus_credits", "user_id", a), ("rooms", "id", w["public_room"]), ("room_members", "user_id", a),
            ("tasks", "user_id", a), ("chat_messages", "user_id", a), ("study_sessions", "id", w["session"]),
            ("session_notes", "user_id", a), ("session_participants", "user_id", w["bob"]),
            ("oauth_states", "provider", "github"), ("server_heartbeat", "id", 1),
            ("ambient_mixes", "user_id", a), ("block_goals", "user_id", a), ("chat_reactions", "user_id", a),
            ("call_members", "user_id", a), ("call_options", "call", f"room:{w['public_room']}"),
            ("chat_channels", "channel", f"room:{w['public_room']}"),
            ("chat_change_log", "channel", f"room:{w['public_room']}")]


def _count_as_system(engine, table: str, key: str, value) -> int:
    with as_system("checking the test"), engine.begin() as conn:
        return conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE {key} = %(v)s", {"v": value}).scalar()


OTHERS_ROWS_TABLES = ["users", "auth_sessions", "oauth_accounts", "login_tickets", "email_tokens", "calendar_feeds",
                      "focus_credits", "rooms", "room_members", "tasks", "chat_messages", "study_sessions",
                      "session_notes", "session_participants", "oauth_states", "server_heartbeat",
                      "ambient_mixes", "block_goals", "chat_reactions", "call_members", "call_options",
                      "chat_channels", "chat_change_log"]


@pytest.mark.parametrize("table", OTHERS_ROWS_TABLES)
def test_update_and_delete_of_others_rows_touch_nothing(world, app_engine, table):
    ((_, key, value),) = [row for row in _alices_rows(world) if row[0] == table]
    before = _count_as_system(app_engine, table, key, value)
    assert before >= 1
    # The stranger: the rows are invisible, so nothing matches.
    with as_user(world["carol"]), app_engine.begin() as conn:
        assert conn.exec_driver_sql(f"UPDATE {table} SET {key} = {key} WHERE {key} = %(v)s", {"v": value}).rowcount == 0
        assert conn.exec_driver_sql(f"DELETE FROM {table} WHERE {key} = %(v)s", {"v": value}).rowcount == 0
    assert _count_as_system(app_engine, table, key, value) == before


def test_a_member_cannot_change_another_members_rows(world, app_engine):
    """Bob sees Alice's stint and her public room's chat, and still cannot change them."""
    a, bob, pub = world["alice"], world["bob"], world["public_room"]
    with as_user(bob), app_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM room_members WHERE user_id = %(a)s", {"a": a}).scalar() == 1
        for table in ("room_members", "chat_messages", "tasks"):
            assert conn.exec_driver_sql(f"UPDATE {table} SET user_id = user_id WHERE user_id = %(a)s",
                                        {"a": a}).rowcount == 0
            assert conn.exec_driver_sql(f"DELETE FROM {table} WHERE user_id = %(a)s", {"a": a}).rowcount == 0
        # The session's sign-ups are public numbers, but only their owner changes them.
        assert conn.exec_driver_sql("DELETE FROM session_participants WHERE user_id <> %(b)s", {"b": bob}).rowcount == 0
        assert conn.exec_driver_sql("UPDATE study_sessions SET title = 'mine'").rowcount == 0
    with as_user(bob), app_engine.begin() as conn:
        # Bob's own rows are his to change.
        assert conn.exec_driver_sql(f"UPDATE tasks SET done = true WHERE room_id = {pub}").rowcount == 1


INSERTS = {
    # Writing as someone else, or into a place the writer is not in.
    "users": "INSERT INTO users (display_name, avatar_url, timezone, exp_total, created_at) "
             "VALUES ('Mallory', '', 'UTC', 0, now())",
    "auth_sessions": "INSERT INTO auth_sessions (user_id, token_hash, created_at, expires_at) "
                     "VALUES (%(a)s, 'x', now(), now())",
    "focus_credits": "INSERT INTO focus_credits (user_id, room_id, phase_seq, minutes_present, exp, local_day, "
                     "credited_at) VALUES (%(c)s, %(pub)s, 9, 25, 1000, '2026-03-02', now())",
    "chat_as_other": "INSERT INTO chat_messages (channel, user_id, body, created_at) VALUES ('lobby', %(a)s, 'x', now())",
    "chat_into_room": "INSERT INTO chat_messages (channel, user_id, body, created_at) "
                      "VALUES ('room:' || %(priv)s, %(c)s, 'x', now())",
    "task_into_room": "INSERT INTO tasks (user_id, room_id, text, done, created_at) VALUES (%(c)s, %(pub)s, 'x', false, now())",
    "member_as_other": "INSERT INTO room_members (room_id, user_id, joined_at) VALUES (%(pub)s, %(a)s, now())",
    "sign_up_other": "INSERT INTO session_participants (session_id, user_id, joined_at, waitlisted) "
                     "VALUES (%(s)s, %(a)s, now(), false)",
    "note_as_other": "INSERT INTO session_notes (session_id, user_id, body, is_public, created_at, updated_at) "
                     "VALUES (%(s)s, %(a)s, 'x', true, now(), now())",
    "room_for_other": "INSERT INTO rooms (name, discipline, is_private, host_id, focus_minutes, short_break_minutes, "
                      "long_break_minutes, blocks_before_long_break, is_open, created_at, phase, phase_seq, "
                      "phase_length_ms, cycles_completed) VALUES ('x', 'x', false, %(a)s, 25, 5, 15, 4, true, now(), "
                      "'idle', 0, 0, 0)",
    "oauth_state": "INSERT INTO oauth_states (state, provider, code_verifier, next_path, created_at) "
                   "VALUES ('s', 'github', 'v', '/', now())",
    "heartbeat": "INSERT INTO server_outages (started_at, ended_at) VALUES (now(), now())",
    "mix_for_other": "INSERT INTO ambient_mixes (user_id, rain, cafe, fire, brown, fade_in_breaks) "
                     "VALUES (%(a)s, 0, 0, 0, 0, true)",
    "goal_as_other": "INSERT INTO block_goals (user_id, room_id, room_name, text, open_key, minutes, created_at) "
                     "VALUES (%(a)s, %(pub)s, 'Algebra', 'x', true, 0, now())",
    "goal_in_room_not_in": "INSERT INTO block_goals (user_id, room_id, room_name, text, open_key, minutes, created_at) "
                           "VALUES (%(c)s, %(pub)s, 'Algebra', 'x', true, 0, now())",
    "reaction_as_other": "INSERT INTO chat_reactions (message_id, user_id, emoji, created_at) "
                         "VALUES (%(lobby_msg)s, %(a)s, 'laugh', now())",
    "reaction_unread_chat": "INSERT INTO chat_reactions (message_id, user_id, emoji, created_at) "
                            "VALUES (%(pub_msg)s, %(c)s, 'laugh', now())",
    "call_join_as_other": "INSERT INTO call_members (call, user_id, sid, token, joined_at, removed, sfu_token) "
                          "VALUES ('lobby', %(a)s, 'x', 'x', now(), false, '')",
    "call_join_outsider": "INSERT INTO call_members (call, user_id, sid, token, joined_at, removed, sfu_token) "
                          "VALUES ('room:' || %(pub)s, %(c)s, 'x', 'x', now(), false, '')",
    "call_options_outsider": "INSERT INTO call_options (call, cameras_on_focus, sfu_secret, sfu_pin) "
                             "VALUES ('session:' || %(s)s, true, '', '')",
    # Bumping a chat's counter or logging a change there: the poster's step, in a chat one
    # may write in (a stranger could otherwise skip numbers, or forge a "delete" every reader
    # replays on catch-up).
    "bump_others_chat": "INSERT INTO chat_channels (channel, seq) VALUES ('room:' || %(pub)s, 1) "
                        "ON CONFLICT (channel) DO UPDATE SET seq = chat_channels.seq + 1",
    "new_counter_others_chat": "INSERT INTO chat_channels (channel, seq) VALUES ('room:' || %(priv)s, 5)",
    "log_into_others_chat": "INSERT INTO chat_change_log (channel, seq, message_id, deleted, created_at) "
                            "VALUES ('room:' || %(pub)s, 2, %(pub_msg)s, true, now())",
}


@pytest.mark.parametrize("name", sorted(INSERTS))
def test_inserting_as_someone_else_is_refused(world, app_engine, name):
    w = world
    params = {"a": w["alice"], "c": w["carol"], "pub": w["public_room"], "priv": w["private_room"], "s": w["session"],
              "pub_msg": w["public_message"], "lobby_msg": _lobby_message(app_engine)}
    with pytest.raises(DBAPIError, match="row-level security"), as_user(w["carol"]), app_engine.begin() as conn:
        conn.exec_driver_sql(INSERTS[name], params)


def _lobby_message(engine) -> int:
    with as_system("checking the test"), engine.begin() as conn:
        return conn.exec_driver_sql("SELECT id FROM chat_messages WHERE channel = 'lobby'").scalar_one()


def test_members_write_only_their_own_goals_reactions_and_calls(world, app_engine):
    """Bob sees Alice's call row and reaction in their room and cannot change them; the call's
    host (Alice) removes Bob from the call, a member does not remove her."""
    a, b, pub = world["alice"], world["bob"], world["public_room"]
    with as_user(b), app_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM call_members WHERE user_id = %(a)s", {"a": a}).scalar() == 1
        for table in ("call_members", "chat_reactions", "block_goals", "ambient_mixes"):
            assert conn.exec_driver_sql(f"UPDATE {table} SET user_id = user_id WHERE user_id = %(a)s",
                                        {"a": a}).rowcount == 0
            assert conn.exec_driver_sql(f"DELETE FROM {table} WHERE user_id = %(a)s", {"a": a}).rowcount == 0
        # Bob reacts in the room he is in, and sets a goal there: his own rows.
        conn.exec_driver_sql("INSERT INTO chat_reactions (message_id, user_id, emoji, created_at) "
                             "VALUES (%(m)s, %(b)s, 'laugh', now())", {"m": world["public_message"], "b": b})
        assert conn.exec_driver_sql("UPDATE block_goals SET text = 'new' WHERE text = 'bob open in public'").rowcount == 1
    with as_user(a), app_engine.begin() as conn:
        assert conn.exec_driver_sql("UPDATE call_members SET removed = true WHERE call = %(c)s AND user_id = %(b)s",
                                    {"c": f"room:{pub}", "b": b}).rowcount == 1
        # Not in Bob's private room's call, whose host is Bob.
        assert conn.exec_driver_sql("UPDATE call_members SET removed = true WHERE user_id = %(b)s",
                                    {"b": b}).rowcount == 2  # her room's call and her session's


def test_a_moderator_may_delete_messages_in_their_room(world, app_engine):
    """The room's host deletes a member's message (the product's moderation rule)."""
    a, b, pub = world["alice"], world["bob"], world["public_room"]
    with as_system("seeding"), app_engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO chat_messages (channel, user_id, body, created_at) "
                             "VALUES (%(ch)s, %(b)s, 'spam', now())", {"ch": f"room:{pub}", "b": b})
    with as_user(a), app_engine.begin() as conn:
        assert conn.exec_driver_sql("DELETE FROM chat_messages WHERE body = 'spam'").rowcount == 1


def test_elevated_lets_one_step_write_others_rows_then_ends(world, app_engine):
    a = world["alice"]
    with as_user(world["carol"]), Session(app_engine) as db:
        with elevated(db, "the test's cross-user step"):
            assert db.execute(sa.text("UPDATE users SET exp_total = 5 WHERE id = :a"), {"a": a}).rowcount == 1
        assert db.execute(sa.text("UPDATE users SET exp_total = 6 WHERE id = :a"), {"a": a}).rowcount == 0
        db.commit()


def test_the_actor_is_local_to_each_transaction(world, app_engine):
    """A pooled connection carries no user over: the next transaction states its own."""
    with as_user(world["alice"]), app_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM auth_sessions").scalar() == 1
    with app_engine.begin() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM auth_sessions").scalar() == 0
        assert conn.exec_driver_sql("SELECT current_setting('app.user_id', true)").scalar() == ""


def test_a_member_posts_deletes_and_catches_up_in_his_chat(world, app_engine):
    """Posting and deleting bump the channel's counter and log the change in the poster's own
    transaction; another reader catches up from that log; a stranger sees none of it."""
    from sessions_app.services import chat

    a, b, c, pub = world["alice"], world["bob"], world["carol"], world["public_room"]
    channel = chat.room_channel(pub)
    with as_user(b), Session(app_engine) as db:
        posted = chat.post(db, channel=channel, user_id=b, body="lemma 3 done")
        deleted = chat.delete(db, message_id=posted.message.id, user_id=b, channel=channel)
        db.commit()
    assert (posted.seq, deleted.seq) == (2, 3)
    with as_user(a), Session(app_engine) as db:
        missed = chat.catch_up(db, channel, 1, user_id=a)
    assert [(ch.seq, ch.message is not None, ch.deleted_id) for ch in missed.changes] == [
        (2, False, None), (3, False, posted.message.id)]  # the post's message is gone by now
    assert _rows(app_engine, "chat_change_log", "seq", c) == {1}  # the lobby's only
