"""``/``: what Sessions is and how it works."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import page, panel
from sessions_app.state.auth import AuthState


def _step(icon: str, title: str, text: str) -> rx.Component:
    return panel(
        rx.vstack(
            rx.icon(icon, size=28, color=rx.color("accent", 10)),
            rx.heading(title, size="4"),
            rx.text(text, color_scheme="gray"),
            spacing="2",
        )
    )


def landing() -> rx.Component:
    """The landing page."""
    return page(
        rx.vstack(
            rx.badge("Study together, live", radius="full", variant="soft", size="2"),
            rx.heading("Focus is easier when someone studies with you.", size="9", line_height="1.1",
                       max_width="48rem"),
            rx.text(
                "Sessions puts you in a room with other students and one shared Pomodoro timer that "
                "reads the same on every screen. Chat in the breaks, write down what this block is for, "
                "and earn experience and streaks for every focus block you really sit through.",
                size="4", color_scheme="gray", max_width="42rem",
            ),
            rx.cond(
                AuthState.logged_in,
                rx.link(rx.button("Go to the lobby", size="4", id="cta-lobby"), href=routes.LOBBY),
                rx.hstack(
                    rx.link(rx.button("Start studying — it's free", size="4", id="cta-signup"), href=routes.SIGNUP),
                    rx.link(rx.button("Log in", size="4", variant="outline"), href=routes.LOGIN),
                    spacing="3", wrap="wrap",
                ),
            ),
            spacing="5", padding_y=["2rem", "4rem"],
        ),
        rx.heading("How it works", size="6"),
        rx.grid(
            _step("door-open", "Open or join a room",
                  "Public rooms by discipline, or a private room with a 6-letter code for your study group."),
            _step("timer", "Share one timer",
                  "The host starts the Pomodoro. Focus and breaks change for everyone at the same second."),
            _step("list-checks", "Say what this block is for",
                  "Keep a short task list. Room objectives are visible to everyone: gentle accountability."),
            _step("flame", "Earn EXP and streaks",
                  "Every focus block you sit through earns EXP. Study every day to keep your streak."),
            _step("calendar-days", "Schedule learning sessions",
                  "“Linear algebra, Tuesday 12:00–12:47, 6 places”: meet people who want to learn the same thing."),
            _step("shield-check", "Private by design",
                  "Only participants see who is coming, the meeting link and the chat."),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="4", width="100%",
        ),
    )


PAGE = dict(route=routes.HOME, component=landing, title="Sessions — study together, live",
            on_load=AuthState.load_optional)
