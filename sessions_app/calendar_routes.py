"""The private calendar feed over plain HTTP: ``GET /calendar/{token}.ics``.

Calendar apps poll this URL without cookies, so the secret token in the path is the only
credential; an unknown or revoked token gets a bare 404 that says nothing about accounts.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sessions_app.db import system_scope
from sessions_app.services import calendar


def _feed_bytes(token: str) -> bytes | None:
    with system_scope("calendar feed: the URL's token is the credential") as db:
        return calendar.feed_ics_for_token(db, token=token)


async def calendar_feed(request: Request) -> Response:
    """Serve a user's feed as ``text/calendar`` (the database work runs off the event loop)."""
    body = await run_in_threadpool(_feed_bytes, request.path_params.get("token", ""))
    if body is None:
        return PlainTextResponse("Calendar feed not found.", status_code=404)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="sessions.ics"',
            # The URL is a secret: shared caches must not keep a copy.
            "Cache-Control": "private, max-age=300",
            "X-Robots-Tag": "noindex",
        },
    )


# Register with the app's Starlette router (``api_transformer``).
CALENDAR_ROUTE = Route(calendar.FEED_PATH, calendar_feed, methods=["GET"])
