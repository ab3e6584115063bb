"""Pages that only redirect: the original product's ``/session/...`` URLs (see
``state/legacy_routes.py``)."""

import reflex as rx

from sessions_app import routes
from sessions_app.components.layout import form_card
from sessions_app.state.legacy_routes import LegacyRoutesState


def moving_on() -> rx.Component:
    """Shown for the moment before the redirect."""
    return form_card("This page has moved", "Taking you there…", rx.spinner(size="3"))


PAGES = [
    dict(route=routes.LEGACY_SESSION_CREATE, component=moving_on, title="Sessions",
         on_load=LegacyRoutesState.to_session_new),
    dict(route=routes.LEGACY_SESSION_EDIT, component=moving_on, title="Sessions",
         on_load=LegacyRoutesState.to_session_edit),
]
