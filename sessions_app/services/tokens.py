"""Opaque random tokens and their stored form (SHA-256)."""

import hashlib
import secrets


def new_token() -> str:
    """A URL-safe random token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The hex SHA-256 of a token: what the database keeps instead of the token.

    ``surrogatepass``: a crafted token with a lone surrogate hashes (to nothing stored)
    instead of raising; real tokens are ASCII, so their hashes are unchanged."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
