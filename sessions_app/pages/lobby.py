"""``/lobby``: the logged-in home (live rooms, lobby chat, personal tasks, your stats)."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import page, panel
from sessions_app.state.auth import AuthState


def lobby() -> rx.Component:
    """The lobby page."""
    return page(
        rx.heading("Lobby", size="7"),
        panel(rx.text("Welcome, ", AuthState.display_name, ".")),
    )


PAGE = dict(route=routes.LOBBY, component=lobby, title="Lobby · Sessions", on_load=AuthState.require_login)
