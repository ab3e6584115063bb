"""Client tokens and channels over a real socket (issue 10, items 1 and 7).

Reflex takes the client token a socket connects with as given: a socket connecting as
``room-<id>`` used to hydrate that room's shared state (its private join code, member names,
chat and tasks) without any login. Now every token that is not tab-shaped is refused at
connect, and shared states live under keys derived with the server secret.

Channels follow rights: a tab that logs out leaves its channels (no more name or EXP pushes,
no room chat), when a user leaves a session or a room in one tab their other tabs' sockets
leave its chat at once — without waiting for the browser to notice — and a deleted account's
sockets leave everything.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import socketio
from playwright.sync_api import expect
from sqlmodel import Session

from sessions_app.db import make_engine
from sessions_app.models import SessionParticipant, StudySession, utcnow
from sessions_app.services import rooms, scheduled, shared_keys
from sessions_app.state.account import AccountState
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.quiet_focus import RoomQuiet
from sessions_app.state.room import RoomLive
from sessions_app.state.scheduled import SessionDetailState
from sessions_app.state.session_chat import SessionChatState
from tests.e2e.conftest import goto, host_room
from tests.e2e.test_realtime_protocol import db_room
from tests.e2e.test_rooms import skip_to_phase_end
from tests.support.factories import PASSWORD, app_db, login_token, new_login
from tests.support.protocol import (
    HYDRATE,
    NAMESPACE,
    ReflexClient,
    eventually,
    protocol_user,
    router,
    run,
    settle,
)

LIVE = RoomLive.get_full_name()
BOARD = RoomBoard.get_full_name()
# A room post is a handler of the tab's own board state (link-free: realtime.links).
POST = f"{RoomBoardUi.get_full_name()}.send"
QUIET = RoomQuiet.get_full_name()
AUTH = AuthState.get_full_name()
ACCOUNT = AccountState.get_full_name()
DETAIL = SessionDetailState.get_full_name()
SESSION_CHAT = SessionChatState.get_full_name()


class ChosenTokenClient(ReflexClient):
    """A crafted client that picks its own client token (and may have no login at all)."""

    async def open_as(self, token: str, path: str, query: dict | None = None) -> None:
        self.path, self.query = path, query or {}
        auth = {"event": {"name": HYDRATE, "payload": {}, "router_data": router(path, self.query)}}
        await self.sio.connect(f"{self.url}?token={token}", socketio_path="/_event/", namespaces=[NAMESPACE],
                               transports=["websocket"], auth=auth, wait_timeout=20)


def _db(database_url: str):
    engine = make_engine(database_url)
    return engine, Session(engine, expire_on_commit=False)


def db_session(database_url: str, creator_id: int, participant_ids: list[int], *, starts_in: timedelta,
               title: str) -> int:
    """A scheduled session straight in the app's database (its chat opens 15 min before)."""
    engine, db = _db(database_url)
    with db:
        now = utcnow()
        row = StudySession(creator_id=creator_id, title=title, starts_at=now + starts_in,
                           ends_at=now + starts_in + timedelta(hours=1))
        db.add(row)
        db.flush()
        for uid in participant_ids:
            db.add(SessionParticipant(session_id=row.id, user_id=uid))
        db.commit()
        session_id = row.id
    engine.dispose()
    return session_id


def open_live_room(database_url: str, session_id: int, user_id: int) -> int:
    """The session's live room, opened by ``user_id`` (its host until the creator comes), with
    its timer reset: it starts in a focus block, whose quiet chat would refuse the test's post."""
    engine, db = _db(database_url)
    with db:
        room_id = scheduled.open_live_room(db, session_id=session_id, user_id=user_id).room_id
        rooms.control_timer(db, room_id=room_id, user_id=user_id, action="reset")
        db.commit()
    engine.dispose()
    return room_id


# --- item 1: client tokens ------------------------------------------------------------------------


def test_shared_state_keys_and_channel_names_as_tokens_are_refused_and_read_nothing(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, f"Hidden Host {mark}")
        member_id, member_token = protocol_user(dburl, f"Hidden Member {mark}")
        room_id, code = db_room(dburl, host_id, private=True, name=f"Secret room {mark}")
        host = ReflexClient(url, host_token)
        await host.open(f"/rooms/{room_id}", {"room_id": str(room_id)})
        # The page's on_load handlers run as their own events: post once the board is linked.
        assert await eventually(lambda: host.last(BOARD, "room_id") == room_id)
        await host.call(POST, form={"body": f"private chat {mark}"})
        await host.call(f"{BOARD}.add_task", form={"text": f"private task {mark}"})
        # A scheduled session that is live now, and its live room with someone in it.
        session_id = db_session(dburl, host_id, [member_id], starts_in=timedelta(minutes=-5),
                                title=f"Secret session {mark}")
        live_room_id = open_live_room(dburl, session_id, member_id)
        member = ReflexClient(url, member_token)
        await member.open(f"/rooms/{live_room_id}", {"room_id": str(live_room_id)})
        assert await eventually(lambda: member.last(BOARD, "room_id") == live_room_id)
        await member.call(POST, form={"body": f"live room chat {mark}"})
        # The room's state is there to be read, for whoever could connect as its key.
        assert await eventually(lambda: f"private chat {mark}" in host.text() and code in host.text())
        assert await eventually(lambda: f"private task {mark}" in host.text())
        assert await eventually(lambda: f"live room chat {mark}" in member.text())

        secrets = [code, f"Hidden Host {mark}", f"Hidden Member {mark}", f"private chat {mark}",
                   f"private task {mark}", f"live room chat {mark}", f"Secret session {mark}"]
        tokens = [f"room-{room_id}", f"room-{live_room_id}", f"session-{session_id}",
                  f"session-{session_id}-chat", f"session:{session_id}", f"user-{host_id}", "lobby", "sessions",
                  # Even the real keys (computed here with the test server's secret) and a
                  # non-uuid4 shape are refused.
                  shared_keys.room_key(room_id), shared_keys.room_key(live_room_id),
                  str(uuid.uuid1()), str(uuid.uuid4()).upper(), "not-a-token"]
        for token in tokens:
            for path, query in ((f"/rooms/{room_id}", {"room_id": str(room_id)}),
                                (f"/sessions/{session_id}", {"session_id": str(session_id)})):
                attacker = ChosenTokenClient(url, "")
                try:
                    await attacker.open_as(token, path, query)
                    refused = False
                    await settle([attacker])
                except socketio.exceptions.ConnectionError:
                    refused = True
                await attacker.sio.disconnect()
                received = attacker.text()
                for secret in secrets:
                    assert secret not in received, (token, secret)
                assert refused and attacker.frames == [], token

        # The refusals left nothing behind: a fresh tab of the host enters and reads the room.
        again = ReflexClient(url, host_token)
        await again.open(f"/rooms/{room_id}", {"room_id": str(room_id)})
        assert await eventually(lambda: code in again.text() and f"private chat {mark}" in again.text())
        for client in (host, member, again):
            await client.close()

    run(scenario())


def test_a_session_live_room_shows_no_join_code(app_server):
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        creator_id, creator_token = protocol_user(dburl, "Codeless Creator")
        session_id = db_session(dburl, creator_id, [], starts_in=timedelta(minutes=-1), title="Codeless")
        room_id = open_live_room(dburl, session_id, creator_id)
        creator = ReflexClient(url, creator_token)
        await creator.open(f"/rooms/{room_id}", {"room_id": str(room_id)})
        assert await eventually(lambda: creator.last(LIVE, "room_id") == room_id)
        await settle([creator])
        assert creator.last(LIVE, "room_id") == room_id and creator.last(LIVE, "is_private") is True
        assert creator.last(LIVE, "code", "") == ""
        await creator.close()

    run(scenario())


def test_a_browser_tab_still_connects_and_uses_its_room(student, app_server):
    me = student("Token Tess", at=None)
    room_id = host_room(me, app_server.database_url, "Browser room", private=True)
    expect(me.page.locator("#join-code")).to_have_text(re.compile(r"^[A-Z0-9]{6}$"))
    me.page.fill("#chat-input", "hello from a real tab")
    me.page.click("#chat-send")
    expect(me.page.locator("#chat-messages .chat-message")).to_have_count(1)
    me.page.reload()
    me.page.wait_for_selector("#hydrated", state="attached", timeout=30_000)
    expect(me.page.locator("#chat-messages .chat-message")).to_contain_text("hello from a real tab")
    expect(me.page.locator("#room-title")).to_have_text("Browser room")
    goto(me.page, f"/rooms/{room_id}")
    expect(me.page.locator("#participant-list .participant")).to_have_count(1)


# --- item 7: channels follow rights -----------------------------------------------------------------


def test_after_logout_a_tab_gets_no_pushes_for_the_old_user(app_server, app_clock):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        leaver_id, leaver_token = protocol_user(dburl, f"Logged Out {mark}")
        stayer_id, stayer_token = protocol_user(dburl, f"Still In {mark}")
        room_id, _ = db_room(dburl, stayer_id, private=False, name=f"Logout room {mark}")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        stayer = ReflexClient(url, stayer_token)
        await stayer.open(path, query)
        leaver = ReflexClient(url, leaver_token)
        await leaver.open(path, query)
        # Another tab of the same browser (the same login cookie), also in the room.
        sibling = ReflexClient(url, leaver_token)
        await sibling.open(path, query)
        for client in (stayer, leaver, sibling):
            assert await eventually(lambda c=client: c.last(BOARD, "room_id") == room_id)
        # The host opens chat during focus (quiet focus would refuse the post below).
        await stayer.call(f"{QUIET}.set_focus_chat", open_=True)
        await stayer.call(f"{LIVE}.control", action="start")
        assert await eventually(lambda: leaver.last(LIVE, "phase") == "focus")

        # The tab logs out (a crafted client does not follow the redirect home). Its user is
        # still in the room, so the block's end credits them and pushes their new EXP.
        await leaver.call(f"{AUTH}.log_out")
        assert await eventually(lambda: leaver.last(AUTH, "user_id") == 0)
        # The browser's other tab is sent to the logout route at once (a browser follows it;
        # this crafted one does not, and gets nothing more either way).
        assert await eventually(lambda: any("/auth/logout" in js for js in sibling.scripts()))
        assert not any("/auth/logout" in js for js in stayer.scripts())
        leaver.frames.clear()
        sibling.frames.clear()
        await stayer.call(POST, form={"body": f"after the logout {mark}"})
        # The app's clock skips to a second before the block's end: the server ends it, credits
        # and pushes EXP.
        skip_to_phase_end(app_server, app_clock, room_id)
        assert await eventually(lambda: stayer.last(LIVE, "phase_label") == "short break")
        assert await eventually(lambda: (stayer.last(AUTH, "exp_total") or 0) > 0)
        await settle([stayer, leaver, sibling])

        for tab in (leaver, sibling):
            received = tab.text()
            assert f"Logged Out {mark}" not in received
            assert tab.values(AUTH, "exp_total") == [] and tab.values(AUTH, "display_name") == []
            assert f"after the logout {mark}" not in received
            assert tab.values(LIVE, "phase") == []
        for tab in (stayer, leaver, sibling):
            await tab.close()

    run(scenario())


def test_a_password_change_logs_out_the_other_devices_open_tabs_at_once(app_server):
    """A stolen device's room page stops receiving the moment the password changes, even if
    its client ignores the logout it is sent; the tabs of the login that changed it stay."""
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        owner_id, _, kept_login = new_login(dburl, f"Owner {mark}", password=PASSWORD)
        with app_db(dburl) as db:
            stolen_login = login_token(db, owner_id)  # the other device
        host_id, host_token = protocol_user(dburl, f"Host {mark}")
        room_id, _ = db_room(dburl, host_id, private=False, name=f"Stolen room {mark}")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host, kept_tab, stolen_tab = (ReflexClient(url, host_token), ReflexClient(url, kept_login),
                                      ReflexClient(url, stolen_login))
        for tab in (host, kept_tab, stolen_tab):
            await tab.open(path, query)
            assert await eventually(lambda t=tab: t.last(BOARD, "room_id") == room_id)
        await host.call(f"{QUIET}.set_focus_chat", open_=True)  # posts are refused in quiet focus
        stolen_settings = ReflexClient(url, stolen_login)  # a page with nothing live on it
        await stolen_settings.open("/settings")
        assert await eventually(lambda: stolen_settings.frames)

        settings = ReflexClient(url, kept_login)
        await settings.open("/settings")
        new = "violet tram under seven bridges"
        await settings.call(f"{ACCOUNT}.change_password",
                            form={"current": PASSWORD, "password": new, "confirm": new})
        assert await eventually(lambda: "Password changed" in (settings.last(ACCOUNT, "password_message") or ""))
        for tab in (stolen_tab, stolen_settings):
            assert await eventually(lambda t=tab: any("/auth/logout" in js and "ended%3Dpassword" in js
                                                      for js in t.scripts()))
        assert not any("/auth/logout" in js for js in kept_tab.scripts() + settings.scripts())
        stolen_tab.frames.clear()
        await host.call(POST, form={"body": f"after the change {mark}"})
        assert await eventually(lambda: any(f"after the change {mark}" in m.body for m in kept_tab.chat(BOARD)))
        await settle([host, kept_tab, stolen_tab])
        assert f"after the change {mark}" not in stolen_tab.text()
        for tab in (host, kept_tab, stolen_tab, settings, stolen_settings):
            await tab.close()

    run(scenario())


def test_leaving_a_session_in_one_tab_stops_its_chat_in_the_others(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        creator_id, creator_token = protocol_user(dburl, "Chat Creator")
        part_id, part_token = protocol_user(dburl, "Chat Participant")
        session_id = db_session(dburl, creator_id, [part_id], starts_in=timedelta(minutes=10), title="Chatty")
        path, query = f"/sessions/{session_id}", {"session_id": str(session_id)}
        creator = ReflexClient(url, creator_token)
        await creator.open(path, query)
        tab_one = ReflexClient(url, part_token)
        await tab_one.open(path, query)
        tab_two = ReflexClient(url, part_token)
        await tab_two.open(path, query)
        for client in (creator, tab_one, tab_two):
            assert await eventually(lambda c=client: c.last(DETAIL, "chat_readable") is True)

        await creator.call(f"{SESSION_CHAT}.send", form={"body": f"before leaving {mark}"})
        assert await eventually(lambda: f"before leaving {mark}" in tab_one.text())

        # The participant leaves in tab two; tab one (a crafted client: it never syncs) must
        # not get the chat any more.
        await tab_two.call(f"{DETAIL}.leave")
        assert await eventually(lambda: tab_two.last(DETAIL, "is_participant") is False)
        await settle([creator, tab_one, tab_two])
        await creator.call(f"{SESSION_CHAT}.send", form={"body": f"after leaving {mark}"})
        assert await eventually(lambda: f"after leaving {mark}" in creator.text())
        await settle([creator, tab_one, tab_two])
        assert f"after leaving {mark}" not in tab_one.text()
        assert f"after leaving {mark}" not in tab_two.text()
        for client in (creator, tab_one, tab_two):
            await client.close()

    run(scenario())


def test_leaving_a_room_in_one_tab_stops_its_chat_in_the_others(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Room Host")
        _, member_token = protocol_user(dburl, "Room Member")
        room_id, _ = db_room(dburl, host_id, private=False, name=f"Leave room {mark}")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        tab_one = ReflexClient(url, member_token)
        await tab_one.open(path, query)
        tab_two = ReflexClient(url, member_token)
        await tab_two.open(path, query)
        for client in (host, tab_one, tab_two):
            assert await eventually(lambda c=client: c.last(BOARD, "room_id") == room_id)
        await host.call(POST, form={"body": f"before leaving {mark}"})
        assert await eventually(lambda: f"before leaving {mark}" in tab_one.text())
        # The host's list must have shown the member first: "1 member" is also what it showed
        # before the member batch (a post racing ahead of the leave would then reach tab one).
        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 2)

        await tab_two.call(f"{LIVE}.leave_room")
        assert await eventually(lambda: len(host.last(LIVE, "members", [])) == 1)
        await host.call(POST, form={"body": f"after leaving {mark}"})
        assert await eventually(lambda: f"after leaving {mark}" in host.text())
        await settle([host, tab_one, tab_two])
        assert f"after leaving {mark}" not in tab_one.text()
        assert f"after leaving {mark}" not in tab_two.text()
        for client in (host, tab_one, tab_two):
            await client.close()

    run(scenario())


def test_a_deleted_account_s_tabs_get_nothing_more(app_server):
    url, dburl = app_server.url, app_server.database_url
    mark = uuid.uuid4().hex[:8]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Deletion Host")
        gone_id, gone_token = protocol_user(dburl, f"Soon Gone {mark}")
        room_id, _ = db_room(dburl, host_id, private=False, name=f"Deletion room {mark}")
        session_id = db_session(dburl, host_id, [gone_id], starts_in=timedelta(minutes=10), title="Deletion")
        room_path, room_query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        session_path, session_query = f"/sessions/{session_id}", {"session_id": str(session_id)}
        host_room, host_session = ReflexClient(url, host_token), ReflexClient(url, host_token)
        await host_room.open(room_path, room_query)
        await host_session.open(session_path, session_query)
        in_room, in_session = ReflexClient(url, gone_token), ReflexClient(url, gone_token)
        await in_room.open(room_path, room_query)
        await in_session.open(session_path, session_query)
        for client in (host_room, in_room):
            assert await eventually(lambda c=client: c.last(BOARD, "room_id") == room_id)
        for client in (host_session, in_session):
            assert await eventually(lambda c=client: c.last(DETAIL, "chat_readable") is True)
        assert await eventually(lambda: len(host_room.last(LIVE, "members", [])) == 2)  # (then 1 means gone)
        # What the others see of the user: a room task and a chat message.
        await in_room.call(f"{BOARD}.add_task", form={"text": f"task of the gone {mark}"})
        await in_room.call(POST, form={"body": f"said by the gone {mark}"})
        assert await eventually(lambda: any(t["text"] == f"task of the gone {mark}"
                                            for t in host_room.last(BOARD, "tasks", [])))
        assert await eventually(lambda: any(m.body == f"said by the gone {mark}" for m in host_room.chat(BOARD)))

        # The account is deleted from a third tab (a crafted client: it never follows anything).
        settings = ReflexClient(url, gone_token)
        await settings.open("/settings")
        assert await eventually(lambda: settings.frames)  # loaded
        await settle([settings])
        await settings.call(f"{ACCOUNT}.delete_account")
        assert await eventually(lambda: len(host_room.last(LIVE, "members", [])) == 1)
        # The account's other tabs are sent to the login page, which says why.
        for client in (in_room, in_session):
            assert await eventually(lambda c=client: any("ended%3Ddeleted" in js for js in c.scripts()))
        # The others' open room drops the task and the message at once, and a fresh load too.
        assert await eventually(lambda: host_room.last(BOARD, "tasks") == [])
        assert await eventually(lambda: not any(m.body == f"said by the gone {mark}" for m in host_room.chat(BOARD)))
        fresh = ReflexClient(url, host_token)
        await fresh.open(room_path, room_query)
        assert await eventually(lambda: fresh.last(BOARD, "room_id") == room_id)
        await settle([fresh])
        assert fresh.last(BOARD, "tasks") == [] and f"gone {mark}" not in fresh.text()
        await fresh.close()
        await settle([host_room, host_session, in_room, in_session, settings])
        for client in (in_room, in_session, settings):
            client.frames.clear()
        await host_room.call(POST, form={"body": f"room after deletion {mark}"})
        await host_session.call(f"{SESSION_CHAT}.send", form={"body": f"session after deletion {mark}"})
        assert await eventually(lambda: f"room after deletion {mark}" in host_room.text())
        assert await eventually(lambda: f"session after deletion {mark}" in host_session.text())
        await settle([host_room, host_session, in_room, in_session, settings])
        for client in (in_room, in_session, settings):
            assert f"after deletion {mark}" not in client.text()
        for client in (host_room, host_session, in_room, in_session, settings):
            await client.close()

    run(scenario())
