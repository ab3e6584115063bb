"""The progression part of ``/profile``: stat tiles, streaks and the focus heatmap."""

from __future__ import annotations

import reflex as rx

from sessions_app.components.layout import panel
from sessions_app.state.progression import ProgressionState

CELL = "11px"
GAP = "3px"
# Heatmap colours for buckets 0–4: empty glass, then the violet accent from dark to bright.
HEAT_COLORS = ["rgba(255, 255, 255, 0.06)", "#3b0764", "#5b21b6", "#7c3aed", "#a78bfa"]
FROZEN_RING = "#7dd3fc"
WEEKDAY_LABELS = ["", "Mon", "", "Wed", "", "Fri", ""]  # rows run Sunday → Saturday


def _tile(icon: str, label: str, value: rx.Component, detail: rx.Component | None = None) -> rx.Component:
    """One stat: an icon and label above a big number."""
    return panel(
        rx.vstack(
            rx.hstack(rx.icon(icon, size=16, color=rx.color("accent", 10)),
                      rx.text(label, size="1", color_scheme="gray"), align="center", spacing="2"),
            rx.hstack(value, detail or rx.fragment(), align="baseline", spacing="2", wrap="wrap"),
            spacing="1",
        )
    )


def stat_tiles() -> rx.Component:
    """Focus hours, focus blocks completed and the current (and best) streak."""
    return rx.grid(
        _tile("clock", "Focus hours",
              rx.heading(ProgressionState.focus_hours_label, size="7", id="profile-focus-hours")),
        _tile("circle-check", "Focus blocks",
              rx.heading(ProgressionState.blocks_completed, size="7", id="profile-blocks")),
        _tile(
            "flame", "Current streak",
            rx.heading(rx.el.span(ProgressionState.current_streak, id="profile-streak"),
                       rx.text.span(rx.cond(ProgressionState.current_streak == 1, " day", " days"),
                                    size="3", weight="regular"),
                       size="7"),
            rx.text("best ", rx.el.span(ProgressionState.best_streak, id="profile-best-streak"),
                    size="2", color_scheme="gray"),
        ),
        columns=rx.breakpoints(initial="1", xs="3"),
        spacing="4",
        width="100%",
    )


def _cell(day) -> rx.Component:
    """One day of the heatmap; its tooltip is the native ``title``."""
    return rx.box(
        title=day.tooltip,
        aria_label=day.tooltip,
        class_name="heat-cell",
        custom_attrs={"data-date": day.date, "data-level": day.level, "data-minutes": day.minutes,
                      "data-frozen": day.frozen.to(str)},
        width=CELL,
        height=CELL,
        border_radius="2px",
        background=rx.Var.create(HEAT_COLORS)[day.level],
        # A day a streak freeze bridged: an ice-blue ring (inset, so the grid does not move).
        box_shadow=rx.cond(day.frozen, f"inset 0 0 0 1.5px {FROZEN_RING}", "none"),
    )


def _small(text) -> rx.Component:
    return rx.text(text, size="1", color_scheme="gray", line_height=CELL, white_space="nowrap",
                   style={"font_size": "10px"})


def heatmap_grid() -> rx.Component:
    """Month labels, weekday labels and 7 × 53 day squares (one column per week)."""
    months = rx.box(
        rx.foreach(ProgressionState.month_labels, lambda m: rx.box(_small(m), width=CELL, overflow="visible")),
        display="grid",
        grid_template_columns=f"repeat(53, {CELL})",
        column_gap=GAP,
        margin_bottom="4px",
    )
    weekdays = rx.box(
        *[_small(label) for label in WEEKDAY_LABELS],
        display="grid",
        grid_template_rows=f"repeat(7, {CELL})",
        row_gap=GAP,
        width="28px",
        flex_shrink="0",
    )
    cells = rx.box(
        rx.foreach(ProgressionState.heatmap, _cell),
        id="heatmap-grid",
        aria_label="Focus minutes per day over the last year",
        display="grid",
        grid_template_rows=f"repeat(7, {CELL})",
        grid_auto_flow="column",  # the list starts on a Sunday, so each column is one week
        grid_auto_columns=CELL,
        gap=GAP,
    )
    return rx.box(
        rx.box(months, margin_left="28px"),
        rx.hstack(weekdays, cells, spacing="0", align="start"),
        direction="ltr",
        width="max-content",
        # A month that begins in the newest week is labelled over the last column: room for the
        # label to run past it (the scroll box clipped "Dec" to "De").
        padding_right="16px",
    )


def legend() -> rx.Component:
    """Less □□□□□ More."""
    return rx.hstack(
        rx.text("Less", size="1", color_scheme="gray"),
        *[rx.box(width=CELL, height=CELL, border_radius="2px", background=color) for color in HEAT_COLORS],
        rx.text("More", size="1", color_scheme="gray"),
        spacing="1", align="center", justify="end", width="100%", id="heatmap-legend",
    )


def heatmap_panel() -> rx.Component:
    """The GitHub-style focus heatmap, scrollable sideways on a phone."""
    return panel(
        rx.vstack(
            rx.heading("Focus over the last year", size="4"),
            rx.box(
                heatmap_grid(),
                # Right-to-left scrolling starts the view at the newest weeks on a narrow screen.
                direction="rtl",
                overflow_x="auto",
                width="100%",
                padding_bottom="4px",
            ),
            legend(),
            spacing="3",
            width="100%",
        ),
        id="heatmap",
        min_width="0",
    )


def stats_section() -> rx.Component:
    """Lifetime stats, streaks and the heatmap of the logged-in student."""
    return rx.vstack(stat_tiles(), heatmap_panel(), spacing="5", width="100%", id="profile-stats")
