"""``/sessions/[session_id]``: one scheduled session.

Anyone sees the topic, the time (in their own zone), the description and the places left.
Participants also see who is coming, the meeting link and, from 15 minutes before the start,
the session chat; from the start to the end they enter the session's live room. After the
end, participants leave notes; public notes show here. Places, status and edits update live
(see ``state.scheduled.detail``); a cancel shows as a banner.
"""

import reflex as rx

from sessions_app import routes
from sessions_app.components.call import call_panel
from sessions_app.components.chat import message_row
from sessions_app.components.chat_feed import chat_feed
from sessions_app.components.layout import avatar, form_error, page, panel
from sessions_app.components.on_change import on_change
from sessions_app.services.chat import MAX_BODY
from sessions_app.services.scheduled import CHAT_OPENS_BEFORE
from sessions_app.state.auth import AuthState
from sessions_app.state.scheduled.common import NoteView, ParticipantView
from sessions_app.state.scheduled.detail import SessionDetailState
from sessions_app.state.session_chat import TAIL, SessionChatState

CHAT_OPENS_MINUTES = int(CHAT_OPENS_BEFORE.total_seconds() // 60)

S = SessionDetailState
C = SessionChatState


def _status_badge() -> rx.Component:
    return rx.match(
        S.status,
        ("live", rx.badge(rx.icon("radio", size=12), "Live now", color_scheme="green", radius="full", size="2")),
        ("cancelled", rx.badge("Cancelled", color_scheme="red", radius="full", size="2")),
        ("ended", rx.badge("Ended", color_scheme="gray", radius="full", size="2")),
        rx.badge("Upcoming", variant="soft", radius="full", size="2"),
    )


def _places() -> rx.Component:
    return rx.hstack(
        rx.icon("users", size=16),
        rx.cond(
            S.places_left >= 0,
            rx.text(rx.el.span(S.places_left, id="session-places-left"),
                    rx.cond(S.places_left == 1, " place left", " places left"), size="3"),
            rx.text(rx.el.span("Unlimited", id="session-places-left"), " places", size="3"),
        ),
        rx.cond((S.places_left == 0) & S.joinable, rx.text("· waitlist open", size="3", color_scheme="gray")),
        align="center", spacing="2",
    )


def _header() -> rx.Component:
    return panel(
        rx.vstack(
            rx.hstack(_status_badge(),
                      rx.cond(S.is_creator, rx.badge("You host this", variant="outline", radius="full", size="2")),
                      rx.cond(S.is_participant & ~S.is_creator,
                              rx.badge("You're in", variant="outline", color_scheme="green", radius="full", size="2")),
                      spacing="2", wrap="wrap"),
            rx.heading(S.title, size="8", id="session-title", style={"overflow_wrap": "anywhere"}),
            rx.hstack(rx.icon("calendar-clock", size=18), rx.text(S.time_text, id="session-time", size="3"),
                      align="center", spacing="2"),
            rx.cond(S.status != "cancelled", _places()),
            rx.cond(S.description != "",
                    rx.text(S.description, size="3", color=rx.color("gray", 12),
                            style={"white_space": "pre-wrap", "overflow_wrap": "anywhere"},
                            id="session-description-text")),
            spacing="3", width="100%",
        )
    )


def _live_room() -> rx.Component:
    """From the start to the end: the way into the live room (participants and the host)."""
    return rx.cond(
        (S.status == "live") & S.is_participant,
        panel(
            rx.hstack(
                rx.icon("radio", size=22, color=rx.color("green", 10)),
                rx.vstack(
                    rx.text("The session is on now", weight="bold", size="3"),
                    rx.text(rx.cond(S.is_creator,
                                    "Open the live room and start the shared timer when everyone is in.",
                                    "Study together in its live room, on the host's shared timer."),
                            size="2", color_scheme="gray"),
                    spacing="0", flex="1", min_width="12rem",
                ),
                rx.button(rx.icon("door-open", size=16), "Join the live room", id="session-live-room", size="3",
                          color_scheme="green", on_click=S.open_live_room),
                align="center", spacing="3", wrap="wrap", width="100%",
            ),
            style={"border_color": rx.color("green", 7)},
        ),
    )


def _actions() -> rx.Component:
    return rx.hstack(
        rx.cond(
            S.can_join | (~AuthState.logged_in & S.joinable),
            rx.button(rx.icon("user-plus", size=16),
                      rx.cond(S.places_left == 0, "Join the waitlist", "Join"),
                      id="session-join", size="3", on_click=S.join),
        ),
        rx.cond(
            S.can_leave,
            rx.button(rx.cond(S.is_waitlisted, "Leave the waitlist", "Leave"), id="session-leave", size="3",
                      variant="soft", color_scheme="gray", on_click=S.leave),
        ),
        rx.button(rx.icon("calendar-plus", size=16), "Add to calendar (.ics)", id="add-to-calendar",
                  variant="outline", size="3", on_click=S.download_ics),
        rx.cond(
            S.google_link != "",
            rx.link(rx.hstack(rx.icon("external-link", size=14), rx.text("Google Calendar"), align="center", spacing="1"),
                    href=S.google_link, id="google-calendar", is_external=True, size="3",
                    rel="noopener noreferrer"),
        ),
        rx.cond(
            S.can_edit,
            rx.hstack(
                rx.button(rx.icon("pencil", size=16), "Edit", variant="soft", size="3", id="session-edit",
                          on_click=rx.redirect(S.edit_href)),
                rx.cond(
                    S.confirm_cancel,
                    rx.hstack(
                        rx.text("Cancel this session for everyone?", weight="medium"),
                        rx.button("Yes, cancel it", color_scheme="red", id="session-cancel-confirm", on_click=S.cancel),
                        rx.button("Keep it", variant="ghost", on_click=S.open_cancel_confirm(False)),
                        align="center", spacing="2", wrap="wrap",
                    ),
                    rx.button("Cancel session", variant="ghost", color_scheme="red", size="3", id="session-cancel",
                              on_click=S.open_cancel_confirm(True)),
                ),
                spacing="3", wrap="wrap", align="center",
            ),
        ),
        spacing="3", wrap="wrap", align="center", width="100%",
    )


def _notices() -> rx.Component:
    return rx.fragment(
        form_error(S.error),
        rx.cond(S.status == "cancelled",
                rx.callout("This session was cancelled by its host. It will not take place.", icon="calendar-x",
                           color_scheme="red", id="session-cancelled", role="alert", width="100%")),
        rx.cond(S.message != "",
                rx.callout(S.message, icon="check", color_scheme="green", id="session-message", role="status",
                           width="100%")),
        rx.cond(S.is_waitlisted,
                rx.callout(rx.text("You are number ", rx.el.span(S.waitlist_position, id="session-waitlist-position"),
                                   " on the waitlist. You get a place automatically when one frees up."),
                           icon="hourglass", color_scheme="amber", width="100%", id="session-waitlisted")),
        rx.cond(~AuthState.logged_in & S.joinable,
                rx.callout("Log in to join this session and see who is coming.", icon="info", width="100%")),
    )


def _participant(person: ParticipantView) -> rx.Component:
    return rx.hstack(
        avatar(person.display_name, person.avatar_url, size="2"),
        rx.text(person.display_name, size="2", weight="medium"),
        rx.cond(person.is_creator, rx.badge("host", size="1", variant="soft")),
        class_name="participant", align="center", spacing="2",
        padding="0.35rem 0.6rem", border_radius="999px", background="rgba(255,255,255,0.05)",
    )


def _insiders() -> rx.Component:
    """Who is coming and the meeting link: participants only (the vars are empty otherwise)."""
    return rx.cond(
        S.is_participant,
        panel(
            rx.vstack(
                rx.heading("Who is coming", size="4"),
                rx.flex(rx.foreach(S.participants, _participant), id="session-participants", wrap="wrap", gap="2"),
                rx.cond(
                    S.meeting_link != "",
                    rx.hstack(rx.icon("video", size=16), rx.text("Meeting link:", size="2"),
                              rx.link(S.meeting_link, href=S.meeting_link, id="session-link", is_external=True,
                                      rel="noopener noreferrer", style={"overflow_wrap": "anywhere"}),
                              align="center", spacing="2", wrap="wrap"),
                    rx.cond(
                        S.chat_readable,
                        rx.text("No outside meeting link: meet in the call below.", size="2", color_scheme="gray"),
                        rx.cond(S.status == "upcoming",
                                rx.text(f"No outside meeting link: the chat and its call open on this page "
                                        f"{CHAT_OPENS_MINUTES} minutes before the start.", size="2",
                                        color_scheme="gray", id="session-chat-opens")),
                    ),
                ),
                spacing="3", width="100%",
            )
        ),
    )


def _chat() -> rx.Component:
    """The session chat: participants only, from 15 minutes before the start, read-only after
    the end. Messages are text and links (``message_row``), never HTML; new ones and
    deletions arrive as single changes merged by ``chat_feed``."""
    return rx.fragment(rx.cond(
        S.chat_readable,
        panel(
            rx.vstack(
                rx.hstack(
                    rx.icon("messages-square", size=18), rx.heading("Session chat", size="4"),
                    rx.spacer(),
                    rx.cond(S.chat_writable,
                            rx.badge("Open until the end", color_scheme="green", variant="soft", radius="full"),
                            rx.badge("Read-only", color_scheme="gray", variant="soft", radius="full")),
                    align="center", spacing="2", width="100%",
                ),
                rx.auto_scroll(
                    rx.foreach(C.messages, lambda m: message_row(m, (m.user_id == AuthState.user_id) | S.is_creator,
                                                                 C.delete_message)),
                    rx.cond(C.messages.length() == 0,
                            rx.text("No messages yet. Say hello: only the people in this session see the chat.",
                                    size="2", color_scheme="gray", class_name="chat-empty")),
                    id="session-chat-messages", max_height="22rem", min_height="4rem", width="100%",
                    padding_right="0.5rem", role="log", aria_live="polite", aria_label="Session chat",
                ),
                rx.cond(
                    S.chat_writable,
                    rx.form(
                        rx.hstack(
                            rx.text_area(id="session-chat-input", name="body",
                                         placeholder="Message the participants… (Enter sends)", max_length=MAX_BODY,
                                         enter_key_submit=True, auto_height=True, rows="1", width="100%", size="2",
                                         aria_label="Message", style={"max_height": "8rem"}),
                            rx.button(rx.icon("send-horizontal", size=16), id="session-chat-send", type="submit",
                                      size="2", aria_label="Send"),
                            width="100%", align="end", spacing="2",
                        ),
                        on_submit=C.send, reset_on_submit=False, width="100%",
                    ),
                    rx.text("The session has ended: the chat is read-only.", size="2", color_scheme="gray",
                            id="session-chat-closed"),
                ),
                rx.cond(C.error != "", rx.text(C.error, color_scheme="red", size="2", id="session-chat-error",
                                               role="alert")),
                spacing="3", width="100%",
            ),
            id="session-chat",
        ),
    ), chat_feed(C, keep=TAIL, deleted=False))


def _note(note: NoteView) -> rx.Component:
    return rx.box(
        rx.text(note.body, size="2", style={"white_space": "pre-wrap", "overflow_wrap": "anywhere"}),
        rx.text("— ", note.author_name, size="1", color_scheme="gray", margin_top="0.35rem"),
        class_name="session-note", padding="0.75rem", border_radius="12px",
        background="rgba(255,255,255,0.04)", width="100%",
    )


def _notes() -> rx.Component:
    return panel(
        rx.vstack(
            rx.heading("Notes", size="4"),
            rx.cond(
                S.can_write_note,
                rx.vstack(
                    rx.text_area(id="session-note-input", value=S.note_draft, on_change=S.set_note_draft,
                                 placeholder="What did you get done? What is next?", max_length=2000, rows="4",
                                 width="100%"),
                    rx.hstack(
                        rx.hstack(
                            rx.switch(id="session-note-public", checked=S.note_public, on_change=S.set_note_public),
                            # One label whatever the switch says (a label that flips with it
                            # read as the choice's opposite); the hint says what it means now.
                            rx.text("Show on this page", as_="label", html_for="session-note-public", size="2"),
                            rx.text(rx.cond(S.note_public, "(everyone who opens it sees it)", "(only you see it)"),
                                    size="1", color_scheme="gray", id="session-note-visibility"),
                            align="center", spacing="2",
                        ),
                        rx.spacer(),
                        rx.button(rx.cond(S.has_my_note, "Update note", "Save note"), id="session-note-save",
                                  on_click=S.save_note),
                        width="100%", align="center", wrap="wrap", spacing="3",
                    ),
                    spacing="2", width="100%",
                ),
                rx.cond(S.is_participant & (S.status != "ended") & (S.status != "cancelled"),
                        rx.text("After the session you can leave a note here, private or public.", size="2",
                                color_scheme="gray")),
            ),
            rx.vstack(
                rx.foreach(S.notes, _note),
                rx.cond(S.notes.length() == 0, rx.text("No public notes yet.", size="2", color_scheme="gray")),
                id="session-notes", spacing="2", width="100%",
            ),
            spacing="3", width="100%",
        )
    )


def session_detail() -> rx.Component:
    """The session page."""
    return page(
        # Invisible: a broadcast's new revision makes this tab reload what its viewer may see.
        on_change(value=S.live_rev, on_value=S.sync),
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text("All sessions"), align="center", spacing="1"),
                href=routes.SESSIONS, size="2", color_scheme="gray"),
        rx.cond(
            S.found,
            rx.fragment(_header(), _notices(), _live_room(), _actions(), _insiders(),
                        # The call opens with the chat (participants, 15 minutes before the start).
                        rx.cond(S.chat_writable, call_panel("session", S.viewing_id)), _chat(), _notes()),
            rx.cond(
                S.loaded,
                panel(rx.vstack(form_error(S.error), rx.link("See all sessions", href=routes.SESSIONS), spacing="3")),
                rx.hstack(rx.spinner(), rx.text("Loading…", color_scheme="gray"), align="center"),
            ),
        ),
        max_width="52rem",
    )


PAGES = [
    dict(route=routes.SESSION, component=session_detail, title="Session · Sessions", on_load=S.load),
]
