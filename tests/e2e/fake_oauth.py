"""Moved to ``tests/support/fake_oauth.py``; re-exported here for existing imports."""

from tests.support.fake_oauth import *  # noqa: F401,F403
from tests.support.fake_oauth import FakeOAuthProvider, s256  # noqa: F401
