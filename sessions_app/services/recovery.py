"""Email verification and password reset by mailed, single-use, expiring links.

Why verification matters: a password sign-up proves nothing about its email. Until the owner
opens a link mailed to the address, the account is ``unverified`` and an OAuth login with
the same (provider-verified) email is refused instead of being joined to it (see
``sessions_app.oauth.user_for_profile``): otherwise whoever registered the address first
would keep a password into its real owner's account ("account pre-hijacking").

Links carry a random token; the database keeps only its SHA-256 (``EmailToken``), with the
address it was sent to and an expiry. Using a link deletes its row in one statement whose
row count decides (so two tabs racing on one link cannot both win), and with it every
other link of that purpose: a student who asked twice (or double-clicked) can open either
mail, but only once. Requests are rate-limited, so few links are ever live. A password
reset also proves the address, ends every login of the account and hands nobody a login:
the student logs in afresh.

Functions here build the ``Mail`` to send; the caller sends it after its commit with
``mail.send_later`` (off the event loop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from sessions_app import routes
from sessions_app.models import AuthSession, EmailToken, LoginTicket, User, utcnow
from sessions_app.services import accounts, passwords, ratelimit
from sessions_app.services.errors import ServiceError
from sessions_app.services.mail import Mail
from sessions_app.services.tokens import hash_token, new_token
from sessions_app.settings import get_settings

VERIFY = "verify"
RESET = "reset"
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(hours=1)

LINK_INVALID = "This link is invalid, has expired or was already used. Request a new one."
ALREADY_VERIFIED = "Your email address is already confirmed."
NO_EMAIL = "Your account has no email address to confirm."
TOO_MANY = "Too many emails were requested. Wait a few minutes, then try again."
# The same answer whether or not an account uses the address (no account discovery).
RESET_SENT = ("If an account uses that address, we sent it a link to set a new password. "
              "The link works once, within an hour. Check your spam folder too.")

@dataclass(frozen=True)
class EmailStatus:
    """The owner's view of their address (never sent to anyone else)."""

    has_email: bool
    verified: bool


def is_verified(user: User) -> bool:
    """Whether the account's owner has proved the email address."""
    return user.email is not None and user.email_verified_at is not None


def status(db: Session, *, user_id: int) -> EmailStatus:
    """Whether ``user_id`` has an email and has confirmed it."""
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")
    return EmailStatus(has_email=user.email is not None, verified=is_verified(user))


# --- tokens ---------------------------------------------------------------------------------


def issue_token(db: Session, *, user: User, purpose: str, now: datetime | None = None) -> str:
    """A new link token for ``user``; only its hash is kept. Earlier unexpired ones stay valid
    until one of them is used."""
    if purpose not in (VERIFY, RESET) or not user.email:
        raise ValueError("a link needs a known purpose and an address")
    now = now or utcnow()
    ttl = VERIFY_TTL if purpose == VERIFY else RESET_TTL
    db.exec(delete(EmailToken).where(col(EmailToken.expires_at) <= now))  # purge anyone's dead links
    token = new_token()
    db.add(EmailToken(user_id=user.id, purpose=purpose, token_hash=hash_token(token), email=user.email,
                      created_at=now, expires_at=now + ttl))
    db.flush()
    return token


def _live_row(db: Session, token: object, purpose: str, now: datetime) -> tuple[EmailToken, User] | None:
    """The unexpired row and its user for ``token`` if it still matches the account's address."""
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    row = db.exec(select(EmailToken).where(EmailToken.token_hash == hash_token(token),
                                           EmailToken.purpose == purpose)).first()
    if row is None or row.expires_at <= now:
        return None
    user = db.get(User, row.user_id)
    if user is None or user.email != row.email:  # a link proves only the address it went to
        return None
    return row, user


def _consume(db: Session, row: EmailToken) -> bool:
    """Use ``row`` up, with every other link of its purpose for that account.

    True only for the one caller whose delete removed ``row`` (single use under races).
    """
    if db.exec(delete(EmailToken).where(col(EmailToken.id) == row.id)).rowcount != 1:
        return False
    db.exec(delete(EmailToken).where(col(EmailToken.user_id) == row.user_id, col(EmailToken.purpose) == row.purpose))
    return True


def _mark_verified(user: User, now: datetime) -> None:
    if user.email_verified_at is None:
        user.email_verified_at = now


# --- verification ---------------------------------------------------------------------------


def _link(route: str, token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}{route}?token={token}"


def verification_mail(db: Session, *, user: User, now: datetime | None = None) -> Mail | None:
    """Issue a verification link for ``user`` and compose its mail (None if nothing to verify)."""
    if not user.email or is_verified(user):
        return None
    token = issue_token(db, user=user, purpose=VERIFY, now=now)
    return Mail(
        to=user.email,
        subject="Confirm your email for Sessions",
        body=(f"Hi {user.display_name},\n\n"
              "Please confirm that this address belongs to your Sessions account:\n\n"
              f"{_link(routes.VERIFY_EMAIL, token)}\n\n"
              "The link works once, within 48 hours. If you did not sign up for Sessions, ignore "
              "this mail: someone typed your address, and nothing is linked to it until it is "
              "confirmed.\n"),
    )


def resend_verification(db: Session, *, user_id: int, client: str) -> Mail:
    """A fresh verification mail for the logged-in user, rate-limited per address and client."""
    user = db.get(User, user_id)
    if user is None:
        raise ServiceError("Your account no longer exists.")
    if not user.email:
        raise ServiceError(NO_EMAIL)
    if is_verified(user):
        raise ServiceError(ALREADY_VERIFIED)
    _count_mail(user.email, client)
    mail = verification_mail(db, user=user)
    assert mail is not None  # unverified with an address: there is a link to send
    return mail


def verify_email(db: Session, *, token: object, now: datetime | None = None) -> User:
    """Use a verification link: the account's address counts as proved from now on."""
    now = now or utcnow()
    found = _live_row(db, token, VERIFY, now)
    if found is None or not _consume(db, found[0]):
        raise ServiceError(LINK_INVALID)
    user = found[1]
    _mark_verified(user, now)
    db.add(user)
    return user


# --- password reset -------------------------------------------------------------------------


def _count_mail(email: str, client: str) -> None:
    s = get_settings()
    ratelimit.hit(s.mail_client_rate_limit, f"mail:client:{client}", message=TOO_MANY)
    ratelimit.hit(s.mail_rate_limit, f"mail:address:{email}", message=TOO_MANY)


def request_reset(db: Session, *, email: object, client: str) -> Mail | None:
    """The reset mail for the account using ``email``, or None when there is none.

    Callers answer ``RESET_SENT`` either way. Rate-limited per client and per address whether
    or not the account exists, so the limit reveals nothing either.
    """
    address = accounts.clean_email(email)
    _count_mail(address, client)
    user = db.exec(select(User).where(User.email == address)).first()
    if user is None:
        return None
    token = issue_token(db, user=user, purpose=RESET)
    return Mail(
        to=address,
        subject="Set a new password for Sessions",
        body=(f"Hi {user.display_name},\n\n"
              "Someone (hopefully you) asked to set a new password for your Sessions account. "
              "Choose one here:\n\n"
              f"{_link(routes.RESET_PASSWORD, token)}\n\n"
              "The link works once, within an hour. Setting a new password logs the account out "
              "everywhere. If you did not ask for this, ignore this mail: your password stays "
              "as it is.\n"),
    )


def reset_link_valid(db: Session, *, token: object, now: datetime | None = None) -> bool:
    """Whether a reset link would still work (does not use it up)."""
    return _live_row(db, token, RESET, now or utcnow()) is not None


def reset_password(db: Session, *, token: object, password: object, now: datetime | None = None) -> User:
    """Set a new password from a reset link.

    The password is checked first (a weak one keeps the link usable); then the link is used
    up, the address counts as proved (the mail reached its owner), every login and pending
    login ticket of the account ends, and every other mailed link of the account dies.
    Slow (argon2): call it off the event loop.
    """
    now = now or utcnow()
    found = _live_row(db, token, RESET, now)
    if found is None:
        raise ServiceError(LINK_INVALID)
    row, user = found
    password = accounts.check_password_strength(password, email=user.email or "")
    if not _consume(db, row):
        raise ServiceError(LINK_INVALID)
    user.password_hash = passwords.hash_password(password)
    _mark_verified(user, now)
    db.add(user)
    for model in (AuthSession, LoginTicket, EmailToken):
        db.exec(delete(model).where(col(model.user_id) == user.id))
    return user
