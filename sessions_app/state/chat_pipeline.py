"""Moved to ``sessions_app.live.chat`` (delivery lives in ``live/``); names kept for callers."""

from sessions_app.live.chat import (  # noqa: F401
    EVENT_VAR,
    FEED_VAR,
    MessageView,
    SegmentView,
    apply,
    deliver,
    message_view,
    message_views,
    views_from_wire,
    wire,
)
