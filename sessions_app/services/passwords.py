"""Passwords: strength (zxcvbn), argon2id hashing, and running both off the event loop.

Hashing and verifying cost tens to hundreds of milliseconds of CPU each (argon2id on
purpose; zxcvbn on long repetitive inputs). On the server's event loop that time is taken
from every other user of the worker, so the async entry points hand the work to a small
thread pool: argon2-cffi releases the GIL while it hashes, so the loop keeps running.

The pool is bounded twice: a few threads (``PASSWORD_WORKERS``) and a cap on jobs waiting
or running (``PASSWORD_QUEUE``). Past the cap a job is refused with a "busy" message at once
instead of queueing: a flood cannot pile up minutes of hashing that keep running after it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from sessions_app.services.errors import ServiceError
from sessions_app.settings import get_settings

T = TypeVar("T")

MIN_PASSWORD = 10
MAX_PASSWORD = 256
# zxcvbn refuses inputs longer than 72 characters and its cost grows quickly with length;
# the first 64 characters decide. A strong prefix makes the whole password at least as strong;
# a weak prefix (say, one character repeated) is refused, which is the cautious answer.
ESTIMATE_CHARS = 64
# zxcvbn's scale: 0 too guessable … 4 very unguessable. 3 = "safely unguessable" for an
# online attack with throttling (about 10^8 guesses), which is what a login form faces.
MIN_SCORE = 3
BUSY = "The server is busy right now. Wait a few seconds and try again."

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the email is unknown, so a failed login takes the same time either way.
_DUMMY_HASH = _hasher.hash("not-a-real-password-used-for-timing")


class Busy(ServiceError):
    """The password pool is full: the job was refused, not queued."""


# --- strength -------------------------------------------------------------------------------


def check_strength(password: object, *, user_inputs: Iterable[str] = ()) -> str:
    """Refuse weak passwords with a message built from zxcvbn's feedback.

    Args:
        password: What the student typed.
        user_inputs: Words a guesser would try first for this account (name, email and its
            parts); a password built from them scores lower.

    Returns:
        The password, unchanged, when it is strong enough.
    """
    if not isinstance(password, str):
        raise ServiceError("Password must be text.", field="password")
    if len(password) < MIN_PASSWORD:
        raise ServiceError(f"Password is too short: use at least {MIN_PASSWORD} characters.", field="password")
    if len(password) > MAX_PASSWORD:
        raise ServiceError(f"Password is too long: at most {MAX_PASSWORD} characters.", field="password")
    if not _encodable(password):
        raise ServiceError("Password contains characters that cannot be used. Retype it.", field="password")
    words: list[str] = []
    for item in user_inputs:
        if isinstance(item, str) and item:
            words.append(item.lower())
            # "ada.lovelace@example.com" -> also "ada", "lovelace", "example"
            words.extend(w for w in _split_words(item.lower()) if len(w) >= 3)
    result = zxcvbn(password[:ESTIMATE_CHARS], user_inputs=words)
    if result["score"] >= MIN_SCORE:
        return password
    feedback = result.get("feedback") or {}
    parts = ["That password is too easy to guess."]
    if feedback.get("warning"):
        parts.append(feedback["warning"].rstrip(".") + ".")
    suggestions = [s.rstrip(".") + "." for s in feedback.get("suggestions") or []]
    parts.extend(suggestions or ["Add another word or two. Uncommon words are better."])
    raise ServiceError(" ".join(parts), field="password")


def _encodable(text: str) -> bool:
    """Whether ``text`` is valid UTF-8 material (a lone surrogate is not: argon2 would raise)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _split_words(text: str) -> list[str]:
    out, word = [], []
    for ch in text:
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.append("".join(word))
            word = []
    if word:
        out.append("".join(word))
    return out


# --- hashing (synchronous: for scripts, tests and the pool's threads) -----------------------


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted; the password itself is never stored)."""
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``. With no hash (unknown email, OAuth-only
    account) a dummy hash is checked anyway, so the answer takes the same time."""
    if not _encodable(password):
        password = password.encode("utf-8", "replace").decode("utf-8")  # still spend the time
        stored_hash = None
    try:
        return _hasher.verify(stored_hash or _DUMMY_HASH, password) and bool(stored_hash)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a stored hash uses older parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)


def strengthen_and_hash(password: object, user_inputs: tuple[str, ...]) -> str:
    """Check strength, then hash: the whole expensive part of a sign-up, as one job."""
    return hash_password(check_strength(password, user_inputs=user_inputs))


# --- off the event loop ---------------------------------------------------------------------

_lock = threading.Lock()
_pending = 0


@lru_cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=get_settings().password_workers, thread_name_prefix="passwords")


def _release(_future: Future) -> None:
    global _pending
    with _lock:
        _pending -= 1


def pending() -> int:
    """Jobs waiting or running in the pool (tests, diagnostics)."""
    return _pending


async def offload(fn: Callable[..., T], *args) -> T:
    """Run ``fn(*args)`` on the password pool and await it; refuse with ``Busy`` at once when
    ``PASSWORD_QUEUE`` jobs are already waiting or running.

    The slot is released when the job itself ends (not when the caller stops waiting), so
    cancelled callers cannot let more work pile up than the cap.
    """
    global _pending
    with _lock:
        if _pending >= get_settings().password_queue:
            raise Busy(BUSY)
        _pending += 1
    try:
        future = _pool().submit(fn, *args)
    except BaseException:
        _release(None)  # type: ignore[arg-type]
        raise
    future.add_done_callback(_release)
    return await asyncio.wrap_future(future)


async def hash_async(password: str) -> str:
    """``hash_password`` on the pool."""
    return await offload(hash_password, password)


async def verify_async(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` on the pool."""
    return await offload(verify_password, stored_hash, password)
