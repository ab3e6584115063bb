"""Forgiving streaks on ``/settings`` (start of day, weekly goal) and ``/profile`` (this week's
goal, the streak freeze, personal bests). Rendering only: ``state/streaks.py`` holds the data."""

from __future__ import annotations

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import field, form_outcome, panel
from sessions_app.services.streaks import DAY_START_CHOICES, WEEKLY_GOAL_MAX
from sessions_app.state.streaks import StreaksState

_NATIVE_CONTROL = {"width": "100%", "padding": "0.55rem", "border_radius": "8px", "background": "rgba(255,255,255,0.05)",
                   "color": "inherit", "border": "1px solid rgba(255,255,255,0.15)", "font_size": "16px"}
ICE = "#7dd3fc"  # the freeze's colour: one cool note beside the violet accent


def settings_panel() -> rx.Component:
    """The start of day and the weekly goal, saved together."""
    return panel(
        rx.vstack(
            rx.heading("Streaks and weekly goal", size="4"),
            rx.text("Study late? Let your day start later: with 04:00, a block at 01:30 counts for the day "
                    "before. One missed day a week is bridged by a streak freeze, automatically.",
                    color_scheme="gray", size="2"),
            rx.grid(
                field("Start of day", rx.el.select(
                    *[rx.el.option(choice, value=choice) for choice in DAY_START_CHOICES],
                    id="settings-day-start", value=StreaksState.day_start_draft,
                    on_change=StreaksState.set_day_start_draft, style=_NATIVE_CONTROL,
                ), "Between 00:00 and 06:00."),
                field("Weekly focus goal (minutes)", rx.input(
                    id="settings-weekly-goal", type="number", input_mode="numeric", min=0, max=WEEKLY_GOAL_MAX,
                    step=5, value=StreaksState.weekly_goal_draft, on_change=StreaksState.set_weekly_goal_draft,
                    width="100%", size="3",
                ), "0 for no goal; 300 is five hours."),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="4", width="100%",
            ),
            form_outcome(StreaksState.error, StreaksState.message, prefix="settings-streaks"),
            rx.button("Save", id="settings-streaks-save", on_click=StreaksState.save),
            spacing="3", width="100%",
        )
    )


def _weekly_goal() -> rx.Component:
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("target", size=16, color=rx.color("accent", 10)),
                      rx.text("This week", size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.heading(StreaksState.goal_label, size="5", id="profile-weekly-goal-label"),
            rx.cond(
                StreaksState.weekly_goal > 0,
                rx.vstack(
                    rx.progress(value=StreaksState.goal_percent, width="100%", aria_label="Weekly goal progress"),
                    rx.text(StreaksState.goal_percent, "% of your weekly goal",
                            rx.cond(StreaksState.goal_percent >= 100, " — done, well played.", ""),
                            size="2", color_scheme="gray"),
                    spacing="2", width="100%",
                ),
                rx.text("No weekly goal yet. ", rx.link("Set one in Settings", href=routes.SETTINGS), ".",
                        size="2", color_scheme="gray"),
            ),
            spacing="2", width="100%",
        ),
        id="profile-weekly-goal",
        custom_attrs={"data-minutes": StreaksState.week_minutes, "data-goal": StreaksState.weekly_goal,
                      "data-percent": StreaksState.goal_percent},
    )


def _freezes() -> rx.Component:
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("snowflake", size=16, color=ICE),
                      rx.text("Streak freeze", size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.cond(
                StreaksState.freeze_available,
                rx.heading("Ready this week", size="5"),
                rx.heading("Used on ", StreaksState.freeze_used_label, size="5"),
            ),
            rx.text(
                "One a week bridges a missed day by itself.",
                rx.cond(StreaksState.freezes_in_streak > 0,
                        rx.text.span(" Your streak lived through ", StreaksState.freezes_in_streak,
                                     rx.cond(StreaksState.freezes_in_streak == 1, " missed day.", " missed days.")),
                        ""),
                " Your day starts at ", StreaksState.day_start, ".",
                size="2", color_scheme="gray",
            ),
            spacing="2", width="100%",
        ),
        id="profile-freezes",
        custom_attrs={"data-available": StreaksState.freeze_available.to(str),
                      "data-in-streak": StreaksState.freezes_in_streak},
    )


def _best(label: str, value, detail, id_: str) -> rx.Component:
    """One row: the label on the left, the value (and when) on the right."""
    return rx.hstack(
        rx.text(label, size="2", color_scheme="gray", white_space="nowrap"),
        rx.spacer(),
        rx.vstack(
            rx.text(value, weight="bold", size="3", id=id_, white_space="nowrap"),
            rx.text(detail, size="1", color_scheme="gray", white_space="nowrap") if detail is not None else rx.fragment(),
            spacing="0", align="end",
        ),
        width="100%", align="start",
    )


def _bests() -> rx.Component:
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("trophy", size=16, color=rx.color("amber", 10)),
                      rx.text("Personal bests", size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.vstack(
                _best("Longest streak", rx.text.span(StreaksState.best_streak,
                                                     rx.cond(StreaksState.best_streak == 1, " day", " days")),
                      None, "profile-best-streak-days"),
                _best("Best week", StreaksState.best_week_minutes_label, StreaksState.best_week_label,
                      "profile-best-week"),
                _best("Best day", StreaksState.best_day_minutes_label, StreaksState.best_day_label, "profile-best-day"),
                spacing="2", width="100%",
            ),
            spacing="3", width="100%",
        ),
        id="profile-bests",
    )


def profile_section() -> rx.Component:
    """This week's goal, the freeze and personal bests, side by side (stacked on a phone)."""
    return rx.grid(
        _weekly_goal(), _freezes(), _bests(),
        columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%",
    )
