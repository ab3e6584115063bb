"""Moved to ``tests/support/protocol.py``; re-exported here for existing imports
(``make_user`` is ``protocol_user``: a logged-in account in the app's database)."""

from tests.support.protocol import *  # noqa: F401,F403
from tests.support.protocol import ReflexClient, protocol_user, router, run, settle  # noqa: F401

make_user = protocol_user
