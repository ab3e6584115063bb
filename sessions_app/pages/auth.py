"""``/login``, ``/signup`` and ``/auth/complete`` (the end of an OAuth login)."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import field, form_card, form_error, form_notice
from sessions_app.state.auth import AuthState


def _oauth_buttons() -> rx.Component:
    return rx.cond(
        AuthState.oauth_providers.length() > 0,
        rx.vstack(
            rx.hstack(rx.separator(size="4"), rx.text("or", size="1", color_scheme="gray"), rx.separator(size="4"),
                      align="center", width="100%"),
            rx.cond(AuthState.oauth_providers.contains("github"),
                    rx.button(rx.icon("git-branch"), "Continue with GitHub", id="oauth-github", variant="outline",
                              width="100%", on_click=AuthState.oauth_start("github"))),
            rx.cond(AuthState.oauth_providers.contains("google"),
                    rx.button(rx.icon("globe"), "Continue with Google", id="oauth-google", variant="outline",
                              width="100%", on_click=AuthState.oauth_start("google"))),
            rx.cond(AuthState.oauth_providers.contains("facebook"),
                    rx.button(rx.icon("users"), "Continue with Facebook", id="oauth-facebook", variant="outline",
                              width="100%", on_click=AuthState.oauth_start("facebook"))),
            rx.cond(AuthState.oauth_providers.contains("oidc"),
                    rx.button(rx.icon("key-round"), "Continue with ", AuthState.oidc_name, id="oauth-oidc",
                              variant="outline", width="100%", on_click=AuthState.oauth_start("oidc"))),
            width="100%", spacing="3",
        ),
    )


def login() -> rx.Component:
    """The login page."""
    return form_card(
        "Welcome back", "Log in to join your study rooms.",
        form_notice(AuthState.login_notice, "login-notice"),
        form_error(AuthState.form_error),
        rx.form(
            rx.vstack(
                field("Email", rx.input(id="login-email", name="email", type="email", placeholder="you@example.com",
                                        auto_complete="email", required=True, width="100%", size="3")),
                field("Password", rx.input(id="login-password", name="password", type="password",
                                           auto_complete="current-password", required=True, width="100%", size="3")),
                rx.button("Log in", id="login-submit", type="submit", width="100%", size="3"),
                rx.link("Forgot password?", href=routes.FORGOT_PASSWORD, id="forgot-password", size="2"),
                spacing="3", width="100%",
            ),
            on_submit=AuthState.log_in, reset_on_submit=False, width="100%",
        ),
        _oauth_buttons(),
        rx.text("New here? ", rx.link("Create an account", href=routes.SIGNUP), size="2"),
    )


def signup() -> rx.Component:
    """The sign-up page."""
    return form_card(
        "Create your account", "Free. Study with others in a minute.",
        form_error(AuthState.form_error),
        rx.form(
            rx.vstack(
                field("Display name", rx.input(id="signup-name", name="name", placeholder="Ada", max_length=80,
                                               required=True, width="100%", size="3"),
                      "Shown to other students. At most 40 characters."),
                field("Email", rx.input(id="signup-email", name="email", type="email", placeholder="you@example.com",
                                        auto_complete="email", required=True, width="100%", size="3")),
                field("Password", rx.input(id="signup-password", name="password", type="password",
                                           auto_complete="new-password", required=True, width="100%", size="3"),
                      "At least 10 characters; a few unrelated words work well."),
                rx.button("Create account", id="signup-submit", type="submit", width="100%", size="3"),
                spacing="3", width="100%",
            ),
            on_submit=AuthState.sign_up, reset_on_submit=False, width="100%",
        ),
        _oauth_buttons(),
        rx.text("Already have an account? ", rx.link("Log in", href=routes.LOGIN), size="2"),
    )


def auth_complete() -> rx.Component:
    """Shown for a moment while an OAuth login completes."""
    return form_card("Signing you in…", "One moment.", rx.spinner(size="3"))


PAGES = [
    dict(route=routes.LOGIN, component=login, title="Log in · Sessions", on_load=AuthState.load_auth_page),
    dict(route=routes.SIGNUP, component=signup, title="Sign up · Sessions", on_load=AuthState.load_auth_page),
    dict(route=routes.AUTH_COMPLETE, component=auth_complete, title="Signing in · Sessions",
         on_load=AuthState.complete_oauth),
]
