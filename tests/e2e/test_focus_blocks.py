"""Focus blocks in two real browsers: a goal per block seen by the other member, the question
after the block the server ends, the private log on the profile; quiet focus — the post box
gives way to reactions during focus, a crafted post is refused on the server, the host opens
chat, and reactions reach the other browser live.

The app runs with TIME_SCALE=60; the goal test moves the app's clock to a second before the
block's end (``skip_to_phase_end``) and the server ends it. ``E2E_SCREENSHOTS=<dir>`` saves
desktop and 375 px screenshots.
"""

from __future__ import annotations

import asyncio
import time

from playwright.sync_api import Page, expect
from sqlmodel import select

from sessions_app.models import BlockGoal, ChatMessage, ChatReaction, Room
from sessions_app.services import chat, quiet_focus, rooms
from sessions_app.state.block_goals import BlockGoalUi, RoomGoals
from sessions_app.state.chat import RoomBoard, RoomBoardUi
from sessions_app.state.quiet_focus import RoomQuiet, RoomQuietUi
from tests.e2e.conftest import assert_stays, goto, host_room
from tests.e2e.test_realtime_protocol import db_room
from tests.e2e.test_rooms import skip_to_phase_end
from tests.e2e.test_sessions import shoot
from tests.support.factories import app_db
from tests.support.protocol import ReflexClient, eventually, protocol_user, run, settle

BOARD, BOARD_UI = RoomBoard.get_full_name(), RoomBoardUi.get_full_name()
QUIET, QUIET_UI = RoomQuiet.get_full_name(), RoomQuietUi.get_full_name()


def goal_of(page: Page, user_id: int):
    return page.locator(f"#participant-list .participant[data-user-id='{user_id}'] .participant-goal")


def send_chat(page: Page, text: str) -> None:
    page.fill("#chat-input", text)
    page.click("#chat-send")
    expect(page.locator("#chat-input")).to_have_value("")


def test_goal_seen_by_the_room_outcome_asked_after_the_block_and_logged(student, app_server, app_clock):
    host = student("Host Hana", at=None)
    room_id = host_room(host, app_server.database_url, "Goal room", focus=15, short=10, long=10, cycles=2)
    guest = student("Guest Gil", at=f"/rooms/{room_id}")
    for p in (host.page, guest.page):
        expect(p.locator("#participant-list .participant")).to_have_count(2)

    # Before the block: each sets one intention; the other browser shows it under the name.
    host.page.fill("#block-goal-input", "Prove lemma 3 <b>bold?</b>")
    host.page.click("#block-goal-save")
    expect(host.page.locator("#block-goal-input")).to_have_value("")
    expect(goal_of(guest.page, host.user_id)).to_have_text("Prove lemma 3 <b>bold?</b>")  # text, not HTML
    guest.page.fill("#block-goal-input", "Read chapter 2")
    guest.page.click("#block-goal-save")
    expect(goal_of(host.page, guest.user_id)).to_have_text("Read chapter 2")
    # A second save replaces the goal: still one line per member.
    host.page.fill("#block-goal-input", "Prove lemma 3")
    host.page.press("#block-goal-input", "Enter")
    expect(goal_of(guest.page, host.user_id)).to_have_text("Prove lemma 3")
    expect(guest.page.locator(".participant-goal")).to_have_count(2)
    expect(host.page.locator("#block-outcome")).to_have_count(0)

    host.page.click("#timer-start")
    expect(guest.page.locator("#timer-phase")).to_have_text("focus")
    shoot(guest.page, "goals-during-focus")
    skip_to_phase_end(app_server, app_clock, room_id)
    # The server ends the block: both are asked about their own goal; the goal lines clear.
    for p, goal in ((host.page, "Prove lemma 3"), (guest.page, "Read chapter 2")):
        expect(p.locator("#timer-phase")).to_have_text("short break", timeout=10_000)
        expect(p.locator("#block-outcome")).to_be_visible()
        expect(p.locator("#block-outcome-goal")).to_contain_text(goal)
        expect(p.locator(".participant-goal")).to_have_count(0)
    shoot(host.page, "goals-outcome")
    # A reload asks again (the question is read from the database, not only pushed).
    goto(guest.page, f"/rooms/{room_id}")
    expect(guest.page.locator("#block-outcome-goal")).to_contain_text("Read chapter 2")
    host.page.click("#block-outcome-done")
    expect(host.page.locator("#block-outcome")).to_have_count(0)
    expect(host.page.locator("#block-outcome-saved")).to_contain_text("done")
    expect(guest.page.locator("#block-outcome")).to_be_visible()  # the guest's is their own
    guest.page.click("#block-outcome-partly")
    expect(guest.page.locator("#block-outcome")).to_have_count(0)

    # The private log on each profile: date, room, goal, outcome, minutes.
    goto(host.page, "/profile")
    entries = host.page.locator("#block-log .block-log-entry")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("Prove lemma 3")
    expect(entries.first).to_contain_text("Goal room")
    expect(entries.first).to_contain_text("15 min")
    expect(entries.first.locator(".block-log-outcome")).to_have_text("done")
    expect(host.page.locator("#block-log")).not_to_contain_text("Read chapter 2")  # the guest's is private
    shoot(host.page, "goals-profile-log")
    goto(guest.page, "/profile")
    expect(guest.page.locator("#block-log .block-log-entry .block-log-outcome")).to_have_text("partly")


def test_quiet_focus_reactions_crafted_post_refused_and_host_opens_chat(student, app_server):
    host = student("Host Quinn", at=None)
    room_id = host_room(host, app_server.database_url, "Quiet room", focus=60, short=3, long=10, cycles=2)
    guest = student("Guest Rae", at=f"/rooms/{room_id}")
    expect(host.page.locator("#participant-list .participant")).to_have_count(2)
    send_chat(guest.page, "Starting lemma 3 now")
    expect(host.page.locator(".chat-message .chat-body").filter(has_text="Starting lemma 3 now")).to_have_count(1)

    host.page.click("#timer-start")
    # During focus the post box gives way to the quiet note, in both browsers.
    for p in (host.page, guest.page):
        expect(p.locator("#timer-phase")).to_have_text("focus")
        expect(p.locator("#chat-quiet")).to_be_visible()
        expect(p.locator("#chat-input")).to_have_count(0)
    expect(guest.page.locator("#chat-focus-open")).to_have_count(0)  # the host's switch only

    # A member reacts; the host's browser shows the count live; the host's reaction makes 2.
    message = guest.page.locator(".chat-message").filter(has_text="Starting lemma 3 now")
    message.locator(".chat-react-open").click()
    guest.page.locator(".chat-react-option[data-emoji='thumbs']").click()
    on_host = host.page.locator(".chat-message").filter(has_text="Starting lemma 3 now")
    expect(on_host.locator(".chat-reaction[data-emoji='thumbs']")).to_contain_text("1")
    on_host.locator(".chat-reaction[data-emoji='thumbs']").click()
    expect(message.locator(".chat-reaction[data-emoji='thumbs'] .chat-reaction-count")).to_have_text("2")
    expect(on_host.locator(".chat-reaction[data-emoji='thumbs']")).to_have_attribute("data-mine", "true")
    shoot(guest.page, "quiet-focus-reactions")
    # Clicking your own reaction again takes it back (once per member and emoji).
    message.locator(".chat-reaction[data-emoji='thumbs']").click()
    expect(on_host.locator(".chat-reaction[data-emoji='thumbs'] .chat-reaction-count")).to_have_text("1")

    # A crafted post over the protocol, by a member, is refused with a clear message; a
    # member's crafted switch is refused too, and nothing changes for the browsers.
    url, dburl = app_server.url, app_server.database_url

    async def crafted() -> None:
        _, token = protocol_user(dburl, "Crafty Member")
        member = ReflexClient(url, token)
        await member.open(f"/rooms/{room_id}", {"room_id": str(room_id)})
        await poll(lambda: member.last(BOARD, "room_id") == room_id and member.last(QUIET, "room_id") == room_id)
        await member.call(f"{BOARD_UI}.send", form={"body": "crafted during focus"})
        await poll(lambda: member.last(BOARD_UI, "chat_error") == quiet_focus.QUIET)
        await member.call(f"{QUIET}.set_focus_chat", open_=True)
        await poll(lambda: member.last(QUIET_UI, "error") == quiet_focus.HOST_ONLY)
        assert "crafted during focus" not in member.text()
        await member.close()

    run(crafted())
    with app_db(dburl) as db:
        bodies = db.exec(select(ChatMessage.body).where(ChatMessage.channel == chat.room_channel(room_id))).all()
        assert bodies == ["Starting lemma 3 now"]
        assert db.get(Room, room_id).focus_chat_open is False
    assert_stays(lambda: guest.page.locator("#chat-input").count() == 0, 1.0, message="chat opened by a member")

    # The host opens chat during focus: the other browser gets the post box and posts.
    host.page.click("#chat-focus-open")
    expect(guest.page.locator("#chat-input")).to_be_visible()
    expect(guest.page.locator("#chat-quiet")).to_have_count(0)
    send_chat(guest.page, "chat is open in focus now")
    expect(host.page.locator(".chat-message .chat-body").filter(has_text="chat is open in focus now")).to_have_count(1)
    shoot(host.page, "quiet-focus-host-opened")
    # And quiets it again.
    host.page.click("#chat-focus-open")
    expect(guest.page.locator("#chat-quiet")).to_be_visible()


async def poll(condition, limit: float = 20.0) -> None:
    """Wait for a condition on received frames (fails after ``limit`` seconds)."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.1)


def test_a_goal_or_a_reaction_is_one_small_frame_per_member_and_outsiders_get_nothing(app_server):
    """Protocol level: each change goes out as ONE broadcast carrying only the small list that
    changed; a crafted save or reaction from someone outside the room changes nothing."""
    goals, goal_ui = RoomGoals.get_full_name(), BlockGoalUi.get_full_name()
    url, dburl = app_server.url, app_server.database_url

    async def scenario() -> None:
        host_id, host_token = protocol_user(dburl, "Frame Host")
        room_id, code = db_room(dburl, host_id, private=True, name="Frames")
        path, query = f"/rooms/{room_id}", {"room_id": str(room_id)}
        host = ReflexClient(url, host_token)
        await host.open(path, query)
        members = []
        for i in range(3):
            uid, token = protocol_user(dburl, f"Frame Member {i}")
            with app_db(dburl) as db:  # admitted as by the code (the join itself is tested elsewhere)
                rooms.enter(db, room_id=room_id, user_id=uid, code=code)
            members.append(ReflexClient(url, token))
        await asyncio.gather(*(m.open(path, query) for m in members))
        _, outsider_token = protocol_user(dburl, "Frame Outsider")
        outsider = ReflexClient(url, outsider_token)
        await outsider.open(path, query)  # refused: a private room without its code
        everyone = [host, *members, outsider]
        assert await eventually(lambda: all(m.values(BOARD, "messages") for m in [host, *members])), "a load never came"
        await settle(everyone, quiet=1.0)
        await host.call(f"{BOARD_UI}.send", form={"body": "react to me"})
        assert await eventually(lambda: all("react to me" in m.text() for m in [host, *members])), "the post was missed"
        await settle(everyone, quiet=1.0)
        message_id = host.chat(BOARD)[-1].id

        for m in everyone:
            m.frames.clear()
        await host.call(f"{goals}.save", form={"goal": "Chapter 4 proofs"})
        assert await eventually(lambda: all(m.frames for m in members)), "a member missed the goal"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        for m in members:
            assert len(m.frames) == 1, m.frames
            assert list(m.frames[0]["delta"][goals]) == ["goals_rx_state_"]
            assert m.frames[0]["delta"][goals]["goals_rx_state_"] == [{"user_id": host_id, "text": "Chapter 4 proofs"}]
        for m in everyone:
            m.frames.clear()
        await members[0].call(f"{QUIET}.react", message_id=message_id, key="party")
        assert await eventually(lambda: all(m.frames for m in [host, *members[1:]])), "a member missed the reaction"
        await settle(everyone, quiet=1.0)  # so a second frame would have arrived too
        for m in [host, *members[1:]]:
            assert len(m.frames) == 1, m.frames
            assert m.frames[0]["delta"][QUIET]["reactions_rx_state_"] == [
                {"message_id": message_id, "key": "party", "emoji": "🎉", "count": 1}]
        # The outsider heard none of it, and its crafted calls change nothing.
        assert outsider.frames == [] and "Chapter 4 proofs" not in outsider.text()
        for m in everyone:
            m.frames.clear()
        await outsider.call(f"{goals}.save", form={"goal": "sneaking in"})
        await outsider.call(f"{QUIET}.react", message_id=message_id, key="heart")
        await outsider.call(f"{goal_ui}.answer", goal_id=1, outcome="done")
        assert await eventually(lambda: outsider.last(goal_ui, "goal_error") == "Join the room first."
                                and outsider.last(QUIET_UI, "error") == "Join the room first."
                                and "not yours" in outsider.last(goal_ui, "outcome_error", "")), "a refusal never came"
        await settle(everyone, quiet=1.0)  # where a change would have arrived, it has
        assert outsider.last(goal_ui, "goal_error") == "Join the room first."
        assert outsider.last(QUIET_UI, "error") == "Join the room first."
        assert "not yours" in outsider.last(goal_ui, "outcome_error")  # the host's goal id
        assert all(len(m.frames) == 0 for m in [host, *members])
        await asyncio.gather(*(m.close() for m in everyone))

    run(scenario())
    with app_db(dburl) as db:
        assert [g.text for g in db.exec(select(BlockGoal)).all() if g.text == "sneaking in"] == []
        assert [r.emoji for r in db.exec(select(ChatReaction)).all() if r.emoji == "heart"] == []
