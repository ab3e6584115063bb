"""Sign-up and password login for the server's event loop.

The same rules as ``accounts.sign_up`` / ``accounts.authenticate``, but the expensive part
(zxcvbn and argon2: up to hundreds of milliseconds of CPU) runs on the bounded password pool
(``passwords.offload``) and never inside a database transaction: each database step is its own
short transaction, so no connection (nor SQLite's write lock) is held while a hash is
computed. Sign-up is rate-limited per client and for the whole server before any of that work.
"""

from __future__ import annotations

from sqlalchemy import Engine

from sessions_app.db import session_scope
from sessions_app.models import User
from sessions_app.services import accounts, passwords, ratelimit
from sessions_app.settings import get_settings

SIGNUP_LIMITED = "Too many sign-ups from here. Wait a while, then try again."
SIGNUP_BUSY = "Too many people are signing up right now. Wait a minute, then try again."


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
