"""Shared-state keys and client tokens: a room's shared state is stored under a key nobody can
derive from its id, and only tab-shaped tokens may connect (``realtime.is_tab_token``)."""

from __future__ import annotations

import re
import uuid

from sessions_app import realtime
from sessions_app.services import shared_keys
from sessions_app.settings import Settings


def test_room_keys_are_derived_with_the_secret(monkeypatch):
    key = shared_keys.room_key(42)
    assert key.startswith("room-") and "_" not in key
    assert re.fullmatch(r"room-[0-9a-f]{32}", key)
    assert key == shared_keys.room_key(42)  # stable: every worker and restart finds it
    assert len({shared_keys.room_key(i) for i in range(1, 500)}) == 499
    # Another secret, other keys: knowing the scheme and the id is not enough.
    monkeypatch.setattr(shared_keys, "get_settings",
                        lambda: Settings(secret_key="another-secret-of-at-least-32-characters"))
    assert shared_keys.room_key(42) != key


def test_only_uuid4_shaped_tokens_are_tab_tokens():
    assert realtime.is_tab_token(str(uuid.uuid4()))
    # What Reflex's generateUUID() makes: version digit 4, variant digit 8 to f (not only
    # 8-b: half of real browser tabs have c-f), lower-case hex.
    for variant in "89abcdef":
        assert realtime.is_tab_token(f"0b1f6c3e-9d2a-4c5e-{variant}f70-1a2b3c4d5e6f")
    assert not realtime.is_tab_token("0b1f6c3e-9d2a-4c5e-7f70-1a2b3c4d5e6f")
    for bad in ("room-42", "session-7", "session-7-chat", "user-1", "lobby", "", "42",
                shared_keys.room_key(42), str(uuid.uuid4()).upper(), str(uuid.uuid1()),
                str(uuid.uuid4()) + "x", " " + str(uuid.uuid4()), str(uuid.uuid4()).replace("-", ""),
                None, 42):
        assert not realtime.is_tab_token(bad), bad
