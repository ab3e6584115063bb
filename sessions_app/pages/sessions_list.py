"""``/sessions``: upcoming scheduled sessions (search, "only mine"), past ones, the calendar feed."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import page, panel
from sessions_app.state.scheduled.listing import SessionCardView, SessionsListState

STATUS_BADGES = {
    "live": ("Live now", "green"),
    "cancelled": ("Cancelled", "red"),
    "ended": ("Ended", "gray"),
}


def _status_badge(status) -> rx.Component:
    return rx.match(
        status,
        *[(key, rx.badge(label, color_scheme=color, variant="soft", radius="full"))
          for key, (label, color) in STATUS_BADGES.items()],
        rx.fragment(),
    )


def session_card(card: SessionCardView) -> rx.Component:
    """One session in the list: title, time in the viewer's zone, places, my relation."""
    return rx.box(
        rx.link(
            panel(
                rx.vstack(
                    rx.hstack(
                        rx.heading(card.title, size="4", class_name="session-card-title", flex="1",
                                   style={"overflow_wrap": "anywhere"}),
                        _status_badge(card.status),
                        rx.cond(card.relation != "",
                                rx.badge(card.relation, variant="solid", radius="full", class_name="session-relation")),
                        width="100%", align="start", spacing="2",
                    ),
                    rx.hstack(rx.icon("calendar-clock", size=15), rx.text(card.time_text, size="2", class_name="session-time"),
                              align="center", spacing="2", color=rx.color("gray", 11)),
                    rx.cond(card.description != "",
                            rx.text(card.description, size="2", color_scheme="gray",
                                    style={"white_space": "pre-wrap", "overflow_wrap": "anywhere"})),
                    rx.hstack(rx.icon("users", size=15),
                              # Live: the latest broadcast numbers, else those loaded with the list.
                              rx.text(SessionsListState.live_places.get(card.key, card.places_text), size="2",
                                      class_name="session-places"),
                              align="center", spacing="2"),
                    spacing="2", width="100%",
                ),
                style={"transition": "border-color 120ms ease", "_hover": {"border_color": rx.color("accent", 8)}},
            ),
            href=card.href, underline="none", color="inherit", width="100%",
        ),
        class_name="session-card",
        custom_attrs={"data-session-id": card.id},
        width="100%",
    )


def _section(title: str, items, empty: str, list_id: str | None = None) -> rx.Component:
    return rx.vstack(
        rx.heading(title, size="5"),
        rx.cond(
            items.length() > 0,
            rx.grid(rx.foreach(items, session_card), columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4", width="100%", id=list_id),
            rx.fragment(
                # Keep the list element present (end-to-end tests find it even when empty).
                rx.box(id=list_id) if list_id else rx.fragment(),
                panel(rx.text(empty, color_scheme="gray")),
            ),
        ),
        spacing="3", width="100%",
    )


def _toolbar() -> rx.Component:
    return rx.hstack(
        rx.input(
            rx.input.slot(rx.icon("search", size=16)),
            id="sessions-search", placeholder="Search topics and descriptions", value=SessionsListState.search,
            on_change=SessionsListState.set_search, debounce_timeout=300, max_length=100, size="3",
            flex="1", min_width="14rem",
        ),
        rx.hstack(
            rx.switch(id="filter-mine", checked=SessionsListState.only_mine, on_change=SessionsListState.set_only_mine),
            rx.text("Only mine", as_="label", html_for="filter-mine", size="2"),
            align="center", spacing="2",
        ),
        width="100%", align="center", spacing="4", wrap="wrap",
    )


def _calendar_feed() -> rx.Component:
    return panel(
        rx.vstack(
            rx.hstack(rx.icon("calendar-sync", size=18), rx.heading("Subscribe in your calendar", size="3"),
                      align="center", spacing="2"),
            rx.text("A private link that keeps every session you joined in Google Calendar, Apple Calendar or "
                    "Outlook. Anyone with the link sees those sessions, so keep it to yourself.",
                    size="2", color_scheme="gray"),
            rx.cond(
                SessionsListState.feed_url_once != "",
                rx.vstack(
                    rx.text("Copy it now: it is shown only once.", size="2", weight="medium"),
                    rx.hstack(
                        rx.input(value=SessionsListState.feed_url_once, read_only=True, id="calendar-feed-url",
                                 width="100%"),
                        rx.icon_button(rx.icon("copy", size=16), aria_label="Copy the feed link",
                                       on_click=rx.set_clipboard(SessionsListState.feed_url_once)),
                        width="100%",
                    ),
                    spacing="2", width="100%",
                ),
            ),
            rx.hstack(
                rx.button(rx.cond(SessionsListState.feed_active, "New link (the old one stops working)",
                                  "Create my calendar link"),
                          id="calendar-feed-create", variant="soft", on_click=SessionsListState.create_feed),
                rx.cond(SessionsListState.feed_active,
                        rx.button("Turn off", id="calendar-feed-revoke", variant="ghost", color_scheme="red",
                                  on_click=SessionsListState.revoke_feed)),
                spacing="3", wrap="wrap",
            ),
            spacing="3", width="100%",
        )
    )


def sessions_list() -> rx.Component:
    """The scheduled sessions page."""
    return page(
        rx.hstack(
            rx.vstack(
                rx.heading("Scheduled sessions", size="7"),
                rx.text("Set a date for serious learning and meet the people who signed up.", color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            rx.button(rx.icon("plus", size=16), "Plan a session", id="create-session", size="3",
                      on_click=rx.redirect(routes.SESSION_NEW)),
            width="100%", align="center", wrap="wrap", spacing="3",
        ),
        _toolbar(),
        rx.cond(
            SessionsListState.loaded,
            rx.fragment(
                _section("Upcoming", SessionsListState.upcoming,
                         "No upcoming sessions match. Plan one, or clear the search.", list_id="sessions-list"),
                rx.cond(SessionsListState.past.length() > 0,
                        _section("Past sessions", SessionsListState.past, "", list_id="sessions-past")),
            ),
            rx.hstack(rx.spinner(), rx.text("Loading sessions…", color_scheme="gray"), align="center"),
        ),
        _calendar_feed(),
    )


PAGES = [
    dict(route=routes.SESSIONS, component=sessions_list, title="Scheduled sessions · Sessions",
         on_load=SessionsListState.load),
]
