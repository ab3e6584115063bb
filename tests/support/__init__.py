"""Shared test support: the one set of data factories (unit and end-to-end tests), the local
OAuth provider, the ``/_event`` protocol client, the end-to-end app server and browser helpers.

Nothing here is a test; ``tests/unit`` and ``tests/e2e`` both import from it (unit tests never
import from ``tests/e2e``).
"""
