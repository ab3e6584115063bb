"""GitHub and Google login through Authlib (authorization code + ``state`` + PKCE S256).

``begin`` stores a single-use ``OAuthState`` row (state, PKCE verifier, return path) and
returns the provider's authorization URL. ``finish`` runs in the backend callback route: it
deletes the state row (a missing, wrong or replayed state is refused), exchanges the code
with the verifier, reads the profile (Google by OpenID Connect discovery + userinfo, GitHub
via its user API), finds or creates the user and returns a one-time login ticket. Every
endpoint URL is configurable so tests point them at a local provider.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from sqlmodel import Session, select

from sessions_app.models import OAuthAccount, OAuthState, User, utcnow
from sessions_app.services import accounts
from sessions_app.services.errors import ServiceError
from sessions_app.settings import Settings, get_settings

STATE_TTL = timedelta(minutes=10)
PROVIDERS = ("github", "google")


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
    return [p for p, on in (("github", s.github_enabled), ("google", s.google_enabled)) if on]


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


async def begin(db: Session, *, provider: str, next_path: str) -> str:
    """Start a login with ``provider``; returns the URL to send the browser to."""
    if provider not in configured():
        raise ServiceError("That login provider is not available.")
    state = secrets.token_urlsafe(32)
    verifier = generate_token(64)
    if provider == "google":
        authorize_url = (await _google_metadata())["authorization_endpoint"]
    else:
        authorize_url = get_settings().github_authorize_url
    async with _client(provider) as client:
        url, _ = client.create_authorization_url(authorize_url, state=state, code_verifier=verifier)
    db.add(OAuthState(state=state, provider=provider, code_verifier=verifier,
                      next_path=accounts.safe_next(next_path)))
    return url


async def _fetch_profile(provider: str, *, code: str, verifier: str) -> Profile:
    s = get_settings()
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
        raise ServiceError("This login link is invalid or was already used. Start the login again.")
    db.delete(row)
    db.commit()  # consumed even if the rest fails: a state never works twice
    if row.created_at + STATE_TTL < utcnow():
        raise ServiceError("This login took too long. Start the login again.")
    return row


def user_for_profile(db: Session, *, provider: str, profile: Profile) -> User:
    """The account for a provider identity: linked, matched by verified email, or new."""
    link = db.exec(select(OAuthAccount).where(OAuthAccount.provider == provider,
                                              OAuthAccount.subject == profile.subject)).first()
    if link is not None:
        return db.get(User, link.user_id)
    user = None
    if profile.email:
        user = db.exec(select(User).where(User.email == profile.email.lower())).first()
    if user is None:
        try:
            name = accounts.clean_display_name(profile.name)
        except ServiceError:
            name = (profile.name or "Student").strip()[: accounts.MAX_NAME] or "Student"
        user = User(email=profile.email.lower() if profile.email else None, display_name=name,
                    avatar_url=profile.avatar_url[:500])
        db.add(user)
        db.flush()
    db.add(OAuthAccount(user_id=user.id, provider=provider, subject=profile.subject))
    return user


async def finish(db: Session, *, provider: str, code: str, state: str) -> str:
    """Complete a login from the callback; returns a one-time login ticket."""
    if provider not in configured():
        raise ServiceError("That login provider is not available.")
    row = _consume_state(db, provider=provider, state=state)
    if not code:
        raise ServiceError("The provider did not approve the login. Try again.")
    try:
        profile = await _fetch_profile(provider, code=code, verifier=row.code_verifier)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        raise ServiceError("The login provider could not be reached or refused the login. Try again.") from exc
    except Exception as exc:  # Authlib raises its own OAuthError family on a refused exchange
        raise ServiceError("The login provider refused the login. Try again.") from exc
    user = user_for_profile(db, provider=provider, profile=profile)
    return accounts.issue_login_ticket(db, user_id=user.id, next_path=row.next_path)
