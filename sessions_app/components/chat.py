"""The chat panel (room and lobby): a scrolling message list, "load older", an input that
sends on Enter, and a clear error line when the server refuses a message.

Message bodies are rendered as text nodes and ``rx.link``s for the http(s) segments the
server found — never as HTML or markdown. New messages and deletions arrive as single
changes that ``chat_feed`` merges into the list in the browser.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import reflex as rx
from reflex.vars import VarData

from sessions_app.components import focus_blocks
from sessions_app.components.chat_feed import chat_feed
from sessions_app.components.layout import level_chip, panel
from sessions_app.components.mood import bordered_avatar
from sessions_app.services.chat import MAX_BODY, PAGE
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import LobbyChatState, RoomBoard, RoomBoardUi
from sessions_app.state.room import RoomLive


def local_time(ms: rx.Var, tz: rx.Var) -> rx.Var:
    """A message time in the viewer's time zone, formatted by the browser: ``14:05`` today,
    ``3 Nov, 14:05`` on another day (an unknown zone falls back to the browser's own)."""
    js = (
        "((ms, tz) => { const d = new Date(ms); const o = {hour: '2-digit', minute: '2-digit', hour12: false};"
        " const day = {year: 'numeric', month: 'numeric', day: 'numeric'};"
        " const f = (opts) => { try { return d.toLocaleString('en-GB', {...opts, timeZone: tz}); }"
        " catch (e) { return d.toLocaleString('en-GB', opts); } };"
        " let same = true; try { same = new Date().toLocaleDateString('en-GB', {...day, timeZone: tz})"
        " === d.toLocaleDateString('en-GB', {...day, timeZone: tz}); } catch (e) { same = true; }"
        " return same ? f(o) : f({...o, day: 'numeric', month: 'short'}); })"
        f"({ms!s}, {tz!s})"
    )
    return rx.Var(_js_expr=js, _var_type=str,
                  _var_data=VarData.merge(ms._get_all_var_data(), tz._get_all_var_data()))


def _part(part) -> rx.Component:
    return rx.cond(
        part.link,
        rx.link(part.text, href=part.text, is_external=True, rel="noopener noreferrer nofollow",
                style={"overflow_wrap": "anywhere"}),
        rx.text.span(part.text),
    )


def message_row(m, can_delete: rx.Var, on_delete: Callable, extras: Callable | None = None) -> rx.Component:
    """One message: avatar, name, level, local time, the text, and delete where allowed
    (``extras``: what else a message shows, e.g. the room's reactions)."""
    return rx.hstack(
        bordered_avatar(m.author, m.avatar_url, m.border, size="2"),
        rx.vstack(
            rx.hstack(
                rx.text(m.author, weight="bold", size="2", class_name="chat-author cosmetic-name", truncate=True,
                        max_width="12rem", custom_attrs={"data-cosmetic": m.name_color}),
                level_chip(m.level),
                rx.text(local_time(m.created_at_ms, AuthState.timezone), size="1", color_scheme="gray",
                        class_name="chat-time"),
                rx.spacer(),
                rx.cond(
                    can_delete,
                    rx.icon_button(rx.icon("trash-2", size=14), variant="ghost", color_scheme="gray", size="1",
                                   class_name="chat-delete", aria_label="Delete message",
                                   on_click=on_delete(m.id)),
                ),
                align="center", spacing="2", width="100%",
            ),
            rx.text(rx.foreach(m.parts, _part), size="2", class_name="chat-body",
                    style={"white_space": "pre-wrap", "overflow_wrap": "anywhere"}),
            *([extras(m)] if extras else []),
            spacing="1", width="100%", min_width="0",
        ),
        class_name="chat-message", custom_attrs={"data-message-id": m.id}, align="start", spacing="3",
        width="100%", padding_y="0.35rem",
    )


@dataclass
class ChatBindings:
    """What a chat panel shows and calls (room or lobby)."""

    prefix: str  # "" for the room (#chat-*), "lobby-" for the lobby (#lobby-chat-*)
    messages: rx.Var
    deleted_ids: rx.Var
    older: rx.Var
    older_last_id: rx.Var
    older_done: rx.Var
    error: rx.Var
    on_send: Callable
    on_delete: Callable
    on_load_older: Callable
    can_delete: Callable[[rx.Var], rx.Var]
    # Room only: reactions under each message, the header's extra control, and while
    # ``quiet`` is true ``quiet_view`` in place of the composer (quiet focus).
    extras: Callable | None = None
    header_extra: rx.Component | None = None
    quiet: rx.Var | None = None
    quiet_view: rx.Component | None = None


def chat_panel(title: str, b: ChatBindings, *, height: str = "26rem", hint: str = "") -> rx.Component:
    """The chat panel: history, older messages on demand, the composer and its error line."""
    visible = lambda m: ~b.deleted_ids.contains(m.id)  # noqa: E731
    row = lambda m: rx.cond(visible(m), message_row(m, b.can_delete(m), b.on_delete, b.extras))  # noqa: E731
    show_older = ((b.messages.length() >= PAGE) | (b.older.length() > 0)) & ~b.older_done
    composer = rx.form(
        rx.hstack(
            rx.text_area(id=f"{b.prefix}chat-input", name="body", placeholder="Write a message… (Enter sends)",
                         max_length=MAX_BODY, enter_key_submit=True, auto_height=True, rows="1",
                         width="100%", size="2", aria_label="Message",
                         style={"max_height": "8rem", "min_height": "2.5rem"}),
            rx.button(rx.icon("send-horizontal", size=16), id=f"{b.prefix}chat-send", type="submit",
                      size="2", aria_label="Send"),
            width="100%", align="end", spacing="2",
        ),
        on_submit=b.on_send, reset_on_submit=False, width="100%",
    )
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("messages-square", size=18), rx.heading(title, size="4"),
                      *([rx.text(hint, size="1", color_scheme="gray")] if hint else []),
                      *([b.header_extra] if b.header_extra is not None else []),
                      align="center", spacing="2", width="100%"),
            rx.auto_scroll(
                rx.cond(
                    show_older,
                    rx.center(rx.button("Load older", variant="ghost", size="1", on_click=b.on_load_older,
                                        id=f"{b.prefix}chat-load-older"), width="100%"),
                ),
                rx.foreach(b.older, row),
                rx.foreach(b.messages, lambda m: rx.cond(m.id > b.older_last_id, row(m))),
                rx.cond((b.messages.length() == 0) & (b.older.length() == 0),
                        rx.text("No messages yet. Say hello!", size="2", color_scheme="gray",
                                class_name="chat-empty")),
                id=f"{b.prefix}chat-messages", height=height, width="100%", padding_right="0.5rem",
                role="log", aria_label=title,  # a log is a polite live region by itself
            ),
            composer if b.quiet is None else rx.cond(b.quiet, b.quiet_view, composer),
            rx.cond(b.error != "", rx.text(b.error, color_scheme="red", size="2", id=f"{b.prefix}chat-error",
                                           role="alert")),
            spacing="3", width="100%",
        ),
    )


def room_chat_panel() -> rx.Component:
    """The room's chat: members only; the author deletes their own, the host any message."""
    me = AuthState.user_id
    return rx.fragment(chat_feed(RoomBoard, keep=PAGE), chat_panel("Room chat", ChatBindings(
        prefix="", messages=RoomBoard.messages, deleted_ids=RoomBoard.deleted_ids, older=RoomBoardUi.older,
        older_last_id=RoomBoardUi.older_last_id, older_done=RoomBoardUi.older_done, error=RoomBoardUi.chat_error,
        on_send=RoomBoardUi.send, on_delete=RoomBoard.delete_message, on_load_older=RoomBoardUi.load_older,
        can_delete=lambda m: (m.user_id == me) | (RoomLive.host_id == me),
        extras=focus_blocks.reaction_bar, header_extra=focus_blocks.focus_chat_toggle(),
        quiet=focus_blocks.quiet, quiet_view=focus_blocks.quiet_note(),
    )))


def lobby_chat_panel() -> rx.Component:
    """The lobby chat: everyone logged in; authors delete their own messages."""
    L = LobbyChatState  # noqa: N806
    return rx.fragment(chat_feed(L, keep=PAGE), chat_panel("Lobby chat", ChatBindings(
        prefix="lobby-", messages=L.messages, deleted_ids=L.deleted_ids, older=L.older,
        older_last_id=L.older_last_id, older_done=L.older_done, error=L.error, on_send=L.send,
        on_delete=L.delete_message, on_load_older=L.load_older,
        can_delete=lambda m: m.user_id == AuthState.user_id,
    ), height="22rem"))
