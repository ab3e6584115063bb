"""Clock-offset sampling for this tab: the browser's countdown corrects its own clock.

The page asks for the browser's ``Date.now()``; the server answers with its own time; the
countdown component takes the sample with the lowest round trip. Five samples at load, then
none: a running timer costs zero frames per second.
"""

from __future__ import annotations

import reflex as rx

from sessions_app.models import utcnow

SAMPLES = 5
CLIENT_NOW_JS = "Date.now()"


class ClockState(rx.State):
    """The latest (client send time, server time) pair for this tab."""

    client_sent_ms: int = 0
    server_now_ms: int = 0
    _samples: int = 0

    @rx.event
    def begin(self):
        """Start a round of samples (on entering a timer page)."""
        self._samples = 0
        return rx.call_script(CLIENT_NOW_JS, callback=ClockState.sample)

    @rx.event
    def sample(self, client_now_ms: int):
        """One sample: remember when the browser asked and what time the server has now."""
        try:
            self.client_sent_ms = int(client_now_ms)
        except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
            return
        self.server_now_ms = round(utcnow().timestamp() * 1000)
        self._samples += 1
        if self._samples < SAMPLES:
            return rx.call_script(CLIENT_NOW_JS, callback=ClockState.sample)
