"""Reflex configuration.

Ports are passed on the command line by the Makefile and the tests (never pinned here: they
clash with --frontend-port/--backend-port). The database is configured in
``sessions_app.settings`` (``DATABASE_URL``), not through Reflex's ``db_url``: the app uses
its own SQLModel engine so services run without Reflex.
"""

import reflex as rx
from reflex.plugins.sitemap import SitemapPlugin

config = rx.Config(
    app_name="sessions_app",
    telemetry_enabled=False,
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="dark", accent_color="violet", gray_color="slate", radius="large")
        )
    ],
    disable_plugins=[SitemapPlugin],
)
