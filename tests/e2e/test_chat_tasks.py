"""Chat (lobby + room) and tasks (personal + room) in real Chromium: live delivery between
browsers, history after a reload, catching up after going offline, deleting, rate limits,
text-only rendering (no HTML ever) and room tasks cleared when the room closes."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from playwright.sync_api import Page, expect

from sessions_app.state.chat import LobbyChatState
from tests.e2e.conftest import PRESENCE_GRACE, assert_stays, goto, host_room, wait_until
from tests.support import db_peek
from tests.support.app_server import CHAT_RATE_LIMIT
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

XSS = ['<img src=x onerror="window.__pwned=1">', "<script>window.__pwned=1</script>"]


def bodies(page: Page, list_id: str = "#chat-messages") -> list[str]:
    """The message texts shown, in order."""
    return [t.strip() for t in page.locator(f"{list_id} .chat-message .chat-body").all_inner_texts()]


def send(page: Page, text: str, prefix: str = "", *, enter: bool = False) -> None:
    """Type a message and send it (Enter or the send button), then wait until it shows."""
    page.fill(f"#{prefix}chat-input", text)
    if enter:
        page.press(f"#{prefix}chat-input", "Enter")
    else:
        page.click(f"#{prefix}chat-send")
    expect(page.locator(f"#{prefix}chat-messages .chat-message .chat-body").filter(has_text=text).last).to_be_visible()
    expect(page.locator(f"#{prefix}chat-input")).to_have_value("")


def db_rows(app_server, sql: str, *args) -> list[tuple]:
    return db_peek.rows(app_server.database_url, sql, *args)


# Keep every WebSocket the page opens, so a test can cut them like a lost network does.
TRACK_SOCKETS_JS = """(() => {
  const Real = window.WebSocket; window.__sockets = [];
  window.WebSocket = class extends Real {
    constructor(...a) { super(...a); window.__sockets.push(this); }
  };
})();"""
CUT_SOCKETS_JS = "window.__sockets.filter((s) => s.readyState <= 1).map((s) => (s.close(), 1)).length"
COUNT_SOCKETS_JS = "window.__sockets.length"


def test_room_chat_live_reload_and_offline_catch_up(student, app_server):
    a = student("Chatty Cho", at=None)
    room_id = host_room(a, app_server.database_url, "Chat room")
    b = student("Quiet Quinn", at=None)
    b.context.add_init_script(TRACK_SOCKETS_JS)
    goto(b.page, f"/rooms/{room_id}")
    expect(a.page.locator("#participant-list .participant")).to_have_count(2)

    send(a.page, "hello from A", enter=True)
    expect(b.page.locator("#chat-messages .chat-message")).to_have_count(1)
    send(b.page, "hi A, B here")
    for p in (a.page, b.page):
        expect(p.locator("#chat-messages .chat-message")).to_have_count(2)
        assert bodies(p) == ["hello from A", "hi A, B here"]
    first = b.page.locator("#chat-messages .chat-message").first
    expect(first.locator(".chat-author")).to_have_text("Chatty Cho")
    assert re.fullmatch(r"\d\d:\d\d", first.locator(".chat-time").inner_text().strip())
    # Messages survive a reload.
    b.page.reload()
    b.page.wait_for_selector("#hydrated", state="attached")
    expect(b.page.locator("#chat-messages .chat-message")).to_have_count(2)
    assert bodies(b.page) == ["hello from A", "hi A, B here"]
    expected = bodies(b.page)

    # 1. B goes offline (Chromium holds the open socket's frames) while A sends 3 messages;
    # back online, B shows all 3 exactly once, in order.
    b.context.set_offline(True)
    missed = [f"while you were away {i}" for i in range(3)]
    for text in missed:
        send(a.page, text)
    assert_stays(lambda: len(bodies(b.page)) == 2, 1.0, message="a message reached the offline tab")
    b.context.set_offline(False)
    expected += missed
    expect(b.page.locator("#chat-messages .chat-message")).to_have_count(5, timeout=30_000)
    assert bodies(b.page) == expected

    # 2. The connection really drops (and stays down past the presence grace): the socket
    # reconnects by itself, on_load re-runs and rebuilds the chat from the DB.
    b.context.set_offline(True)
    opened = b.page.evaluate(COUNT_SOCKETS_JS)
    assert b.page.evaluate(CUT_SOCKETS_JS) == 1
    # B counts as gone once the presence grace has passed.
    expect(a.page.locator("#participant-list .participant")).to_have_count(1, timeout=(PRESENCE_GRACE + 8) * 1000)
    missed = [f"gone for a while {i}" for i in range(3)]
    for text in missed:
        send(a.page, text)
    assert_stays(lambda: len(bodies(b.page)) == 5, 1.0, message="a message reached the cut-off tab")
    b.context.set_offline(False)
    expected += missed
    expect(b.page.locator("#chat-messages .chat-message")).to_have_count(8, timeout=30_000)
    assert b.page.evaluate(COUNT_SOCKETS_JS) > opened  # a new socket, not held frames
    assert bodies(b.page) == expected
    expect(a.page.locator("#participant-list .participant")).to_have_count(2)
    # And the connection is live again both ways.
    send(b.page, "back online")
    expect(a.page.locator("#chat-messages .chat-message")).to_have_count(9)
    assert bodies(a.page) == bodies(b.page) == [*expected, "back online"]


def test_lobby_chat_two_browsers_and_delete_own(student):
    a = student("Lobby Lou", timezone_id="America/New_York")
    b = student("Lobby Lin", timezone_id="Asia/Tokyo")  # times show in each viewer's zone
    text = f"lobby hello {uuid.uuid4().hex[:6]}"
    send(a.page, text, "lobby-", enter=True)
    sent_at = datetime.now(UTC)
    mine_on_b = b.page.locator("#lobby-chat-messages .chat-message").filter(has_text=text)
    expect(mine_on_b).to_have_count(1)
    expect(mine_on_b.locator(".chat-delete")).to_have_count(0)  # not B's message
    mine_on_a = a.page.locator("#lobby-chat-messages .chat-message").filter(has_text=text)
    for row, zone in ((mine_on_a, "America/New_York"), (mine_on_b, "Asia/Tokyo")):
        shown = row.locator(".chat-time").inner_text().strip()
        local = sent_at.astimezone(ZoneInfo(zone))
        assert shown in {(local - timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)}, (zone, shown)
    reply = f"lobby reply {uuid.uuid4().hex[:6]}"
    send(b.page, reply, "lobby-")
    expect(a.page.locator("#lobby-chat-messages .chat-message").filter(has_text=reply)).to_have_count(1)
    # After a reload both are still there, in order.
    a.page.reload()
    a.page.wait_for_selector("#hydrated", state="attached")
    shown = bodies(a.page, "#lobby-chat-messages")
    assert shown.index(text) < shown.index(reply)
    # The author deletes their own message: it disappears for everyone.
    a.page.locator("#lobby-chat-messages .chat-message").filter(has_text=text).locator(".chat-delete").click()
    expect(mine_on_b).to_have_count(0)
    expect(a.page.locator("#lobby-chat-messages .chat-message").filter(has_text=text)).to_have_count(0)


def test_rate_limit_shows_a_clear_message_and_keeps_the_text(student, app_server):
    a = student()
    send(a.page, "burst 0", "lobby-")
    # The rest of the test app's limit goes out from a second tab of the same account, a client
    # fast enough to finish well inside the limit's window.
    limit = int(CHAT_RATE_LIMIT.split("/")[0])

    async def burst() -> None:
        tab = ReflexClient(app_server.url, a.token)
        await tab.open("/lobby")
        for i in range(1, limit):
            await tab.call(f"{LobbyChatState.get_full_name()}.send", form={"body": f"burst {i}"})
        assert await eventually(lambda: f"burst {limit - 1}" in tab.text()), "the burst's last message never came back"
        await settle([tab])
        await tab.close()

    run(burst())
    expect(a.page.locator("#lobby-chat-messages .chat-body").filter(has_text=f"burst {limit - 1}")).to_have_count(1)
    a.page.fill("#lobby-chat-input", "one too many")
    a.page.click("#lobby-chat-send")
    expect(a.page.locator("#lobby-chat-error")).to_have_text("You're sending messages too fast. Wait a few seconds.")
    expect(a.page.locator("#lobby-chat-input")).to_have_value("one too many")

    # After the window passes, the same text goes through and the error clears: the student
    # presses send again until it does.
    def resent() -> bool:
        expect(a.page.locator("#lobby-chat-input")).to_have_value("one too many")
        a.page.click("#lobby-chat-send")
        try:
            expect(a.page.locator("#lobby-chat-input")).to_have_value("", timeout=5_000)
        except AssertionError:
            return False
        return True

    window = int(CHAT_RATE_LIMIT.split("/")[1].removesuffix("second"))
    wait_until(resent, timeout=window + 15, interval=0, message="the message was not accepted after the window")
    expect(a.page.locator("#lobby-chat-error")).to_have_count(0)
    expect(a.page.locator("#lobby-chat-messages .chat-body").filter(has_text="one too many")).to_have_count(1)


def test_room_host_removes_any_message_guest_only_their_own(student, app_server):
    host = student("Host Hal", at=None)
    room_id = host_room(host, app_server.database_url, "Moderated")
    guest = student("Guest Gus", at=f"/rooms/{room_id}")
    send(host.page, "house rules")
    send(guest.page, "spam spam spam")
    send(guest.page, "sorry")
    rows = guest.page.locator("#chat-messages .chat-message")
    expect(rows).to_have_count(3)
    # The guest can delete only their own; the host can delete every message.
    expect(rows.filter(has_text="house rules").locator(".chat-delete")).to_have_count(0)
    expect(rows.filter(has_text="sorry").locator(".chat-delete")).to_have_count(1)
    expect(host.page.locator("#chat-messages .chat-message .chat-delete")).to_have_count(3)
    host.page.locator("#chat-messages .chat-message").filter(has_text="spam spam").locator(".chat-delete").click()
    for p in (host.page, guest.page):
        expect(p.locator("#chat-messages .chat-message")).to_have_count(2)
        assert bodies(p) == ["house rules", "sorry"]


def test_links_clickable_and_html_shown_as_text(student, app_server):
    a = student("Xss Xia", at=None)
    room_id = host_room(a, app_server.database_url, "Text only")
    b = student("Viewer Vic", at=f"/rooms/{room_id}")
    for payload in XSS:
        send(a.page, payload)
    send(a.page, "notes at https://example.com/notes?x=1 ok")
    for p in (a.page, b.page):
        expect(p.locator("#chat-messages .chat-message")).to_have_count(3)
        assert bodies(p)[:2] == XSS
        link = p.locator("#chat-messages .chat-body a")
        expect(link).to_have_count(1)
        expect(link).to_have_attribute("href", "https://example.com/notes?x=1")
        expect(link).to_have_text("https://example.com/notes?x=1")
        assert p.evaluate("window.__pwned") is None
        assert p.locator("img[src=x]").count() == 0
        assert p.locator("#chat-messages script").count() == 0
    # The lobby chat too.
    goto(a.page, "/lobby")
    for payload in XSS:
        send(a.page, payload, "lobby-")
    a.page.reload()
    a.page.wait_for_selector("#hydrated", state="attached")
    expect(a.page.locator("#lobby-chat-messages .chat-message").filter(has_text="window.__pwned")).to_have_count(2)
    assert a.page.evaluate("window.__pwned") is None
    assert a.page.locator("img[src=x]").count() == 0


def test_room_tasks_shared_owner_only_and_cleared_on_close(student, app_server):
    a = student("Goal Gia", at=None)
    room_id = host_room(a, app_server.database_url, "Goals")
    b = student("Goal Ben", at=f"/rooms/{room_id}")
    a.page.fill("#room-task-input", "Prove lemma 2")
    a.page.click("#room-task-add")
    expect(a.page.locator("#room-task-input")).to_have_value("")
    b_tasks = b.page.locator("#room-tasks .room-task")
    expect(b_tasks).to_have_count(1)
    expect(b_tasks.first.locator(".task-text")).to_have_text("Prove lemma 2")
    expect(b_tasks.first.locator(".task-author")).to_have_text("Goal Gia")
    # B cannot change A's task: no edit/delete, and the checkbox is disabled.
    expect(b_tasks.first.locator(".task-edit")).to_have_count(0)
    expect(b_tasks.first.locator(".task-delete")).to_have_count(0)
    expect(b_tasks.first.locator(".task-toggle")).to_be_disabled()
    b.page.fill("#room-task-input", "20 flashcards")
    b.page.press("#room-task-input", "Enter")
    expect(a.page.locator("#room-tasks .room-task")).to_have_count(2)
    # A ticks theirs done and edits it: B sees both changes.
    a_first = a.page.locator("#room-tasks .room-task").first
    a_first.locator(".task-toggle").click()
    expect(b_tasks.first.locator(".task-toggle")).to_have_attribute("data-state", "checked")
    a_first.locator(".task-edit").click()
    a_first.locator(".task-edit-input input").fill("Prove lemma 2 and 3")
    a_first.locator(".task-edit-input input").press("Enter")
    expect(b_tasks.first.locator(".task-text")).to_have_text("Prove lemma 2 and 3")
    # B deletes their own.
    b.page.locator("#room-tasks .room-task").filter(has_text="20 flashcards").locator(".task-delete").click()
    expect(a.page.locator("#room-tasks .room-task")).to_have_count(1)
    assert db_rows(app_server, "select count(*) from tasks where room_id = ?", room_id) == [(1,)]

    # Everyone leaves: the room closes and its tasks are gone.
    b.page.click("#leave-room")
    b.page.wait_for_url("**/lobby")
    a.page.click("#leave-room")
    a.page.wait_for_url("**/lobby")
    wait_until(lambda: db_rows(app_server, "select is_open from rooms where id = ?", room_id) == [(0,)],
               timeout=10, message="the room did not close")
    assert db_rows(app_server, "select count(*) from tasks where room_id = ?", room_id) == [(0,)]


def test_personal_tasks_crud_persist_and_show_in_rooms(student, app_server):
    a = student("Todo Tam")
    for text in ("Read chapter 3", "Email tutor"):
        # The server clears the field after an add: type the next task only once it has.
        expect(a.page.locator("#task-input")).to_have_value("")
        a.page.fill("#task-input", text)
        a.page.click("#task-add")
        expect(a.page.locator("#task-list .task").filter(has_text=text)).to_have_count(1)
    rows = a.page.locator("#task-list .task")
    expect(rows).to_have_count(2)
    rows.filter(has_text="Read chapter 3").locator(".task-toggle").click()
    expect(rows.filter(has_text="Read chapter 3").locator(".task-toggle")).to_have_attribute("data-state", "checked")
    rows.filter(has_text="Email tutor").locator(".task-edit").click()
    a.page.locator("#task-list .task-edit-input input").fill("Email tutor about exam")
    a.page.locator("#task-list .task-save").click()
    expect(rows.filter(has_text="Email tutor about exam")).to_have_count(1)
    a.page.reload()
    a.page.wait_for_selector("#hydrated", state="attached")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Read chapter 3").locator(".task-toggle")).to_have_attribute("data-state", "checked")
    # Too long is refused with a clear message (the server's limit, not only the field's).
    a.page.evaluate("document.querySelector('#task-input').removeAttribute('maxlength')")
    a.page.fill("#task-input", "x" * 201)
    a.page.click("#task-add")
    expect(a.page.locator("#task-error")).to_contain_text("too long")
    # The same list inside a room.
    host_room(a, app_server.database_url, "Solo")
    expect(a.page.locator("#task-list .task")).to_have_count(2)
    a.page.locator("#task-list .task").filter(has_text="Email tutor about exam").locator(".task-delete").click()
    expect(a.page.locator("#task-list .task")).to_have_count(1)


def test_member_who_left_is_not_sent_the_room_chat(student, app_server):
    a = student("Stayer Sue", at=None)
    room_id = host_room(a, app_server.database_url, "Private talk")
    b = student("Leaver Leo", at=f"/rooms/{room_id}")
    send(a.page, "before you left")
    expect(b.page.locator("#chat-messages .chat-message")).to_have_count(1)
    b.page.click("#leave-room")
    b.page.wait_for_url("**/lobby")
    expect(a.page.locator("#participant-list .participant")).to_have_count(1)
    secret = f"secret {uuid.uuid4().hex[:8]}"
    send(a.page, secret)
    # B reloads: nothing of the room's newest chat may reach B's browser.
    frames: list[str] = []
    cdp = b.context.new_cdp_session(b.page)
    cdp.send("Network.enable")
    cdp.on("Network.webSocketFrameReceived", lambda e: frames.append(e["response"]["payloadData"]))
    b.page.reload()
    b.page.wait_for_selector("#hydrated", state="attached")
    expect(b.page.locator("#task-list")).to_be_attached()
    assert frames, "no frames captured"
    assert_stays(lambda: not any(secret in f or "before you left" in f for f in frames), 1.0,
                 message="the room's chat reached a member who left")


def test_load_older_history_without_gaps(student, app_server):
    a = student(f"Historian {uuid.uuid4().hex[:4]}", timezone_id="UTC", at=None)
    room_id = host_room(a, app_server.database_url, "Long history")
    b = student(at=f"/rooms/{room_id}")
    uid = db_rows(app_server, "select id from users where display_name = ?", a.name)[0][0]
    # 70 older messages, written straight to the DB
    db_peek.execute_many(app_server.database_url,
                         "insert into chat_messages (channel, user_id, body, created_at) values (?, ?, ?, ?)",
                         [(f"room:{room_id}", uid, f"old {i:02d}", "2026-01-05 09:00:00") for i in range(70)])
    a.page.reload()
    a.page.wait_for_selector("#hydrated", state="attached")
    rows = a.page.locator("#chat-messages .chat-message")
    expect(rows).to_have_count(50)
    assert bodies(a.page)[0] == "old 20"
    assert a.page.locator(".chat-time").first.inner_text().strip() == "5 Jan, 09:00"  # another day: with date
    a.page.click("#chat-load-older")
    expect(rows).to_have_count(70)
    expect(a.page.locator("#chat-load-older")).to_have_count(0)  # the beginning is reached
    # New messages keep arriving below the loaded history, none missing, none twice.
    send(b.page, "fresh one")
    expect(rows).to_have_count(71)
    assert bodies(a.page) == [f"old {i:02d}" for i in range(70)] + ["fresh one"]


def test_crafted_calls_are_refused(app_server):
    """Protocol level: what a modified client could send to the chat and task handlers."""
    from sessions_app.state.chat import RoomBoard, RoomBoardUi
    from sessions_app.state.lobby import LobbyState
    from tests.e2e.test_realtime_protocol import db_room

    board, ui, lobby_chat = RoomBoard.get_full_name(), RoomBoardUi.get_full_name(), LobbyChatState.get_full_name()
    url, dburl = app_server.url, app_server.database_url

    def message_ids(body: str) -> list[int]:
        return [r[0] for r in db_rows(app_server, "select id from chat_messages where body = ?", body)]

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Crafty Host")
        member_id, member_token = protocol_user(dburl, "Crafty Member")
        _, outsider_token = protocol_user(dburl, "Crafty Outsider")
        room_id, code = db_room(dburl, host_id, private=True, name="Crafted")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        member = ReflexClient(url, member_token)
        await member.open("/lobby")
        await member.call(f"{LobbyState.get_full_name()}.set_join_code", value=code)
        await member.call(f"{LobbyState.get_full_name()}.join_by_code")
        assert await eventually(lambda: db_rows(app_server, "select id from room_members where room_id = ? and user_id = ?",
                                                room_id, member_id)), "the join by code was not recorded"
        await settle([host, member])
        await member.close()
        member = ReflexClient(url, member_token)
        await member.open(path, query)
        outsider = ReflexClient(url, outsider_token)
        await outsider.open(path, query)  # refused: a private room without its code
        assert await eventually(lambda: member.values(board, "messages")), "the member's room never loaded"
        await settle([host, member, outsider])

        # One frame per message reaches the other member.
        before = len(member.values(board, "chat_event"))
        await host.call(f"{ui}.send", form={"body": "host says"})
        await host.call(f"{board}.add_task", form={"text": "host goal"})
        # Two clients' events are not ordered with each other: the host's must be in first.
        assert await eventually(lambda: "host says" in member.text() and "host goal" in member.text())
        await settle([host, member])
        await member.call(f"{ui}.send", form={"body": "member says"})
        await member.call(f"{LobbyChatState.get_full_name()}.send", form={"body": "member in lobby"})
        assert await eventually(lambda: len(member.values(board, "chat_event")) >= before + 2
                                and [m.body for m in host.chat(board)] == ["host says", "member says"]
                                and message_ids("member in lobby")), "a post did not arrive"
        await settle([host, member, outsider])  # so an extra frame would have arrived too
        # Exactly one chat change per post reached the member: the host's post, its own.
        assert len(member.values(board, "chat_event")) == before + 2
        assert [m.body for m in host.chat(board)] == ["host says", "member says"]
        host_msg, member_msg = message_ids("host says")[0], message_ids("member says")[0]
        task_id = db_rows(app_server, "select id from tasks where room_id = ?", room_id)[0][0]

        # The outsider: posting, deleting, adding tasks in a room it is not in; deleting in the lobby.
        await outsider.call(f"{ui}.send", form={"body": "outsider says"})
        await outsider.call(f"{board}.delete_message", message_id=host_msg)
        await outsider.call(f"{board}.add_task", form={"text": "outsider goal"})
        await outsider.call(f"{board}.delete_task", task_id=task_id)
        await outsider.call(f"{ui}.load_older")
        await outsider.call(f"{lobby_chat}.delete_message", message_id=message_ids("member in lobby")[0])
        # The member (not host): deleting the host's message, changing the host's task.
        await member.call(f"{board}.delete_message", message_id=host_msg)
        await member.call(f"{board}.set_task_done", task_id=task_id, done=True)
        await member.call(f"{ui}.start_task_edit", task_id=task_id)
        await member.call(f"{board}.save_task_edit", form={"text": "hijacked"})
        await member.call(f"{board}.delete_task", task_id=task_id)
        assert await eventually(lambda: outsider.last(ui, "chat_error") == "Join the room first."
                                and member.last(ui, "chat_error") == "You can only delete your own messages."
                                and "not yours" in member.last(ui, "task_error", "")), "a refusal never came"
        await settle([host, member, outsider])  # the rest of the crafted calls are answered too
        assert message_ids("outsider says") == []
        assert message_ids("host says") == [host_msg] and message_ids("member in lobby")
        assert db_rows(app_server, "select text, done from tasks where room_id = ?", room_id) == [("host goal", 0)]
        assert outsider.last(ui, "chat_error") == "Join the room first."
        assert member.last(ui, "chat_error") == "You can only delete your own messages."
        assert "NOT_FOUND" not in member.text() and "not yours" in member.last(ui, "task_error", "")
        # The outsider never received the room's chat or tasks.
        assert "host says" not in outsider.text() and "host goal" not in outsider.text()

        # The host may remove the member's message; everyone in the room sees it go.
        await host.call(f"{board}.delete_message", message_id=member_msg)
        assert await eventually(lambda: [m.body for m in member.chat(board)] == ["host says"]), "the delete never came"
        await settle([host, member, outsider])
        assert message_ids("member says") == []
        assert [m.body for m in member.chat(board)] == ["host says"]
        for c in (host, member, outsider):
            await c.close()

    run(scenario())
