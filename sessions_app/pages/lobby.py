"""``/lobby``: the logged-in home (live rooms, lobby chat, personal tasks, your stats)."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.chat import lobby_chat_panel
from sessions_app.components.layout import level_chip, page, panel
from sessions_app.components.tasks import personal_tasks_panel
from sessions_app.components.timer import room_card
from sessions_app.pages.recovery import verify_banner
from sessions_app.state.auth import AuthState
from sessions_app.state.chat import LobbyChatState
from sessions_app.state.lobby import ALL, LobbyState
from sessions_app.state.recovery import RecoveryState
from sessions_app.state.tasks import TaskState


def rooms_panel() -> rx.Component:
    """Live public rooms, filterable by discipline."""
    visible = lambda card: (LobbyState.discipline_filter == ALL) | (card.discipline == LobbyState.discipline_filter)  # noqa: E731
    return rx.vstack(
        rx.hstack(
            rx.heading("Live rooms", size="6"),
            rx.spacer(),
            rx.select(LobbyState.disciplines, value=LobbyState.discipline_filter,
                      on_change=LobbyState.set_discipline_filter, id="discipline-filter", aria_label="Discipline"),
            rx.link(rx.button(rx.icon("plus"), "New room", id="create-room"), href=routes.ROOM_NEW),
            width="100%", align="center", wrap="wrap",
        ),
        rx.cond(
            LobbyState.rooms.length() == 0,
            panel(rx.text("No public rooms are open right now. Open one and others will join you.",
                          color_scheme="gray")),
        ),
        rx.grid(
            rx.foreach(LobbyState.rooms, lambda c: rx.cond(visible(c), room_card(c))),
            id="room-list", columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
        ),
        spacing="3", width="100%",
    )


def join_panel() -> rx.Component:
    """Join a private room by its code."""
    return panel(
        rx.vstack(
            rx.heading("Join with a code", size="4"),
            rx.hstack(
                rx.input(id="join-code-input", value=LobbyState.join_code, on_change=LobbyState.set_join_code,
                         placeholder="ALGO7X", max_length=16, width="100%", size="3",
                         style={"text_transform": "uppercase", "letter_spacing": "0.15em"}),
                rx.button("Join", id="join-code-submit", on_click=LobbyState.join_by_code, size="3"),
                width="100%",
            ),
            rx.cond(LobbyState.join_error != "",
                    rx.text(LobbyState.join_error, color_scheme="red", size="2", id="join-code-error", role="alert")),
            spacing="2",
        )
    )


def you_panel() -> rx.Component:
    """The student's level at a glance."""
    return panel(
        rx.hstack(
            rx.vstack(rx.text("Welcome back,", size="2", color_scheme="gray"),
                      rx.heading(AuthState.display_name, size="5"), spacing="0"),
            rx.spacer(),
            rx.vstack(level_chip(AuthState.level),
                      rx.text(AuthState.exp_total, " EXP", size="1", color_scheme="gray"), align="end", spacing="1"),
            width="100%", align="center",
        )
    )


def lobby() -> rx.Component:
    """The lobby page."""
    return page(
        verify_banner(),
        rx.grid(
            rx.box(rooms_panel(), grid_column=rx.breakpoints(initial="auto", md="span 2")),
            rx.vstack(you_panel(), join_panel(), spacing="4", width="100%"),
            rx.box(lobby_chat_panel(), grid_column=rx.breakpoints(initial="auto", md="span 2")),
            personal_tasks_panel(),
            columns=rx.breakpoints(initial="1", md="3"), spacing="5", width="100%",
        ),
    )


PAGE = dict(route=routes.LOBBY, component=lobby, title="Lobby · Sessions",
            on_load=[LobbyState.load, LobbyChatState.load, TaskState.load, RecoveryState.load_status])
