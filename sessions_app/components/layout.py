"""The page frame: navigation, the hydration marker, glass panels and form helpers."""

from __future__ import annotations

import reflex as rx

from sessions_app import routes
from sessions_app.state.auth import AuthState

# No ``backdrop-filter`` on panels: they sit on the page's smooth gradients, where a blur
# shows nothing, yet it made the compositor re-blur each panel on every repaint inside it (a
# blinking caret, the timer's tick): measured ~6 % of a core per open tab in software
# rendering (headless Chromium, machines without GPU compositing). The sticky navbar keeps
# its blur: page content scrolls under it.
GLASS = {
    "background": "rgba(255, 255, 255, 0.04)",
    "border": "1px solid rgba(255, 255, 255, 0.08)",
    "border_radius": "16px",
    "box_shadow": "0 8px 32px rgba(0, 0, 0, 0.35)",
}


def panel(*children, **props) -> rx.Component:
    """A glass panel."""
    style = {**GLASS, "padding": "1.25rem", "width": "100%"}
    style.update(props.pop("style", {}))
    return rx.box(*children, style=style, **props)


def hydration_marker() -> rx.Component:
    """``#hydrated`` exists once Reflex state has hydrated (end-to-end tests wait for it)."""
    return rx.cond(rx.State.is_hydrated, rx.box(id="hydrated", display="none"))


def initials(name) -> rx.Var:
    """"Ada Lovelace" → "AL", "Ada" → "Ad" (in the browser: names are stored trimmed, with
    single spaces). Two first letters of a first name made every "Newcomer ..." read "NE"."""
    words = name.to(str).split(" ").to(list[str])
    first, last = words[0].to(str)[:1], words[words.length() - 1].to(str)[:1]
    return rx.cond(words.length() > 1, (first + last).upper(), name.to(str)[:2])


def avatar(name, url, size: str = "2") -> rx.Component:
    """A user's avatar with their initials as the fallback."""
    return rx.avatar(src=url, fallback=initials(name), size=size, radius="full")


def level_chip(level) -> rx.Component:
    """A small 'Lv 3' badge."""
    return rx.badge(rx.text("Lv ", level), variant="soft", radius="full")


def user_menu() -> rx.Component:
    """The logged-in user's name, level, and links to profile/settings/logout."""
    return rx.hstack(
        rx.link(
            rx.hstack(
                avatar(AuthState.display_name, AuthState.avatar_url, size="2"),
                rx.vstack(
                    rx.text(AuthState.display_name, id="user-menu", weight="medium", size="2",
                            max_width=["6rem", "12rem"], truncate=True),
                    rx.hstack(
                        rx.text("Lv ", AuthState.level, size="1", color_scheme="gray", id="nav-level"),
                        rx.progress(value=(AuthState.level_progress * 100).to(int), width="4rem", size="1"),
                        align="center", spacing="2",
                    ),
                    spacing="0",
                ),
                align="center", spacing="2",
            ),
            href=routes.PROFILE, underline="none", color="inherit",
        ),
        # On a phone the navigation menu (#nav-menu) holds Profile and Settings instead.
        rx.box(
            rx.menu.root(
                rx.menu.trigger(rx.icon_button(rx.icon("chevron-down", size=16), variant="ghost", aria_label="Account menu")),
                rx.menu.content(
                    rx.menu.item("Profile", on_click=rx.redirect(routes.PROFILE)),
                    rx.menu.item("Settings", on_click=rx.redirect(routes.SETTINGS)),
                ),
            ),
            display=["none", "block"],
        ),
        rx.button(rx.icon("log-out", size=16), rx.text("Log out", display=["none", "none", "inline"]),
                  id="logout", variant="ghost", color_scheme="gray", on_click=AuthState.log_out),
        align="center", spacing="2",
    )


def nav_menu() -> rx.Component:
    """``#nav-menu``: the page links behind one button on a phone (below 480 px), where the
    inline links do not fit beside the account menu."""
    return rx.menu.root(
        rx.menu.trigger(
            rx.icon_button(rx.icon("menu", size=18), variant="ghost", color_scheme="gray",
                           id="nav-menu", aria_label="Navigation menu"),
        ),
        rx.menu.content(
            rx.menu.item(rx.icon("layout-grid", size=14), "Lobby", id="nav-menu-lobby",
                         on_click=rx.redirect(routes.LOBBY)),
            rx.menu.item(rx.icon("calendar", size=14), "Sessions", id="nav-menu-sessions",
                         on_click=rx.redirect(routes.SESSIONS)),
            rx.menu.separator(),
            rx.menu.item(rx.icon("user", size=14), "Profile", on_click=rx.redirect(routes.PROFILE)),
            rx.menu.item(rx.icon("settings", size=14), "Settings", on_click=rx.redirect(routes.SETTINGS)),
        ),
    )


def navbar() -> rx.Component:
    """The top navigation: inline links from 480 px up, a menu button on a phone."""
    link = lambda text, href, id: rx.link(text, href=href, id=id, color="inherit", underline="none", weight="medium", size="2")  # noqa: E731
    return rx.hstack(
        rx.cond(AuthState.logged_in, rx.box(nav_menu(), display=["block", "none"])),
        rx.link(
            rx.hstack(rx.icon("timer", color=rx.color("accent", 10)), rx.heading("Sessions", size=rx.breakpoints(initial="4", xs="5")),
                      align="center", spacing="2"),
            href=routes.HOME, underline="none", color="inherit",
        ),
        rx.cond(
            AuthState.logged_in,
            rx.hstack(link("Lobby", routes.LOBBY, "nav-lobby"), link("Sessions", routes.SESSIONS, "nav-sessions"),
                      spacing="4", display=["none", "flex"]),
        ),
        rx.spacer(),
        rx.cond(
            AuthState.logged_in,
            user_menu(),
            rx.hstack(
                rx.link(rx.button("Log in", variant="ghost"), href=routes.LOGIN),
                rx.link(rx.button("Sign up"), href=routes.SIGNUP),
                # (a ghost button's negative margins lifted "Log in" above the other's line)
                spacing="2", align="center",
            ),
        ),
        id="navbar", width="100%", align="center", padding_x=["1rem", "1.5rem"], padding_y="0.75rem",
        position="sticky", top="0", z_index="10",
        style={"backdrop_filter": "blur(12px)", "background": "rgba(10, 10, 18, 0.6)",
               "border_bottom": "1px solid rgba(255,255,255,0.06)"},
    )


def page(*children, max_width: str = "72rem") -> rx.Component:
    """The frame every page uses."""
    return rx.box(
        hydration_marker(),
        navbar(),
        rx.box(
            rx.vstack(*children, spacing="5", width="100%"),
            max_width=max_width, margin_x="auto", padding=["1rem", "1.5rem"], width="100%",
        ),
        min_height="100vh",
        style={"background": "radial-gradient(1200px 600px at 10% -10%, rgba(124,58,237,0.18), transparent),"
                             "radial-gradient(900px 500px at 110% 10%, rgba(45,212,191,0.10), transparent),"
                             "#0b0b12"},
    )


def _refused(message, id_: str) -> rx.Component:
    return rx.cond(message != "", rx.callout(message, icon="triangle-alert", color_scheme="red", id=id_,
                                             role="alert", width="100%"))


def form_error(message) -> rx.Component:
    """``#form-error``: a clear message when something was refused."""
    return _refused(message, "form-error")


def form_notice(message, id_: str) -> rx.Component:
    """``#<id_>``: why the visitor is here (e.g. logged out elsewhere), shown only while set."""
    return rx.cond(message != "", rx.callout(message, icon="info", color_scheme="amber", id=id_, role="status",
                                             width="100%"))


def form_outcome(error, message, *, prefix: str = "form") -> rx.Component:
    """A form's outcome: ``#<prefix>-error`` when something was refused, ``#<prefix>-message``
    when it went well (each shown only while set)."""
    return rx.fragment(
        _refused(error, f"{prefix}-error"),
        rx.cond(message != "", rx.callout(message, icon="check", color_scheme="green", id=f"{prefix}-message",
                                          role="status", width="100%")),
    )


def field(label: str, control: rx.Component, hint: str = "") -> rx.Component:
    """A labelled form control."""
    return rx.vstack(
        rx.text(label, as_="label", size="2", weight="medium"),
        control,
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray")),
        spacing="1", width="100%",
    )


def form_card(title: str, subtitle: str, *children) -> rx.Component:
    """A narrow centred card with a title: the login, sign-up and email-link pages."""
    return page(
        rx.center(
            panel(
                rx.vstack(rx.heading(title, size="7"), rx.text(subtitle, color_scheme="gray"), *children,
                          spacing="4", width="100%"),
                max_width="26rem",
            ),
            width="100%", padding_top=["1rem", "4rem"],
        ),
    )
