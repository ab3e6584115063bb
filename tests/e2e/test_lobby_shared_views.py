"""Lobby tabs share one copy of the chat tail and the room cards on the server
(``state.lobby_shared``), and their sockets skip Reflex's Starlette stacks
(``realtime.socket_path``): every tab must still show exactly what a fresh load shows — after
live messages, a reload, a dropped connection and a room opening."""

from __future__ import annotations

import uuid

from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto, host_room
from tests.e2e.test_chat_tasks import (
    COUNT_SOCKETS_JS,
    CUT_SOCKETS_JS,
    TRACK_SOCKETS_JS,
    bodies,
    send,
)

LOBBY_CHAT = "#lobby-chat-messages"


def chat(page: Page) -> list[str]:
    return bodies(page, LOBBY_CHAT)


def cards(page: Page) -> list[tuple[str, str]]:
    """(room id, count) of every room card shown."""
    shown = page.locator(".room-card")
    return [(shown.nth(i).get_attribute("data-room-id"), shown.nth(i).locator(".room-count").inner_text().strip())
            for i in range(shown.count())]


def test_lobby_tabs_show_what_a_fresh_load_shows_after_posts_reloads_and_a_dropped_socket(student, app_server):
    tag = uuid.uuid4().hex[:6]
    a, b = student("Shared Sia"), student("Shared Sol", at=None)
    b.context.add_init_script(TRACK_SOCKETS_JS)
    goto(b.page, "/lobby")
    first = [f"{tag} first {i}" for i in range(3)]
    for text in first:
        send(a.page, text, "lobby-")
    expect(b.page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=first[-1])).to_have_count(1)

    # Two fresh tabs load the same tail (one list on the server): both show it, as A and B do.
    c, d = student("Fresh Fay"), student("Fresh Fin")
    for page in (c.page, d.page):
        expect(page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=first[-1])).to_have_count(1)
    assert chat(a.page) == chat(b.page) == chat(c.page) == chat(d.page)
    assert chat(a.page)[-3:] == first

    # A new message reaches the tabs that share the old list, and a reload shows it too.
    send(c.page, f"{tag} from C", "lobby-")
    for page in (a.page, b.page, d.page):
        expect(page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=f"{tag} from C")).to_have_count(1)
    d.page.reload()
    d.page.wait_for_selector("#hydrated", state="attached")
    expect(d.page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=f"{tag} from C")).to_have_count(1)
    assert chat(d.page) == chat(a.page) == chat(c.page)

    # B's socket drops (a new one opens by itself; its load re-reads the tail) while A posts.
    b.context.set_offline(True)
    opened = b.page.evaluate(COUNT_SOCKETS_JS)
    assert b.page.evaluate(CUT_SOCKETS_JS) == 1
    send(a.page, f"{tag} while B was away", "lobby-")
    b.context.set_offline(False)
    expect(b.page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=f"{tag} while B was away")).to_have_count(
        1, timeout=30_000)
    assert b.page.evaluate(COUNT_SOCKETS_JS) > opened
    send(b.page, f"{tag} B is back", "lobby-")
    expect(a.page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=f"{tag} B is back")).to_have_count(1)
    e = student("Fresh Eve")
    expect(e.page.locator(f"{LOBBY_CHAT} .chat-message").filter(has_text=f"{tag} B is back")).to_have_count(1)
    assert chat(b.page) == chat(a.page) == chat(e.page)

    # A room opens: the card reaches every tab live, and equals a fresh load's. (Its first
    # entry is the host's page load; the sweeper may have rebuilt the room's store before it,
    # ``live.rooms._tell_rebuilt``.)
    host = student("Host Hal", at=None)
    room_id = host_room(host, app_server.database_url, f"Shared {tag}")
    for page in (a.page, b.page, e.page):
        expect(page.locator(f'.room-card[data-room-id="{room_id}"] .room-count')).to_have_text("1")
    f = student("Fresh Flo")
    expect(f.page.locator(f'.room-card[data-room-id="{room_id}"] .room-count')).to_have_text("1")
    assert cards(a.page) == cards(b.page) == cards(e.page) == cards(f.page)
    assert chat(f.page) == chat(a.page)
