"""Facebook and generic OpenID Connect logins (``sessions_app/oauth_more.py``), the whole code
exchange against the local provider in ``tests/support/fake_oauth.py`` — strict about client
credentials, redirect URIs, single-use codes and PKCE — plus the id_token checks (signature,
issuer, audience, expiry, nonce) and the pre-hijacking rule for both providers."""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from sessions_app import oauth, oauth_more
from sessions_app.models import LoginTicket, OAuthAccount, User, utcnow
from sessions_app.services import accounts
from sessions_app.services.errors import ServiceError
from tests.support.fake_oauth import FakeOAuthProvider, s256

PASSWORD = "correct horse battery staple"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def provider():
    fake = FakeOAuthProvider(_free_port())
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def configured(settings_env, provider):
    """Facebook and the OIDC provider pointed at the local one (GitHub and Google off)."""
    settings_env(
        BACKEND_URL="http://localhost:8000",
        GITHUB_CLIENT_ID="", GOOGLE_CLIENT_ID="",
        FACEBOOK_CLIENT_ID="fb-app",
        FACEBOOK_CLIENT_SECRET="fb-secret",
        FACEBOOK_AUTHORIZE_URL=f"{provider.url}/facebook/dialog/oauth",
        FACEBOOK_TOKEN_URL=f"{provider.url}/facebook/oauth/access_token",
        FACEBOOK_API_URL=f"{provider.url}/facebook",
        OIDC_NAME="Campus ID",
        OIDC_DISCOVERY_URL=f"{provider.url}/oidc/.well-known/openid-configuration",
        OIDC_CLIENT_ID="oidc-client",
        OIDC_CLIENT_SECRET="oidc-secret",
    )
    provider.id_token_overrides = {}
    provider.sign_with_foreign_key = False
    yield provider
    provider.id_token_overrides = {}
    provider.sign_with_foreign_key = False


def _authorize(url: str) -> dict[str, str]:
    resp = httpx.get(url, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


def login(db, name: str, next_path: str = "/lobby") -> tuple[str, str, str]:
    """begin + the provider's approval + finish; returns (authorization URL, state, ticket)."""
    url, state = asyncio.run(oauth.begin(db, provider=name, next_path=next_path))
    db.commit()
    back = _authorize(url)
    assert back["state"] == state
    ticket = asyncio.run(oauth.finish(db, provider=name, code=back["code"], state=back["state"]))
    db.commit()
    return url, state, ticket


def refused_login(db, name: str) -> str:
    url, state = asyncio.run(oauth.begin(db, provider=name, next_path="/lobby"))
    db.commit()
    back = _authorize(url)
    with pytest.raises(ServiceError) as info:
        asyncio.run(oauth.finish(db, provider=name, code=back["code"], state=back["state"]))
    db.rollback()
    return info.value.message


def verified_password_user(db, email: str, *, verified: bool = True) -> User:
    user = accounts.sign_up(db, name="Ada Lovelace", email=email, password=PASSWORD)
    if verified:
        user.email_verified_at = utcnow()
    db.add(user)
    db.commit()
    return user


# --- configuration ----------------------------------------------------------------------------


def test_providers_are_offered_only_when_fully_configured(settings_env):
    settings_env(GITHUB_CLIENT_ID="", GOOGLE_CLIENT_ID="", FACEBOOK_CLIENT_ID="id", FACEBOOK_CLIENT_SECRET="",
                 OIDC_DISCOVERY_URL="", OIDC_CLIENT_ID="id", OIDC_CLIENT_SECRET="s")
    assert oauth.configured() == []
    settings_env(FACEBOOK_CLIENT_SECRET="s", OIDC_DISCOVERY_URL="https://idp.example/.well-known/openid-configuration")
    assert oauth.configured() == ["facebook", "oidc"]
    assert oauth_more.button_label() == "OpenID Connect"
    settings_env(OIDC_NAME="Campus ID")
    assert oauth_more.button_label() == "Campus ID"


def test_begin_refuses_them_when_not_configured(db, settings_env):
    settings_env(FACEBOOK_CLIENT_ID="", OIDC_CLIENT_ID="")
    for name in ("facebook", "oidc"):
        with pytest.raises(ServiceError) as info:
            asyncio.run(oauth.begin(db, provider=name, next_path="/lobby"))
        assert info.value.message == oauth.ERR_UNAVAILABLE


# --- Facebook ---------------------------------------------------------------------------------


def test_facebook_login_creates_an_account_from_name_and_picture(db, configured):
    ident = configured.facebook_user("Fay Book")
    configured.next_user["facebook"] = ident
    url, state, ticket = login(db, "facebook", "/profile")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query["code_challenge_method"] == "S256" and query["scope"] == "public_profile"
    assert query["redirect_uri"] == "http://localhost:8000/auth/facebook/callback"
    user = db.exec(select(User)).one()
    assert (user.display_name, user.avatar_url) == ("Fay Book", ident["picture"]["data"]["url"])
    assert user.email is None and user.email_verified_at is None  # Facebook never says "verified"
    link = db.exec(select(OAuthAccount)).one()
    assert (link.provider, link.subject, link.user_id) == ("facebook", ident["id"], user.id)
    token = configured.received("facebook", "token")[-1]
    assert token.status == 200 and token.form["client_secret"] == "fb-secret"  # in the body, as Facebook wants
    assert s256(token.form["code_verifier"]) == query["code_challenge"]
    me = configured.received("facebook", "me")[-1]
    assert me.status == 200 and "email" not in me.query["fields"]  # no address asked for
    session_token, next_path = accounts.redeem_login_ticket(db, ticket=ticket, binding=state)
    assert next_path == "/profile" and accounts.user_for_token(db, session_token).id == user.id
    # The next login finds the same account.
    configured.next_user["facebook"] = {**ident, "name": "Renamed"}
    login(db, "facebook")
    assert len(db.exec(select(User)).all()) == 1


def test_facebook_login_never_joins_an_account_by_email(db, configured):
    """Pre-hijacking: even a *confirmed* account is not joined through Facebook's say-so,
    since Facebook does not state that the address was verified."""
    victim = verified_password_user(db, "victim@example.com")
    configured.next_user["facebook"] = configured.facebook_user("Mallory", email="victim@example.com")
    login(db, "facebook")
    mallory = db.exec(select(User).where(User.display_name == "Mallory")).one()
    assert mallory.id != victim.id and mallory.email is None
    assert db.exec(select(OAuthAccount).where(OAuthAccount.user_id == victim.id)).all() == []


# --- OpenID Connect ---------------------------------------------------------------------------


def test_oidc_login_uses_discovery_pkce_and_a_nonce_bound_to_the_state(db, configured):
    ident = configured.oidc_user("Olga Campus", "olga@uni.example")
    configured.next_user["oidc"] = ident
    url, state, ticket = login(db, "oidc", "/profile")
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(f"{configured.url}/oidc/authorize?")  # from the discovery document
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    assert query["nonce"] == oauth_more.nonce_for(state) and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == "http://localhost:8000/auth/oidc/callback"
    user = db.exec(select(User)).one()
    assert (user.display_name, user.email) == ("Olga Campus", "olga@uni.example")
    assert user.email_verified_at is not None and user.avatar_url == ident["picture"]
    link = db.exec(select(OAuthAccount)).one()
    assert link.provider == "oidc" and link.subject.endswith(":" + ident["sub"])
    assert configured.received("oidc", "jwks")  # the id_token's signature was checked
    session_token, _ = accounts.redeem_login_ticket(db, ticket=ticket, binding=state)
    assert accounts.user_for_token(db, session_token).id == user.id


def test_oidc_verified_email_joins_the_confirmed_account(db, configured):
    existing = verified_password_user(db, "ada@example.com")
    configured.next_user["oidc"] = configured.oidc_user("Ada at Campus", "ADA@example.com")
    login(db, "oidc")
    assert db.exec(select(OAuthAccount)).one().user_id == existing.id
    assert len(db.exec(select(User)).all()) == 1


@pytest.mark.parametrize("verified", [False, None, "yes"])
def test_oidc_unverified_email_never_joins_an_account(db, configured, verified):
    victim = verified_password_user(db, "victim@example.com")
    ident = configured.oidc_user("Mallory", "victim@example.com", verified=None)
    if verified is not None:
        ident["email_verified"] = verified
    configured.next_user["oidc"] = ident
    login(db, "oidc")
    mallory = db.exec(select(User).where(User.display_name == "Mallory")).one()
    assert mallory.id != victim.id and mallory.email is None


def test_oidc_login_to_an_unconfirmed_account_is_refused(db, configured):
    verified_password_user(db, "ada@example.com", verified=False)
    configured.next_user["oidc"] = configured.oidc_user("Ada?", "ada@example.com")
    assert refused_login(db, "oidc") == oauth.ERR_UNVERIFIED
    assert len(db.exec(select(User)).all()) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        {"nonce": "a-nonce-from-another-login"},
        {"aud": "some-other-client"},
        {"iss": "https://evil.example"},
        {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200},
        "foreign-key",
    ],
)
def test_an_id_token_that_fails_a_check_logs_nobody_in(db, configured, tamper):
    configured.next_user["oidc"] = configured.oidc_user("Forged")
    if tamper == "foreign-key":
        configured.sign_with_foreign_key = True
    else:
        configured.id_token_overrides = tamper
    assert refused_login(db, "oidc") == oauth.ERR_REFUSED
    assert db.exec(select(User)).all() == [] and db.exec(select(LoginTicket)).all() == []


def test_the_same_sub_at_another_issuer_is_another_identity():
    assert oauth_more._oidc_subject("https://a.example", "42") != oauth_more._oidc_subject("https://b.example", "42")
    with pytest.raises(ValueError):
        oauth_more._oidc_subject("https://a.example", "x" * 201)
    with pytest.raises(ValueError):
        oauth_more._oidc_subject("", "42")
