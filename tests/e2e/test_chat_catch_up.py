"""A broadcast that never reaches a browser is caught up from the channel's sequence numbers.

Chromium's WebSocket to the app is routed through Playwright, which drops one server frame:
the chat change carrying a marked message. The next change arrives with a number past the
gap; the page's ``chat_feed`` asks the server for what came after the last number it has
(``catch_up``) and shows the lost message, once, in its place — without a reload.
"""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import WebSocketRoute, expect

from tests.e2e.conftest import goto
from tests.e2e.test_chat_tasks import bodies, send


def test_a_dropped_chat_broadcast_is_caught_up_in_the_browser(student):
    a, b = student("Sender Sam"), student("Lossy Lee", at=None)
    lost = f"this frame is dropped {uuid.uuid4().hex[:6]}"
    dropped: list[str] = []

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message) -> None:
            if isinstance(message, str) and lost in message and "chat_event" in message and not dropped:
                dropped.append(message)  # the network loses it
                return
            ws.send(message)

        server.on_message(from_server)
        ws.on_message(lambda message: server.send(message))

    b.context.route_web_socket(re.compile(r"/_event"), route)
    goto(b.page, "/lobby")  # a new socket, through the route
    before = f"before {uuid.uuid4().hex[:6]}"
    send(a.page, before, "lobby-")
    expect(b.page.locator("#lobby-chat-messages .chat-body").filter(has_text=before)).to_have_count(1)
    send(a.page, lost, "lobby-")
    after = f"after {uuid.uuid4().hex[:6]}"
    send(a.page, after, "lobby-")
    expect(b.page.locator("#lobby-chat-messages .chat-body").filter(has_text=after)).to_have_count(1)
    assert len(dropped) == 1, "the route never saw the marked frame"
    # The gap (the lost number) is noticed and filled from the server, in order, once.
    expect(b.page.locator("#lobby-chat-messages .chat-body").filter(has_text=lost)).to_have_count(1, timeout=10_000)
    shown = bodies(b.page, "#lobby-chat-messages")
    assert shown.index(before) < shown.index(lost) < shown.index(after)
    assert len(shown) == len(set(shown))
    assert bodies(b.page, "#lobby-chat-messages") == bodies(a.page, "#lobby-chat-messages")
