"""Sign-up, password login and password change for the server's event loop.

The same rules as ``accounts.sign_up`` / ``accounts.authenticate``, but the expensive part
(zxcvbn and argon2: up to hundreds of milliseconds of CPU) runs on the bounded password pool
(``passwords.offload``) and never inside a database transaction: each database step is its own
short transaction, so no connection (nor SQLite's write lock) is held while a hash is
computed. Sign-up is rate-limited per client and for the whole server before any of that work.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlmodel import col, delete, select

from sessions_app.db import session_scope
from sessions_app.models import AuthSession, EmailToken, LoginTicket, User, utcnow
from sessions_app.services import accounts, login_guard, passwords, ratelimit
from sessions_app.services.errors import ServiceError
from sessions_app.services.recovery import RESET
from sessions_app.services.tokens import hash_token
from sessions_app.settings import get_settings

SIGNUP_LIMITED = "Too many sign-ups from here. Try again in {wait}."
SIGNUP_BUSY = "Too many people are signing up right now. Wait a minute, then try again."
NO_PASSWORD = ("This account has no password yet (it signs in with another provider). "
               "To add one, use “Forgot password?” on the login page.")
MISMATCH = "The two new passwords differ. Type the same one in both boxes."
WRONG_CURRENT = "That is not your current password."
SAME_PASSWORD = "The new password is the one you have now. Pick a different one."
CHANGED_MEANWHILE = "Your password was just changed somewhere else. Log in again with the new one."


async def sign_up(*, name: object, email: object, password: object, timezone: str = "UTC",
                  client: str, engine: Engine | None = None) -> User:
    """Create a password account; raises ``ServiceError`` for a bad field or a limit.

    Cheap checks first (a typo costs nothing), then the per-client limit and only then the
    global one (so one client's flood does not use up everyone's sign-ups), then strength +
    hash on the pool, then the insert.
    """
    name = accounts.clean_display_name(name)
    email = accounts.clean_email(email)
    if not isinstance(password, str) or not (passwords.MIN_PASSWORD <= len(password) <= passwords.MAX_PASSWORD):
        passwords.check_strength(password)  # raises the length / type message
    settings = get_settings()
    ratelimit.hit(settings.signup_rate_limit, f"signup:client:{client}", message=SIGNUP_LIMITED)
    ratelimit.hit(settings.signup_global_rate_limit, "signup:all", message=SIGNUP_BUSY)
    password_hash = await passwords.offload(
        passwords.strengthen_and_hash, password, accounts.password_user_inputs(email=email, name=name))
    with session_scope(engine) as db:
        return accounts.add_password_user(db, name=name, email=email, password_hash=password_hash,
                                          timezone=timezone)


async def authenticate(*, email: object, password: object, client: str, device: object = "",
                       engine: Engine | None = None) -> User:
    """Check an email + password (see ``accounts.authenticate``), verifying on the pool."""
    email_key = accounts.login_email_key(email)
    with session_scope(engine) as db:
        user, attempt = accounts.begin_login(db, email_key=email_key, password=password, client=client, device=device)
    ok = await passwords.verify_async(user.password_hash if user else None, password)
    accounts.finish_login(attempt, user, ok)
    if passwords.needs_rehash(user.password_hash):
        new_hash = await passwords.hash_async(password)
        with session_scope(engine) as db:
            stored = db.get(User, user.id)
            if stored is not None:
                stored.password_hash = new_hash
                db.add(stored)
    return user


async def change_password(*, user_id: int, current: object, new: object, confirm: object, keep_token: object,
                          client: str, engine: Engine | None = None) -> int:
    """Replace ``user_id``'s password (typed twice: ``new`` and ``confirm``) after checking the
    current one; every other login of the
    account ends (the one holding ``keep_token`` stays), and so do pending login tickets and
    mailed reset links. Returns how many other (unexpired) logins ended.

    A wrong current password counts as a failed login of the account from ``client``
    (``login_guard``: growing delays), so a borrowed, logged-in browser cannot be used to guess
    it faster than the login page allows. argon2 and zxcvbn run on the password pool, outside
    any transaction (as ``sign_up``); the write is a compare-and-set on the old hash.
    """
    if new != confirm:  # a typo in one box: nothing checked, nothing counted
        raise ServiceError(MISMATCH, field="confirm")
    with session_scope(engine) as db:
        user = db.get(User, user_id)
        old_hash, email = (user.password_hash, user.email or "") if user else (None, "")
        name = user.display_name if user else ""
    if not old_hash:
        raise ServiceError(NO_PASSWORD)
    attempt = login_guard.attempt(accounts.login_email_key(email) or f"user:{user_id}", client, None)
    login_guard.check(attempt)
    if (not isinstance(current, str) or len(current) > passwords.MAX_PASSWORD
            or not await passwords.verify_async(old_hash, current)):
        login_guard.failed(attempt)
        raise ServiceError(WRONG_CURRENT, field="current")
    login_guard.succeeded(attempt)
    if new == current:
        raise ServiceError(SAME_PASSWORD, field="password")
    new_hash = await passwords.offload(passwords.strengthen_and_hash, new,
                                       accounts.password_user_inputs(email=email, name=name))
    kept = hash_token(keep_token) if isinstance(keep_token, str) and keep_token else ""
    with session_scope(engine) as db:
        stored = db.get(User, user_id)
        if stored is None or stored.password_hash != old_hash:
            raise ServiceError(CHANGED_MEANWHILE)
        stored.password_hash = new_hash
        db.add(stored)
        others = (col(AuthSession.user_id) == user_id, col(AuthSession.token_hash) != kept)
        # Expired logins go too, but only live ones count as devices logged out.
        ended = len(db.exec(select(AuthSession.id).where(*others, col(AuthSession.expires_at) > utcnow())).all())
        db.exec(delete(AuthSession).where(*others))
        db.exec(delete(LoginTicket).where(col(LoginTicket.user_id) == user_id))
        # A reset link mailed earlier would set a password over the new one; a link that
        # proves the address stays valid.
        db.exec(delete(EmailToken).where(col(EmailToken.user_id) == user_id, col(EmailToken.purpose) == RESET))
    return ended
