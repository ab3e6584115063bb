"""``/profile`` and ``/settings``."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.focus_blocks import block_log_section
from sessions_app.components.layout import avatar, form_outcome, page, panel
from sessions_app.components.mood import cosmetics_panel
from sessions_app.pages.recovery import verify_panel
from sessions_app.state.account import AccountState
from sessions_app.state.auth import AuthState
from sessions_app.state.block_goals import BlockLogState
from sessions_app.state.mood import CosmeticState
from sessions_app.state.progression import ProgressionState
from sessions_app.state.recovery import RecoveryState
from sessions_app.state.streaks import StreaksState

COMMON_ZONES = ["UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
                "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
                "America/Sao_Paulo", "Asia/Kolkata", "Asia/Shanghai", "Asia/Tokyo", "Asia/Singapore",
                "Australia/Sydney", "Africa/Lagos", "Africa/Nairobi"]


def _messages() -> rx.Component:
    return form_outcome(AccountState.error, AccountState.message)


def _stat(label: str, value, id_: str) -> rx.Component:
    return panel(rx.vstack(rx.text(label, size="1", color_scheme="gray"), rx.heading(value, size="6", id=id_),
                           spacing="1"))


def profile_header() -> rx.Component:
    """Avatar, name, level and progress to the next level."""
    return panel(
        rx.hstack(
            avatar(AuthState.display_name, AuthState.avatar_url, size="7"),
            rx.vstack(
                rx.heading(AuthState.display_name, size="7", id="profile-name"),
                rx.hstack(
                    rx.badge(rx.text("Level ", rx.el.span(AuthState.level, id="profile-level")), size="2"),
                    rx.text(rx.el.span(AuthState.exp_total, id="profile-exp"), " EXP", size="2"),
                    align="center", spacing="3",
                ),
                rx.progress(value=(AuthState.level_progress * 100).to(int), width="16rem", max_width="100%"),
                rx.text(AuthState.exp_to_next, " EXP to level ", AuthState.level + 1, size="1", color_scheme="gray"),
                spacing="2",
            ),
            spacing="5", align="center", wrap="wrap",
        )
    )


def name_form() -> rx.Component:
    """Edit the display name."""
    return panel(
        rx.vstack(
            rx.heading("Display name", size="4"),
            rx.hstack(
                rx.input(id="display-name-input", value=AccountState.name_draft, on_change=AccountState.set_name_draft,
                         max_length=80, width="100%", size="3"),
                rx.button("Save", id="display-name-save", on_click=AccountState.save_name, size="3"),
                width="100%",
            ),
            spacing="3",
        )
    )


def _password_input(label: str, name: str, autocomplete: str) -> rx.Component:
    return rx.vstack(
        rx.text(label, as_="label", html_for=f"password-{name}", size="2", weight="medium"),
        rx.input(id=f"password-{name}", name=name, type="password", auto_complete=autocomplete, required=True,
                 width="100%", size="3"),
        spacing="1", width="100%",
    )


def password_form() -> rx.Component:
    """Change the password (the current one first); other devices are logged out."""
    return panel(
        rx.form(
            rx.vstack(
                rx.heading("Password", size="4"),
                rx.text("Changing it logs you out everywhere else.", color_scheme="gray", size="2"),
                _password_input("Current password", "current", "current-password"),
                _password_input("New password", "password", "new-password"),
                _password_input("New password again", "confirm", "new-password"),
                form_outcome(AccountState.password_error, AccountState.password_message, prefix="password"),
                rx.button("Change password", type="submit", id="password-save", size="3"),
                spacing="3", width="100%", max_width="28rem",
            ),
            on_submit=AccountState.change_password,
            reset_on_submit=True,
            id="password-form",
        )
    )


def profile() -> rx.Component:
    """The profile page."""
    from sessions_app.pages.stats import stats_section  # the progression part of the profile
    from sessions_app.pages.streaks import profile_section  # weekly goal, freeze, personal bests

    return page(profile_header(), _messages(), name_form(), stats_section(), profile_section(), block_log_section(),
                max_width="56rem")


def settings() -> rx.Component:
    """The settings page."""
    from sessions_app.pages.streaks import settings_panel as streaks_settings_panel

    return page(
        rx.heading("Settings", size="7"),
        _messages(),
        verify_panel(),
        cosmetics_panel(),
        panel(
            rx.vstack(
                rx.heading("Time zone", size="4"),
                rx.text("Streak days and times are shown in this zone. Your browser's zone is used at sign-up.",
                        color_scheme="gray", size="2"),
                rx.hstack(
                    rx.select(COMMON_ZONES, value=AccountState.timezone_draft, on_change=AccountState.set_timezone_draft,
                              id="timezone-select"),
                    rx.input(value=AccountState.timezone_draft, on_change=AccountState.set_timezone_draft,
                             placeholder="Area/City", id="timezone-input", max_length=64),
                    rx.button("Save", on_click=AccountState.save_timezone, id="timezone-save"),
                    wrap="wrap",
                ),
                form_outcome(AccountState.timezone_error, AccountState.timezone_message, prefix="timezone"),
                spacing="3",
            )
        ),
        streaks_settings_panel(),
        password_form(),
        panel(
            rx.vstack(
                rx.heading("Your data", size="4"),
                rx.text("Download everything Sessions stores about you, as JSON.", color_scheme="gray", size="2"),
                rx.button(rx.icon("download"), "Download my data", id="export-data", variant="outline",
                          on_click=AccountState.export),
                spacing="3",
            )
        ),
        panel(
            rx.vstack(
                rx.heading("Delete account", size="4", color_scheme="red"),
                rx.text("This removes your account, tasks, messages, room memberships, notes and EXP for good. "
                        "Rooms you host pass to the next participant.", color_scheme="gray", size="2"),
                rx.cond(
                    AccountState.confirm_open,
                    rx.hstack(
                        rx.text("Are you sure? This cannot be undone.", weight="bold"),
                        rx.button("Yes, delete everything", id="delete-account-confirm", color_scheme="red",
                                  on_click=AccountState.delete_account),
                        rx.button("Cancel", variant="soft", on_click=AccountState.open_confirm(False)),
                        wrap="wrap", align="center",
                    ),
                    rx.button("Delete my account", id="delete-account", color_scheme="red", variant="outline",
                              on_click=AccountState.open_confirm(True)),
                ),
                spacing="3",
            ),
            style={"border": "1px solid rgba(239,68,68,0.35)"},
        ),
        max_width="48rem",
    )


PAGES = [
    dict(route=routes.PROFILE, component=profile, title="Profile · Sessions",
         on_load=[AccountState.load, ProgressionState.load, StreaksState.load_profile, BlockLogState.load]),
    dict(route=routes.SETTINGS, component=settings, title="Settings · Sessions",
         on_load=[AccountState.load, RecoveryState.load_status, StreaksState.load_settings, CosmeticState.load]),
]
