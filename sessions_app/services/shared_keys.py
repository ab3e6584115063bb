"""The keys under which shared (linked) Reflex states are stored: derived from an id with the
server secret, so nobody can name one.

Reflex takes the client token a socket connects with as given, and a socket whose token is
the key of a shared state hydrates that state. ``realtime`` refuses every token that is not
tab-shaped at connect; these keys are the second wall: even if that check ever slips, a key
cannot be guessed from a room id. One function per kind, and nowhere else builds such a key.
"""

from __future__ import annotations

import hashlib
import hmac

from sessions_app.settings import get_settings

# 128 bits of the HMAC: as hard to guess as a uuid4.
_DIGEST_CHARS = 32


def _derive(kind: str, ident: int) -> str:
    """``<kind>-<hex HMAC-SHA256(secret, "shared-state:<kind>:<id>")>`` (hex and ``-`` only:
    Reflex refuses ``_`` in link tokens)."""
    message = f"shared-state:{kind}:{int(ident)}".encode()
    digest = hmac.new(get_settings().secret_key.encode(), message, hashlib.sha256).hexdigest()
    return f"{kind}-{digest[:_DIGEST_CHARS]}"


def room_key(room_id: int) -> str:
    """The shared-state key of a live room (``RoomLive`` and ``RoomBoard`` both live under it;
    a scheduled session's live room is a room like any other)."""
    return _derive("room", room_id)
