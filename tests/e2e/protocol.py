"""Moved to ``tests/support/protocol.py``; re-exported here for existing imports."""

from tests.support.protocol import *  # noqa: F401,F403
from tests.support.protocol import make_user, router, run, settle  # noqa: F401
