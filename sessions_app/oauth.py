"""GitHub and Google login (Facebook and any OpenID Connect provider: ``oauth_more``) through Authlib (authorization code + ``state`` + PKCE S256).

``begin`` stores a single-use ``OAuthState`` row (state, PKCE verifier, return path) and
returns the provider's authorization URL with the ``state``, which the browser tab keeps
(server-side, in its Reflex state). ``finish`` runs in the backend callback route: it
deletes the state row (a missing, wrong or replayed state is refused), exchanges the code
with the verifier, reads the profile (Google by OpenID Connect discovery + userinfo, GitHub
via its user API), finds or creates the user and returns a one-time login ticket bound to
that ``state``: only the tab that started the login can redeem it, so a callback URL sent to
someone else logs nobody in (login CSRF). Every endpoint URL is configurable so tests point
them at a local provider.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlmodel import Session, col, delete, select

from sessions_app import oauth_more
from sessions_app.models import OAuthAccount, OAuthState, User, utcnow
from sessions_app.services import accounts, ratelimit
from sessions_app.services.errors import ServiceError
from sessions_app.settings import Settings, get_settings

STATE_TTL = timedelta(minutes=10)
PROVIDERS = ("github", "google", *oauth_more.PROVIDERS)

# Everything ``finish`` can refuse with. The callback passes the message to the browser in
# the URL; the page shows only these (a crafted link cannot put its own text on the page).
ERR_UNAVAILABLE = "That login provider is not available."
ERR_STATE = "This login link is invalid or was already used. Start the login again."
ERR_EXPIRED = "This login took too long. Start the login again."
ERR_DENIED = "The provider did not approve the login. Try again."
ERR_UNREACHABLE = "The login provider could not be reached or refused the login. Try again."
ERR_REFUSED = "The login provider refused the login. Try again."
ERR_UNVERIFIED = ("An account with this email address exists, but its address was never confirmed, so this "
                  "login cannot be joined to it. If the account is yours, log in with its password and "
                  "confirm the address from Settings, or use \"Forgot password?\" to set a new password "
                  "(that confirms it too); then this login works.")
ERR_TOO_MANY = "Too many logins started from here. Wait a minute, then try again."
MESSAGES = frozenset({ERR_UNAVAILABLE, ERR_STATE, ERR_EXPIRED, ERR_DENIED, ERR_UNREACHABLE, ERR_REFUSED,
                      ERR_UNVERIFIED})


@dataclass(frozen=True)
class Profile:
    """What a provider tells us about the person who logged in."""

    subject: str
    name: str
    avatar_url: str
    email: str | None  # only when the provider says it is verified


def configured(settings: Settings | None = None) -> list[str]:
    """The providers whose client id and secret are set."""
    s = settings or get_settings()
    return [p for p, on in (("github", s.github_enabled), ("google", s.google_enabled)) if on] + oauth_more.enabled(s)


def redirect_uri(provider: str) -> str:
    """Where the provider sends the browser back (a backend route)."""
    return f"{get_settings().backend_url.rstrip('/')}/auth/{provider}/callback"


def _client(provider: str) -> AsyncOAuth2Client:
    s = get_settings()
    cid, secret, scope = {
        "github": (s.github_client_id, s.github_client_secret, "read:user user:email"),
        "google": (s.google_client_id, s.google_client_secret, "openid email profile"),
    }[provider]
    return AsyncOAuth2Client(cid, secret, scope=scope, redirect_uri=redirect_uri(provider),
                             code_challenge_method="S256", timeout=10)


async def _google_metadata() -> dict:
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.get(get_settings().google_discovery_url)
        resp.raise_for_status()
        return resp.json()


async def begin(db: Session, *, provider: str, next_path: str, client: str = "unknown") -> tuple[str, str]:
    """Start a login with ``provider``; returns the URL to send the browser to and the ``state``.

    The caller keeps the ``state`` for the tab and presents it when redeeming the ticket.
    Rate-limited per client: every start writes a row and may fetch the provider's metadata.
    """
    if provider not in configured():
        raise ServiceError(ERR_UNAVAILABLE)
    ratelimit.hit(get_settings().oauth_start_rate_limit, f"oauth-start:client:{client}", message=ERR_TOO_MANY)
    state = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    if provider in oauth_more.PROVIDERS:
        url = await oauth_more.authorization_url(provider, state=state, verifier=verifier,
                                                 redirect_uri=redirect_uri(provider))
    else:
        if provider == "google":
            authorize_url = (await _google_metadata())["authorization_endpoint"]
        else:
            authorize_url = get_settings().github_authorize_url
        async with _client(provider) as client:
            url, _ = client.create_authorization_url(authorize_url, state=state, code_verifier=verifier)
    db.add(OAuthState(state=state, provider=provider, code_verifier=verifier,
                      next_path=accounts.safe_next(next_path)))
    return url, state


async def _fetch_profile(provider: str, *, code: str, verifier: str, state: str = "") -> Profile:
    s = get_settings()
    if provider in oauth_more.PROVIDERS:
        return Profile(*await oauth_more.fetch_identity(provider, code=code, verifier=verifier, state=state,
                                                        redirect_uri=redirect_uri(provider)))
    async with _client(provider) as client:
        if provider == "google":
            meta = await _google_metadata()
            await client.fetch_token(meta["token_endpoint"], code=code, code_verifier=verifier)
            info = (await client.get(meta["userinfo_endpoint"])).raise_for_status().json()
            email = info.get("email") if info.get("email_verified") in (True, "true") else None
            return Profile(str(info["sub"]), info.get("name") or "", info.get("picture") or "", email)
        await client.fetch_token(s.github_token_url, code=code, code_verifier=verifier,
                                 headers={"Accept": "application/json"})
        api = s.github_api_url.rstrip("/")
        info = (await client.get(f"{api}/user")).raise_for_status().json()
        email = None
        emails = await client.get(f"{api}/user/emails")
        if emails.status_code == 200:
            for e in emails.json():
                if e.get("primary") and e.get("verified"):
                    email = e.get("email")
        return Profile(str(info["id"]), info.get("name") or info.get("login") or "",
                       info.get("avatar_url") or "", email)


def _consume_state(db: Session, *, provider: str, state: str) -> OAuthState:
    row = db.get(OAuthState, state) if state and len(state) <= 128 else None
    if row is None or row.provider != provider:
        raise ServiceError(ERR_STATE)
    db.delete(row)
    db.commit()  # consumed even if the rest fails: a state never works twice
    if row.created_at + STATE_TTL < utcnow():
        raise ServiceError(ERR_EXPIRED)
    return row


def purge_expired_states(db: Session, *, now: datetime | None = None) -> int:
    """Delete OAuth logins that were started but never finished in time; returns the count."""
    cutoff = (now or utcnow()) - STATE_TTL
    return db.exec(delete(OAuthState).where(col(OAuthState.created_at) < cutoff)).rowcount or 0


def _display_name(name: object) -> str:
    """A valid display name from whatever the provider sent (never refused: trimmed instead)."""
    text = name if isinstance(name, str) else ""
    text = "".join(c for c in unicodedata.normalize("NFC", text) if not unicodedata.category(c).startswith("C"))
    text = " ".join(text.split())[: accounts.MAX_NAME].strip()
    return text or "Student"


def _avatar_url(url: object) -> str:
    """The provider's picture URL if it is a plain http(s) URL that fits, else none."""
    if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= 500 \
            and not any(c.isspace() or c in "\"'<>" for c in url):
        return url
    return ""


def user_for_profile(db: Session, *, provider: str, profile: Profile) -> User:
    """The account for a provider identity: linked, matched by verified email, or new.

    A match by email joins the identity to an account only if that account's owner proved
    the address too (``email_verified_at``). An unverified account with the address is
    refused, not joined and not duplicated: joining would let whoever signed up with
    someone else's address first keep a password into their account (pre-hijacking), and a
    second account cannot take the address. The owner proves it by a mailed link (or a
    password reset) and then this login joins.
    """
    link = db.exec(select(OAuthAccount).where(OAuthAccount.provider == provider,
                                              OAuthAccount.subject == profile.subject)).first()
    if link is not None:
        return db.get(User, link.user_id)
    user = None
    email = profile.email.strip().lower() if profile.email else None
    if email and len(email) > 254:  # longer than any real address (and than the column)
        email = None
    if email:
        user = db.exec(select(User).where(User.email == email)).first()
        if user is not None and user.email_verified_at is None:
            raise ServiceError(ERR_UNVERIFIED)
    if user is None:
        # The provider verified the address (``Profile.email`` is None otherwise).
        user = User(email=email or None, display_name=_display_name(profile.name),
                    avatar_url=_avatar_url(profile.avatar_url), email_verified_at=utcnow() if email else None)
        db.add(user)
        db.flush()
    db.add(OAuthAccount(user_id=user.id, provider=provider, subject=profile.subject))
    return user


async def finish(db: Session, *, provider: str, code: str, state: str) -> str:
    """Complete a login from the callback; returns a one-time login ticket."""
    if provider not in configured():
        raise ServiceError(ERR_UNAVAILABLE)
    row = _consume_state(db, provider=provider, state=state)
    if not code:
        raise ServiceError(ERR_DENIED)
    try:
        profile = await _fetch_profile(provider, code=code, verifier=row.code_verifier, state=row.state)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise ServiceError(ERR_UNREACHABLE) from exc
    except Exception as exc:  # Authlib raises its own OAuthError family on a refused exchange
        raise ServiceError(ERR_REFUSED) from exc
    user = user_for_profile(db, provider=provider, profile=profile)
    return accounts.issue_login_ticket(db, user_id=user.id, next_path=row.next_path, binding=row.state)
