"""The room's timer panel and the lobby's room cards (render only)."""

from __future__ import annotations

import reflex as rx

from sessions_app.components.countdown import countdown
from sessions_app.components.layout import panel
from sessions_app.state.clock import ClockState


def phase_color(phase) -> rx.Var:
    """One colour per phase (accent for focus, calm teal for breaks)."""
    return rx.match(phase, ("focus", "violet"), ("short_break", "teal"), ("long_break", "cyan"), "gray")


def remaining(ends_at, paused_remaining, phase, phase_label, *, main: bool, id: str | None = None, **props) -> rx.Component:
    """A live MM:SS for the given anchors."""
    return countdown(ends_at=ends_at, paused_remaining=paused_remaining, server_now=ClockState.server_now_ms,
                     client_sent=ClockState.client_sent_ms, phase=phase, phase_label=phase_label, main=main,
                     id=id, **props)


def room_card(card) -> rx.Component:
    """A public room in the lobby: name, discipline, live count and timer status."""
    status = rx.cond(
        card.phase == "idle",
        rx.text("not started", size="2", color_scheme="gray"),
        rx.hstack(
            rx.text(card.phase_label, size="2"),
            rx.cond(card.paused_remaining_ms >= 0, rx.text("paused", size="2", color_scheme="amber")),
            remaining(card.ends_at_ms, card.paused_remaining_ms, card.phase, card.phase_label, main=False),
            rx.cond(card.paused_remaining_ms < 0, rx.text("left", size="2", color_scheme="gray")),
            spacing="1", align="center",
        ),
    )
    return rx.link(
        panel(
            rx.vstack(
                rx.hstack(rx.badge(card.discipline, variant="soft"), rx.spacer(),
                          rx.hstack(rx.icon("users", size=14), rx.text(card.count, class_name="room-count", size="2"),
                                    align="center", spacing="1"),
                          width="100%"),
                rx.heading(card.name, size="4", truncate=True, max_width="100%"),
                rx.box(status, class_name="room-status", color=rx.color(phase_color(card.phase), 11)),
                spacing="2", width="100%",
            ),
            style={"_hover": {"border_color": rx.color("accent", 8)}, "transition": "border-color 0.2s"},
        ),
        href="/rooms/" + card.id.to(str), underline="none", color="inherit",
        class_name="room-card", custom_attrs={"data-room-id": card.id}, width="100%",
    )
