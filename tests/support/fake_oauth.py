"""A local OAuth 2 / OpenID Connect provider for end-to-end tests (Google-style, GitHub-style,
Facebook-style and a generic OpenID Connect provider).

It behaves like a strict real provider, so the app's side of the protocol is really checked:

* ``/google/...``: OpenID Connect discovery, ``/authorize`` (auto-approves), ``/token`` and
  ``/userinfo``.
* ``/github/...``: ``/login/oauth/authorize``, ``/login/oauth/access_token`` (JSON when the
  client asks for it, form-encoded otherwise, like GitHub), ``/api/user`` and
  ``/api/user/emails``.
* ``/facebook/...``: ``/dialog/oauth``, ``/oauth/access_token`` (client secret in the body),
  ``/me`` (only the ``fields`` asked for; requires ``appsecret_proof``, like an app with
  "Require App Secret" on).
* ``/oidc/...``: a generic OpenID Connect provider: discovery, ``/authorize``, ``/token`` (with
  an RS256 ``id_token`` carrying the request's ``nonce``), ``/userinfo`` and ``/jwks``.
  ``provider.id_token_overrides`` changes claims of the next id_tokens (a wrong ``aud``,
  ``nonce`` ...) and ``provider.sign_with_foreign_key`` signs them with a key not in the JWKS,
  so tests can check that the app refuses them.

Authorization requests must carry the registered ``client_id``, a callback ``redirect_uri``,
a ``state`` and a PKCE ``code_challenge`` with ``code_challenge_method=S256``; anything else is
refused with 400. The token endpoint checks the client's credentials (HTTP Basic or form), that
the code exists, is unused, belongs to that client and redirect URI, and that
``BASE64URL(SHA256(code_verifier))`` equals the challenge; otherwise it answers
``400 {"error": "invalid_grant"}``. Each code works once.

A test chooses who logs in by setting ``provider.next_user["google"]`` (or ``["github"]``)
before clicking the login button; ``google_user()`` / ``github_user()`` build fresh identities.
Every request is recorded in ``provider.requests`` so tests can assert what the app sent.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import unquote_plus, urlencode, urlsplit

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENTS = {
    "google": ("google-client", "google-secret"),
    "github": ("gh-client", "gh-secret"),
    "facebook": ("fb-app", "fb-secret"),
    "oidc": ("oidc-client", "oidc-secret"),
}
# A 1x1 transparent PNG, served as every avatar so the browser loads real images.
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


@dataclass
class Recorded:
    """One request the provider received."""

    provider: str
    endpoint: str  # "discovery", "authorize", "token", "userinfo", "user", "emails", "avatar"
    method: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]
    status: int = 0


@dataclass
class _Grant:
    provider: str
    client_id: str
    redirect_uri: str
    challenge: str
    user: dict
    scope: str
    issued: float = field(default_factory=time.monotonic)
    used: bool = False
    nonce: str = ""


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


class FakeOAuthProvider:
    """A Google-style and a GitHub-style OAuth provider in one local HTTP server."""

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port
        self.url = f"http://{host}:{port}"
        self.requests: list[Recorded] = []
        self.next_user: dict[str, dict] = {"google": self.google_user(), "github": self.github_user(),
                                           "facebook": self.facebook_user(), "oidc": self.oidc_user()}
        self.id_token_overrides: dict = {}
        self.sign_with_foreign_key = False
        self._key = RSAKey.generate_key(2048, parameters={"kid": "fake-oidc-1", "use": "sig", "alg": "RS256"})
        self._foreign_key = RSAKey.generate_key(2048, parameters={"kid": "fake-oidc-1"})
        self._grants: dict[str, _Grant] = {}
        self._tokens: dict[str, tuple[str, dict]] = {}
        self._lock = threading.Lock()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- identities -----------------------------------------------------------------------

    def google_user(self, name: str | None = None, email: str | None = None, *, verified: bool = True,
                    sub: str | None = None) -> dict:
        """A fresh Google identity (userinfo claims)."""
        sub = sub or str(uuid.uuid4().int)[:21]
        return {
            "sub": sub,
            "name": name or f"Gina {sub[-4:]}",
            "picture": f"{self.url}/avatars/google-{sub}.png",
            "email": email or f"g{sub[-8:]}@gmail.example",
            "email_verified": verified,
        }

    def github_user(self, name: str | None = None, email: str | None = None, *, verified: bool = True,
                    login: str | None = None, user_id: int | None = None) -> dict:
        """A fresh GitHub identity: the ``/user`` fields plus ``emails`` for ``/user/emails``."""
        user_id = user_id or secrets.randbelow(10**8) + 10**7
        login = login or f"octo{user_id}"
        return {
            "id": user_id,
            "login": login,
            "name": name,  # GitHub users may have no name: the app then uses the login
            "avatar_url": f"{self.url}/avatars/github-{user_id}.png",
            "emails": [{"email": email or f"{login}@users.example", "primary": True, "verified": verified}],
        }

    def facebook_user(self, name: str | None = None, email: str | None = None) -> dict:
        """A fresh Facebook identity (Graph API ``/me`` fields)."""
        user_id = str(secrets.randbelow(10**15) + 10**14)
        return {
            "id": user_id,
            "name": name or f"Fay {user_id[-4:]}",
            "email": email or f"fb{user_id[-8:]}@facebook.example",
            "picture": {"data": {"url": f"{self.url}/avatars/facebook-{user_id}.png", "is_silhouette": False}},
        }

    def oidc_user(self, name: str | None = None, email: str | None = None, *, verified: bool | None = True,
                  sub: str | None = None) -> dict:
        """A fresh identity at the generic OpenID Connect provider (its claims);
        ``verified=None`` leaves ``email_verified`` out."""
        sub = sub or uuid.uuid4().hex
        claims = {"sub": sub, "name": name or f"Olga {sub[-4:]}", "picture": f"{self.url}/avatars/oidc-{sub}.png",
                  "email": email or f"o{sub[-8:]}@idp.example"}
        if verified is not None:
            claims["email_verified"] = verified
        return claims

    # --- recorded traffic -----------------------------------------------------------------

    def received(self, provider: str, endpoint: str) -> list[Recorded]:
        """The recorded requests to one endpoint of one provider, oldest first."""
        with self._lock:
            return [r for r in self.requests if r.provider == provider and r.endpoint == endpoint]

    # --- server ---------------------------------------------------------------------------

    def start(self) -> None:
        """Serve in a background thread; returns once the port accepts connections."""
        app = Starlette(routes=[
            Route("/google/.well-known/openid-configuration", self._discovery),
            Route("/google/authorize", self._authorize_google),
            Route("/google/token", self._token_google, methods=["POST"]),
            Route("/google/userinfo", self._userinfo, methods=["GET", "POST"]),
            Route("/github/login/oauth/authorize", self._authorize_github),
            Route("/github/login/oauth/access_token", self._token_github, methods=["POST"]),
            Route("/github/api/user", self._github_user),
            Route("/github/api/user/emails", self._github_emails),
            Route("/facebook/dialog/oauth", self._authorize_facebook),
            Route("/facebook/oauth/access_token", self._token_facebook, methods=["POST"]),
            Route("/facebook/me", self._facebook_me),
            Route("/oidc/.well-known/openid-configuration", self._oidc_discovery),
            Route("/oidc/authorize", self._authorize_oidc),
            Route("/oidc/token", self._token_oidc, methods=["POST"]),
            Route("/oidc/userinfo", self._oidc_userinfo, methods=["GET", "POST"]),
            Route("/oidc/jwks", self._oidc_jwks),
            Route("/avatars/{name}", self._avatar),
        ])
        config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="off",
                                access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="fake-oauth", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"fake OAuth provider did not start on {self.url}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)

    # --- helpers --------------------------------------------------------------------------

    async def _record(self, request: Request, provider: str, endpoint: str) -> Recorded:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = {k: str(v) for k, v in (await request.form()).items()}
        rec = Recorded(provider, endpoint, request.method, dict(request.query_params), form,
                       {k.lower(): v for k, v in request.headers.items()})
        with self._lock:
            self.requests.append(rec)
        return rec

    @staticmethod
    def _error(rec: Recorded, error: str, description: str, status: int = 400) -> JSONResponse:
        rec.status = status
        return JSONResponse({"error": error, "error_description": description}, status_code=status)

    @staticmethod
    def _valid_redirect(provider: str, uri: str) -> bool:
        parts = urlsplit(uri)
        return (parts.scheme == "http" and parts.hostname in ("localhost", "127.0.0.1")
                and parts.path == f"/auth/{provider}/callback" and not parts.query and not parts.fragment)

    def _client_credentials(self, request: Request, form: dict[str, str]) -> tuple[str, str]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except Exception:
                return "", ""
            return unquote_plus(cid), unquote_plus(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    def _bearer(self, request: Request, provider: str) -> dict | None:
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        with self._lock:
            found = self._tokens.get(token.strip())
        if found is None or found[0] != provider:
            return None
        return found[1]

    # --- authorization --------------------------------------------------------------------

    async def _authorize(self, request: Request, provider: str) -> Response:
        rec = await self._record(request, provider, "authorize")
        q = request.query_params
        client_id, redirect = q.get("client_id", ""), q.get("redirect_uri", "")
        if client_id != CLIENTS[provider][0]:
            return self._error(rec, "invalid_client", "unknown client_id")
        if not self._valid_redirect(provider, redirect):
            return self._error(rec, "invalid_request", "redirect_uri is not registered")
        if q.get("response_type", "code") != "code":
            return self._error(rec, "unsupported_response_type", "only code is supported")
        if not q.get("state"):
            return self._error(rec, "invalid_request", "state is required")
        if not q.get("code_challenge") or q.get("code_challenge_method") != "S256":
            return self._error(rec, "invalid_request", "PKCE with code_challenge_method=S256 is required")
        if provider in ("google", "oidc") and "openid" not in q.get("scope", "").split():
            return self._error(rec, "invalid_scope", "scope must include openid")
        code = secrets.token_urlsafe(24)
        with self._lock:
            user = dict(self.next_user[provider])
            self._grants[code] = _Grant(provider, client_id, redirect, q["code_challenge"], user, q.get("scope", ""),
                                        nonce=q.get("nonce", ""))
        rec.status = 302
        return RedirectResponse(f"{redirect}?{urlencode({'code': code, 'state': q['state']})}", 302)

    async def _authorize_google(self, request: Request) -> Response:
        return await self._authorize(request, "google")

    async def _authorize_github(self, request: Request) -> Response:
        return await self._authorize(request, "github")

    # --- token ----------------------------------------------------------------------------

    async def _exchange(self, request: Request, provider: str) -> tuple[Recorded, dict | Response]:
        rec = await self._record(request, provider, "token")
        form = rec.form
        cid, secret = self._client_credentials(request, form)
        if (cid, secret) != CLIENTS[provider]:
            return rec, self._error(rec, "invalid_client", "client authentication failed", 401)
        if form.get("grant_type") != "authorization_code":
            return rec, self._error(rec, "unsupported_grant_type", "only authorization_code")
        with self._lock:
            grant = self._grants.get(form.get("code", ""))
            if grant is None or grant.used or grant.provider != provider:
                return rec, self._error(rec, "invalid_grant", "unknown or already used code")
            grant.used = True  # one use, even if the rest of the request is wrong
        if grant.client_id != cid or form.get("redirect_uri", grant.redirect_uri) != grant.redirect_uri:
            return rec, self._error(rec, "invalid_grant", "code was issued to another client or redirect_uri")
        verifier = form.get("code_verifier", "")
        if not verifier or s256(verifier) != grant.challenge:
            return rec, self._error(rec, "invalid_grant", "PKCE verification failed")
        if time.monotonic() - grant.issued > 300:
            return rec, self._error(rec, "invalid_grant", "code expired")
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (provider, grant.user)
        rec.status = 200
        return rec, {"access_token": token, "token_type": "Bearer", "scope": grant.scope, "_grant": grant}

    async def _token_google(self, request: Request) -> Response:
        _, result = await self._exchange(request, "google")
        if isinstance(result, Response):
            return result
        result.pop("_grant")
        return JSONResponse({**result, "expires_in": 3599}, headers={"Cache-Control": "no-store"})

    async def _token_github(self, request: Request) -> Response:
        _, result = await self._exchange(request, "github")
        if isinstance(result, Response):
            return result
        result.pop("_grant")
        result = {**result, "token_type": "bearer"}
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(result)
        return PlainTextResponse(urlencode(result), media_type="application/x-www-form-urlencoded")

    # --- resources ------------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        rec = await self._record(request, "google", "discovery")
        base = f"{self.url}/google"
        rec.status = 200
        return JSONResponse({
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "name", "picture", "email", "email_verified"],
        })

    async def _userinfo(self, request: Request) -> Response:
        rec = await self._record(request, "google", "userinfo")
        user = self._bearer(request, "google")
        if user is None:
            return self._error(rec, "invalid_token", "missing or unknown access token", 401)
        rec.status = 200
        return JSONResponse(user)

    async def _github_user(self, request: Request) -> Response:
        rec = await self._record(request, "github", "user")
        user = self._bearer(request, "github")
        if user is None:
            return self._error(rec, "invalid_token", "Bad credentials", 401)
        rec.status = 200
        return JSONResponse({k: user[k] for k in ("id", "login", "name", "avatar_url")})

    async def _github_emails(self, request: Request) -> Response:
        rec = await self._record(request, "github", "emails")
        user = self._bearer(request, "github")
        if user is None:
            return self._error(rec, "invalid_token", "Bad credentials", 401)
        rec.status = 200
        return JSONResponse(user["emails"])

    async def _avatar(self, request: Request) -> Response:
        return Response(PNG_1X1, media_type="image/png", headers={"Cache-Control": "max-age=3600"})

    # --- Facebook ---------------------------------------------------------------------------

    async def _authorize_facebook(self, request: Request) -> Response:
        return await self._authorize(request, "facebook")

    async def _token_facebook(self, request: Request) -> Response:
        if request.headers.get("authorization"):  # Facebook takes the secret in the body only
            rec = await self._record(request, "facebook", "token")
            return self._error(rec, "invalid_request", "send client_id and client_secret as parameters")
        _, result = await self._exchange(request, "facebook")
        if isinstance(result, Response):
            return result
        result.pop("_grant")
        return JSONResponse({"access_token": result["access_token"], "token_type": "bearer", "expires_in": 5183944})

    async def _facebook_me(self, request: Request) -> Response:
        rec = await self._record(request, "facebook", "me")
        user = self._bearer(request, "facebook")
        if user is None:
            return self._error(rec, "OAuthException", "Invalid OAuth access token", 400)
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        expected = hmac.new(CLIENTS["facebook"][1].encode(), token.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(rec.query.get("appsecret_proof", ""), expected):
            return self._error(rec, "OAuthException", "Invalid appsecret_proof provided in the API argument", 400)
        fields = [f.split(".")[0] for f in rec.query.get("fields", "id,name").split(",")]
        rec.status = 200
        return JSONResponse({k: user[k] for k in fields if k in user})

    # --- generic OpenID Connect -------------------------------------------------------------

    async def _oidc_discovery(self, request: Request) -> Response:
        rec = await self._record(request, "oidc", "discovery")
        base = f"{self.url}/oidc"
        rec.status = 200
        return JSONResponse({
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        })

    async def _authorize_oidc(self, request: Request) -> Response:
        return await self._authorize(request, "oidc")

    async def _token_oidc(self, request: Request) -> Response:
        _, result = await self._exchange(request, "oidc")
        if isinstance(result, Response):
            return result
        grant: _Grant = result.pop("_grant")
        now = int(time.time())
        claims = {"iss": f"{self.url}/oidc", "aud": grant.client_id, "iat": now, "exp": now + 300,
                  **grant.user}
        if grant.nonce:
            claims["nonce"] = grant.nonce
        claims.update(self.id_token_overrides)
        key = self._foreign_key if self.sign_with_foreign_key else self._key
        id_token = jwt.encode({"alg": "RS256", "kid": "fake-oidc-1"}, claims, key)
        return JSONResponse({**result, "expires_in": 3600, "id_token": id_token},
                            headers={"Cache-Control": "no-store"})

    async def _oidc_userinfo(self, request: Request) -> Response:
        rec = await self._record(request, "oidc", "userinfo")
        user = self._bearer(request, "oidc")
        if user is None:
            return self._error(rec, "invalid_token", "missing or unknown access token", 401)
        rec.status = 200
        return JSONResponse(user)

    async def _oidc_jwks(self, request: Request) -> Response:
        rec = await self._record(request, "oidc", "jwks")
        rec.status = 200
        return JSONResponse({"keys": [self._key.as_dict(private=False)]})
