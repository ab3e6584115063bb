"""The original product's session URLs, sent on to today's: ``/session/create`` →
``/sessions/new`` and ``/session/<id>/edit`` → ``/sessions/<id>/edit`` (old bookmarks and links
keep working). The target page does its own checks (login, who may edit)."""

from __future__ import annotations

import reflex as rx

from sessions_app import realtime, routes


class LegacyRoutesState(rx.State):
    """Redirects only; holds nothing."""

    @rx.event
    def to_session_new(self):
        """on_load of ``/session/create``."""
        return rx.redirect(routes.SESSION_NEW, replace=True)

    @rx.event
    def to_session_edit(self):
        """on_load of ``/session/<id>/edit``: the same session's edit page (a malformed id: the list)."""
        raw = str(realtime.route_param(self, "session_id") or "")
        if not raw.isascii() or not raw.isdigit() or len(raw) > 12:
            return rx.redirect(routes.SESSIONS, replace=True)
        return rx.redirect(routes.session_edit(int(raw)), replace=True)
