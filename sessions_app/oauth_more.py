"""More ways in: Facebook Login and any standards-compliant OpenID Connect provider.

``oauth.py`` runs the login (state row, PKCE, ticket, the pre-hijacking rule); this module
only builds each provider's authorization URL and turns a returned ``code`` into an identity.

* **OpenID Connect** through Authlib's client with ``server_metadata_url``: the discovery
  document names the endpoints; the ``id_token`` is checked as the standard says (signature
  against the provider's JWKS, issuer, audience, expiry, and a ``nonce`` bound to this login's
  ``state``: HMAC of the state with the server secret, so nothing more is stored). The email
  is used only with ``email_verified: true`` from the same source (userinfo if it has an
  email, else the id_token). Identities are keyed by issuer and ``sub``, so pointing
  ``OIDC_DISCOVERY_URL`` at another provider can never log into someone else's account.
* **Facebook** (Graph API): authorization code with PKCE, the client secret in the token
  request's body, Graph calls signed with ``appsecret_proof``. Facebook never says whether an
  address was verified, so no email is asked for: a Facebook login creates its own account
  and never joins one by email (the pre-hijacking rule in ``oauth.user_for_profile``).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import NamedTuple

from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.integrations.starlette_client import OAuth

from sessions_app.settings import Settings, get_settings

PROVIDERS = ("facebook", "oidc")
OIDC_SCOPE = "openid email profile"
FACEBOOK_SCOPE = "public_profile"
MAX_SUBJECT = 200  # the stored subject adds a 17-character issuer prefix; the column holds 255


class Identity(NamedTuple):
    """Who logged in, as the provider tells it (``email`` only if it is verified)."""

    subject: str
    name: str
    avatar_url: str
    email: str | None


def enabled(settings: Settings) -> list[str]:
    """The providers of this module that are configured."""
    return [p for p, on in (("facebook", settings.facebook_enabled), ("oidc", settings.oidc_enabled)) if on]


def button_label(settings: Settings | None = None) -> str:
    """The OpenID Connect provider's name for its login button."""
    return (settings or get_settings()).oidc_name.strip() or "OpenID Connect"


def nonce_for(state: str) -> str:
    """The OIDC ``nonce`` of the login started with ``state``: unguessable without the server
    secret, so an id_token minted for another login (or replayed) fails the nonce check."""
    secret = get_settings().secret_key.encode()
    return hmac.new(secret, f"oidc-nonce:{state}".encode(), hashlib.sha256).hexdigest()


def _oidc_client():
    s = get_settings()
    registry = OAuth()  # a fresh registry: the settings may change (tests) and metadata is small
    registry.register(
        "oidc", client_id=s.oidc_client_id, client_secret=s.oidc_client_secret,
        server_metadata_url=s.oidc_discovery_url,
        client_kwargs={"scope": OIDC_SCOPE, "code_challenge_method": "S256", "timeout": 10},
    )
    return registry.create_client("oidc")


def _facebook_client(redirect_uri: str) -> AsyncOAuth2Client:
    s = get_settings()
    return AsyncOAuth2Client(s.facebook_client_id, s.facebook_client_secret, scope=FACEBOOK_SCOPE,
                             redirect_uri=redirect_uri, code_challenge_method="S256",
                             token_endpoint_auth_method="client_secret_post", timeout=10)


async def authorization_url(provider: str, *, state: str, verifier: str, redirect_uri: str) -> str:
    """Where to send the browser to log in with ``provider`` (PKCE S256; OIDC adds the nonce)."""
    if provider == "oidc":
        made = await _oidc_client().create_authorization_url(redirect_uri, state=state, code_verifier=verifier,
                                                             nonce=nonce_for(state))
        return made["url"]
    async with _facebook_client(redirect_uri) as client:
        url, _ = client.create_authorization_url(get_settings().facebook_authorize_url, state=state,
                                                 code_verifier=verifier)
    return url


def _verified_email(source: dict) -> str | None:
    email = source.get("email")
    if isinstance(email, str) and email and source.get("email_verified") in (True, "true"):
        return email
    return None


def _oidc_subject(issuer: object, sub: object) -> str:
    if not isinstance(issuer, str) or not issuer or not isinstance(sub, str) or not 0 < len(sub) <= MAX_SUBJECT:
        raise ValueError("the id_token has no usable iss/sub")
    return f"{hashlib.sha256(issuer.encode()).hexdigest()[:16]}:{sub}"


async def _oidc_identity(*, code: str, verifier: str, state: str, redirect_uri: str) -> Identity:
    client = _oidc_client()
    token = await client.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=verifier)
    claims = await client.parse_id_token(token, nonce=nonce_for(state))
    if claims is None:
        raise ValueError("the provider sent no id_token")
    claims = dict(claims)
    profile = claims
    if client.server_metadata.get("userinfo_endpoint"):
        info = dict(await client.userinfo(token=token))
        if info.get("sub") != claims.get("sub"):  # OIDC Core 5.3.2: must match, else ignore it
            raise ValueError("userinfo is about someone else")
        profile = {**claims, **info}
    # Email and its verification from one source: userinfo's pair if it has an email.
    source = profile if "email" in profile else claims
    return Identity(_oidc_subject(claims.get("iss"), claims.get("sub")), str(profile.get("name") or ""),
                    str(profile.get("picture") or ""), _verified_email(source))


async def _facebook_identity(*, code: str, verifier: str, redirect_uri: str) -> Identity:
    s = get_settings()
    async with _facebook_client(redirect_uri) as client:
        token = await client.fetch_token(s.facebook_token_url, code=code, code_verifier=verifier)
        proof = hmac.new(s.facebook_client_secret.encode(), token["access_token"].encode(), hashlib.sha256).hexdigest()
        info = (await client.get(f"{s.facebook_api_url.rstrip('/')}/me",
                                 params={"fields": "id,name,picture.width(200)", "appsecret_proof": proof})
                ).raise_for_status().json()
    picture = info.get("picture")
    url = picture.get("data", {}).get("url") if isinstance(picture, dict) else ""
    return Identity(str(info["id"]), str(info.get("name") or ""), str(url or ""), None)


async def fetch_identity(provider: str, *, code: str, verifier: str, state: str, redirect_uri: str) -> Identity:
    """Exchange the ``code`` (with the PKCE verifier) and read who logged in."""
    if provider == "oidc":
        return await _oidc_identity(code=code, verifier=verifier, state=state, redirect_uri=redirect_uri)
    return await _facebook_identity(code=code, verifier=verifier, redirect_uri=redirect_uri)
