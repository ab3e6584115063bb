"""``/verify-email``, ``/forgot-password``, ``/reset-password`` and the "confirm your email"
notes shown on the lobby and the settings page."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import field, form_card, form_outcome, panel
from sessions_app.state.auth import AuthState
from sessions_app.state.recovery import RecoveryState


def _messages() -> rx.Component:
    return form_outcome(RecoveryState.error, RecoveryState.message)


def verify_banner() -> rx.Component:
    """On the lobby: a short note for a logged-in student whose address is unconfirmed."""
    return rx.cond(
        AuthState.logged_in & ~RecoveryState.email_verified,
        rx.callout(
            rx.text("Please confirm your email address: we mailed you a link. ",
                    rx.link("Send a new link", href=routes.SETTINGS), "."),
            icon="mail", color_scheme="amber", id="verify-banner", width="100%",
        ),
    )


def verify_panel() -> rx.Component:
    """On the settings page: the address's status and "send a new link"."""
    return panel(
        rx.vstack(
            rx.heading("Email address", size="4"),
            rx.cond(
                RecoveryState.email_verified,
                rx.text(rx.cond(RecoveryState.has_email, "Confirmed.", "Your account has no email address."),
                        id="verify-status", data_verified="true", size="2"),
                rx.vstack(
                    rx.text("Not confirmed yet. Open the link we mailed you; until then, a login with GitHub, Google or "
                            "another provider using this address cannot be joined to your account.",
                            id="verify-status", data_verified="false", size="2"),
                    rx.button(rx.icon("mail"), "Send a new link", id="resend-verification", variant="outline",
                              on_click=RecoveryState.resend_verification),
                    spacing="3",
                ),
            ),
            rx.cond(RecoveryState.error != "",
                    rx.text(RecoveryState.error, id="verify-error", color_scheme="red", size="2", role="alert")),
            rx.cond(RecoveryState.message != "",
                    rx.text(RecoveryState.message, id="verify-message", color_scheme="green", size="2",
                            role="status")),
            spacing="3",
        )
    )


def verify_email() -> rx.Component:
    """The page a verification link opens."""
    return form_card(
        "Confirm your email", "The link you opened from our mail.",
        _messages(),
        rx.cond(AuthState.logged_in,
                rx.link(rx.button("Go to the lobby", width="100%"), href=routes.LOBBY, width="100%"),
                rx.link(rx.button("Log in", width="100%"), href=routes.LOGIN, width="100%")),
    )


def forgot_password() -> rx.Component:
    """Ask for a reset link."""
    return form_card(
        "Forgot your password?", "Enter your account's email; we will mail you a link to set a new password.",
        _messages(),
        rx.form(
            rx.vstack(
                field("Email", rx.input(id="forgot-email", name="email", type="email", placeholder="you@example.com",
                                        auto_complete="email", required=True, width="100%", size="3")),
                rx.button("Send the link", id="forgot-submit", type="submit", width="100%", size="3"),
                spacing="3", width="100%",
            ),
            on_submit=RecoveryState.request_reset, reset_on_submit=False, width="100%",
        ),
        rx.text("Remembered it? ", rx.link("Log in", href=routes.LOGIN), size="2"),
    )


def reset_password() -> rx.Component:
    """Set a new password from a reset link."""
    return form_card(
        "Set a new password", "Every login of your account ends when you change it.",
        _messages(),
        rx.cond(
            RecoveryState.reset_valid,
            rx.form(
                rx.vstack(
                    field("New password", rx.input(id="reset-password", name="password", type="password",
                                                   auto_complete="new-password", required=True, width="100%",
                                                   size="3"),
                          "At least 10 characters; a few unrelated words work well."),
                    rx.button("Set password", id="reset-submit", type="submit", width="100%", size="3"),
                    spacing="3", width="100%",
                ),
                on_submit=RecoveryState.reset_password, reset_on_submit=True, width="100%",
            ),
        ),
        rx.cond(RecoveryState.reset_done,
                rx.link(rx.button("Log in", id="reset-login", width="100%"), href=routes.LOGIN, width="100%"),
                rx.text("Need a new link? ", rx.link("Request one", href=routes.FORGOT_PASSWORD), size="2")),
    )


PAGES = [
    dict(route=routes.VERIFY_EMAIL, component=verify_email, title="Confirm your email · Sessions",
         on_load=[AuthState.load_optional, RecoveryState.load_verify]),
    dict(route=routes.FORGOT_PASSWORD, component=forgot_password, title="Forgot password · Sessions",
         on_load=[AuthState.load_optional, RecoveryState.load_forgot]),
    dict(route=routes.RESET_PASSWORD, component=reset_password, title="New password · Sessions",
         on_load=[AuthState.load_optional, RecoveryState.load_reset]),
]
