"""``/sessions/new`` and ``/sessions/[session_id]/edit``: plan or edit a scheduled session."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import field, form_error, page, panel
from sessions_app.state.scheduled.form import SessionFormState


def _invalid(name: str):
    """Mark the field the server refused, so the eye finds it next to the message."""
    return rx.cond(SessionFormState.error_field == name, "true", "false")


def session_form_body() -> rx.Component:
    """The form fields; values are validated again on the server."""
    s = SessionFormState
    return rx.form(
        rx.vstack(
            form_error(s.form_error),
            field("Topic", rx.input(id="session-title", name="title", value=s.title, on_change=lambda v: s.set_field("title", v),
                                    placeholder="Linear algebra: eigenvalues", max_length=120, size="3",
                                    width="100%", required=True, aria_invalid=_invalid("title")),
                  "Any topic, up to 120 characters."),
            field("Description", rx.text_area(id="session-description", name="description", value=s.description,
                                              on_change=lambda v: s.set_field("description", v), max_length=1000, rows="4",
                                              placeholder="What you will work on, what to bring.", width="100%",
                                              aria_invalid=_invalid("description")),
                  "Optional, up to 1000 characters."),
            field("Meeting link", rx.input(id="session-link", name="link", value=s.link, on_change=lambda v: s.set_field("link", v),
                                           type="url", placeholder="https://discord.gg/…", max_length=500,
                                           width="100%", aria_invalid=_invalid("link")),
                  "Optional. Only people who joined see it."),
            rx.grid(
                field("Date", rx.input(id="session-date", name="date", type="date", value=s.date,
                                       on_change=lambda v: s.set_field("date", v), width="100%", required=True,
                                       aria_invalid=_invalid("date"))),
                field("Starts", rx.input(id="session-start", name="start", type="time", value=s.start,
                                         on_change=lambda v: s.set_field("start", v), width="100%", required=True,
                                         aria_invalid=_invalid("start"))),
                field("Ends", rx.input(id="session-end", name="end", type="time", value=s.end,
                                       on_change=lambda v: s.set_field("end", v), width="100%", required=True,
                                       aria_invalid=_invalid("end"))),
                columns=rx.breakpoints(initial="1", sm="3"), spacing="3", width="100%",
            ),
            rx.text(rx.icon("globe", size=13, display="inline", margin_right="0.3rem"),
                    "Times are in ", rx.el.strong(s.tz, id="session-form-timezone"),
                    ". Everyone else sees them in their own time zone. At most 12 hours.",
                    size="1", color_scheme="gray"),
            field("Places", rx.input(id="session-capacity", name="capacity", type="number", value=s.capacity,
                                     on_change=lambda v: s.set_field("capacity", v), min="1", max="1000", step="1",
                                     placeholder="Unlimited", width="12rem", aria_invalid=_invalid("capacity")),
                  "How many people can join besides you: 1 to 1000, or empty for unlimited. When full, newcomers join a waitlist."),
            rx.hstack(
                rx.button(rx.cond(s.is_edit, "Save changes", "Plan session"), id="session-submit", type="submit",
                          size="3", loading=s.busy),
                rx.button("Cancel", type="button", variant="ghost", color_scheme="gray", size="3",
                          on_click=rx.call_script("history.back()")),
                spacing="3",
            ),
            spacing="4", width="100%",
        ),
        on_submit=s.submit,
        reset_on_submit=False,
        width="100%",
    )


def session_form() -> rx.Component:
    """Shared by the new and edit routes."""
    s = SessionFormState
    return page(
        rx.link(rx.hstack(rx.icon("arrow-left", size=16), rx.text("All sessions"), align="center", spacing="1"),
                href=routes.SESSIONS, size="2", color_scheme="gray"),
        rx.heading(rx.cond(s.is_edit, "Edit session", "Plan a session"), size="7"),
        panel(
            rx.cond(
                s.blocked,
                rx.vstack(form_error(s.form_error),
                          rx.link("Back to all sessions", href=routes.SESSIONS), spacing="3"),
                session_form_body(),
            )
        ),
        max_width="44rem",
    )


PAGES = [
    dict(route=routes.SESSION_NEW, component=session_form, title="Plan a session · Sessions",
         on_load=SessionFormState.load_new),
    dict(route=routes.SESSION_EDIT, component=session_form, title="Edit session · Sessions",
         on_load=SessionFormState.load_edit),
]
