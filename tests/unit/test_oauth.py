"""Unit tests of the OAuth login service: accounts from provider profiles, ``state`` handling,
and the whole code exchange against the local provider from ``tests/support/fake_oauth.py``.

The provider is strict (client credentials, redirect URI, one use per code, PKCE S256), so
``begin`` + ``finish`` passing here means the app speaks the protocol correctly.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlmodel import select

from sessions_app import oauth
from sessions_app.models import AuthSession, LoginTicket, OAuthAccount, OAuthState, User, utcnow
from sessions_app.oauth import Profile
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
    """The local Google-style and GitHub-style provider, for this module."""
    fake = FakeOAuthProvider(_free_port())
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture
def configured(settings_env, provider):
    """Settings that point both providers at the local one."""
    settings_env(
        BACKEND_URL="http://localhost:8000",
        GITHUB_CLIENT_ID="gh-client",
        GITHUB_CLIENT_SECRET="gh-secret",
        GITHUB_AUTHORIZE_URL=f"{provider.url}/github/login/oauth/authorize",
        GITHUB_TOKEN_URL=f"{provider.url}/github/login/oauth/access_token",
        GITHUB_API_URL=f"{provider.url}/github/api",
        GOOGLE_CLIENT_ID="google-client",
        GOOGLE_CLIENT_SECRET="google-secret",
        GOOGLE_DISCOVERY_URL=f"{provider.url}/google/.well-known/openid-configuration",
    )
    return provider


def refused(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    return info.value


def profile(subject="sub-1", name="Grace Hopper", avatar="https://img.example/g.png", email=None) -> Profile:
    return Profile(subject=subject, name=name, avatar_url=avatar, email=email)


def password_user(db, name="Ada Lovelace", email="ada@example.com") -> User:
    user = accounts.sign_up(db, name=name, email=email, password=PASSWORD)
    db.commit()
    return user


# --- accounts from profiles --------------------------------------------------------------------


def test_first_login_creates_the_profile_from_name_and_avatar(db):
    user = oauth.user_for_profile(db, provider="google", profile=profile(email="Grace@Example.com"))
    db.commit()
    assert (user.display_name, user.avatar_url, user.email) == ("Grace Hopper", "https://img.example/g.png",
                                                                "grace@example.com")
    assert user.password_hash is None
    link = db.exec(select(OAuthAccount)).one()
    assert (link.user_id, link.provider, link.subject) == (user.id, "google", "sub-1")


def test_next_login_finds_the_linked_account_even_if_the_profile_changed(db):
    first = oauth.user_for_profile(db, provider="github", profile=profile(subject="42", email="a@example.com"))
    db.commit()
    again = oauth.user_for_profile(db, provider="github",
                                   profile=profile(subject="42", name="New Name", email="b@example.com"))
    assert again.id == first.id
    assert again.display_name == "Grace Hopper"  # the student's name is theirs to change, not the provider's
    assert len(db.exec(select(User)).all()) == 1


def test_verified_email_signs_into_the_existing_password_account(db):
    """Only once the account's owner confirmed the address (tests/unit/test_recovery.py
    checks that an unconfirmed one is refused)."""
    existing = password_user(db)
    existing.email_verified_at = utcnow()
    db.add(existing)
    db.commit()
    user = oauth.user_for_profile(db, provider="google",
                                  profile=profile(name="Ada From Google", email="ADA@example.com"))
    db.commit()
    assert user.id == existing.id
    assert user.display_name == "Ada Lovelace"
    assert db.exec(select(OAuthAccount)).one().user_id == existing.id
    # Both ways in keep working.
    assert accounts.authenticate(db, email="ada@example.com", password=PASSWORD, client="c").id == existing.id
    # A second provider with the same verified email joins the same account.
    again = oauth.user_for_profile(db, provider="github", profile=profile(subject="7", email="ada@example.com"))
    assert again.id == existing.id
    assert len(db.exec(select(User)).all()) == 1


def test_unverified_email_never_signs_into_an_existing_account(db):
    existing = password_user(db)
    # ``Profile.email`` is None when the provider did not verify it: a new account, no email.
    user = oauth.user_for_profile(db, provider="github", profile=profile(subject="9", name="Impostor", email=None))
    db.commit()
    assert user.id != existing.id and user.email is None
    assert db.exec(select(OAuthAccount).where(OAuthAccount.user_id == existing.id)).all() == []


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("", "Student"),
        ("   ", "Student"),
        (None, "Student"),
        ("A" * 60, "A" * 40),
        ("Bad\x00Name\u200b", "BadName"),
        ("  Grace   Brewster  Hopper ", "Grace Brewster Hopper"),
    ],
)
def test_provider_names_are_made_valid_instead_of_refused(db, given, shown):
    user = oauth.user_for_profile(db, provider="github", profile=profile(name=given))
    assert user.display_name == shown
    assert accounts.clean_display_name(user.display_name) == shown


@pytest.mark.parametrize(
    "avatar",
    ["javascript:alert(1)", "data:image/png;base64,AAAA", "https://x.example/" + "a" * 600, "https://x/\" onerror=1"],
)
def test_unsafe_or_overlong_avatar_urls_are_dropped(db, avatar):
    assert oauth.user_for_profile(db, provider="github", profile=profile(avatar=avatar)).avatar_url == ""


# --- configuration and state ------------------------------------------------------------------


def test_only_providers_with_id_and_secret_are_offered(settings_env):
    settings_env(GITHUB_CLIENT_ID="id", GITHUB_CLIENT_SECRET="", GOOGLE_CLIENT_ID="id", GOOGLE_CLIENT_SECRET="s")
    assert oauth.configured() == ["google"]
    settings_env(GITHUB_CLIENT_SECRET="s", GOOGLE_CLIENT_ID="")
    assert oauth.configured() == ["github"]


def test_begin_refuses_a_provider_that_is_not_configured(db, settings_env):
    settings_env(GITHUB_CLIENT_ID="", GITHUB_CLIENT_SECRET="")
    with pytest.raises(ServiceError) as info:
        asyncio.run(oauth.begin(db, provider="github", next_path="/lobby"))
    assert info.value.message == oauth.ERR_UNAVAILABLE
    with pytest.raises(ServiceError):
        asyncio.run(oauth.begin(db, provider="facebook", next_path="/lobby"))


def test_begin_stores_state_and_pkce_and_sends_only_the_challenge(db, configured):
    url, state = asyncio.run(oauth.begin(db, provider="github", next_path="//evil.example"))
    db.commit()
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    row = db.get(OAuthState, state)
    assert query["state"] == state and len(state) >= 40
    assert query["code_challenge_method"] == "S256"
    assert query["code_challenge"] == s256(row.code_verifier)
    assert row.code_verifier not in url and "gh-secret" not in url
    assert query["redirect_uri"] == "http://localhost:8000/auth/github/callback"
    assert row.next_path == "/lobby"  # an open redirect is not stored


def _state_row(db, provider="google", age=timedelta(0)) -> str:
    db.add(OAuthState(state="s" * 43, provider=provider, code_verifier="v" * 64, created_at=utcnow() - age))
    db.commit()
    return "s" * 43


@pytest.mark.parametrize("state", ["", "bogus", "x" * 500])
def test_missing_or_unknown_state_is_refused(db, state):
    _state_row(db)
    assert refused(oauth._consume_state, db, provider="google", state=state).message == oauth.ERR_STATE


def test_state_of_another_provider_is_refused(db):
    state = _state_row(db, provider="google")
    assert refused(oauth._consume_state, db, provider="github", state=state).message == oauth.ERR_STATE


def test_state_works_once(db):
    state = _state_row(db)
    assert oauth._consume_state(db, provider="google", state=state).code_verifier == "v" * 64
    assert refused(oauth._consume_state, db, provider="google", state=state).message == oauth.ERR_STATE


def test_old_state_is_refused_and_used_up(db):
    state = _state_row(db, age=oauth.STATE_TTL + timedelta(seconds=1))
    assert refused(oauth._consume_state, db, provider="google", state=state).message == oauth.ERR_EXPIRED
    assert db.get(OAuthState, state) is None


def test_every_finish_refusal_is_a_known_message():
    assert oauth.ERR_STATE in oauth.MESSAGES and oauth.ERR_UNVERIFIED in oauth.MESSAGES
    assert len(oauth.MESSAGES) == 7


# --- the whole exchange against the local provider -------------------------------------------


def _authorize(url: str) -> dict[str, str]:
    """What the provider sends the browser back with (it approves at once)."""
    resp = httpx.get(url, follow_redirects=False)
    assert resp.status_code == 302, resp.text
    return {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}


@pytest.mark.parametrize("name", ["google", "github"])
def test_full_login_creates_user_and_a_ticket_only_that_tab_can_redeem(db, configured, name):
    ident = configured.google_user("Grace Hopper") if name == "google" else configured.github_user("Linus T")
    configured.next_user[name] = ident
    url, state = asyncio.run(oauth.begin(db, provider=name, next_path="/profile"))
    db.commit()
    back = _authorize(url)
    assert back["state"] == state

    ticket = asyncio.run(oauth.finish(db, provider=name, code=back["code"], state=back["state"]))
    db.commit()

    user = db.exec(select(User)).one()
    assert user.display_name == ident["name"]
    assert user.avatar_url == (ident["picture"] if name == "google" else ident["avatar_url"])
    expected_email = ident["email"] if name == "google" else ident["emails"][0]["email"]
    assert user.email == expected_email
    token_req = configured.received(name, "token")[-1]
    assert token_req.status == 200 and s256(token_req.form["code_verifier"]) == parse_qs(
        urlsplit(url).query)["code_challenge"][0]
    # Another tab (or browser) cannot use the ticket; the tab that began the login can, once.
    assert accounts.redeem_login_ticket(db, ticket=ticket) is None
    assert accounts.redeem_login_ticket(db, ticket=ticket, binding="another-state") is None
    session_token, next_path = accounts.redeem_login_ticket(db, ticket=ticket, binding=state)
    db.commit()
    assert next_path == "/profile"
    assert accounts.user_for_token(db, session_token).id == user.id
    assert accounts.redeem_login_ticket(db, ticket=ticket, binding=state) is None


def test_callback_cannot_be_replayed(db, configured):
    configured.next_user["google"] = configured.google_user()
    url, _ = asyncio.run(oauth.begin(db, provider="google", next_path="/lobby"))
    db.commit()
    back = _authorize(url)
    asyncio.run(oauth.finish(db, provider="google", code=back["code"], state=back["state"]))
    db.commit()
    with pytest.raises(ServiceError) as info:
        asyncio.run(oauth.finish(db, provider="google", code=back["code"], state=back["state"]))
    assert info.value.message == oauth.ERR_STATE


def test_a_wrong_pkce_verifier_is_refused_by_the_provider(db, configured):
    configured.next_user["github"] = configured.github_user()
    url, state = asyncio.run(oauth.begin(db, provider="github", next_path="/lobby"))
    row = db.get(OAuthState, state)
    row.code_verifier = "tampered-" + row.code_verifier[9:]
    db.add(row)
    db.commit()
    back = _authorize(url)
    with pytest.raises(ServiceError) as info:
        asyncio.run(oauth.finish(db, provider="github", code=back["code"], state=back["state"]))
    assert info.value.message == oauth.ERR_REFUSED
    assert configured.received("github", "token")[-1].status == 400
    db.rollback()
    assert db.exec(select(User)).all() == [] and db.exec(select(LoginTicket)).all() == []
    assert db.get(OAuthState, state) is None  # the state is used up all the same


def test_a_denied_login_uses_up_the_state_and_logs_nobody_in(db, configured):
    url, state = asyncio.run(oauth.begin(db, provider="google", next_path="/lobby"))
    db.commit()
    with pytest.raises(ServiceError) as info:
        asyncio.run(oauth.finish(db, provider="google", code="", state=state))  # ?error=access_denied
    assert info.value.message == oauth.ERR_DENIED
    db.rollback()
    assert db.get(OAuthState, state) is None
    assert db.exec(select(AuthSession)).all() == []


def test_unverified_github_email_is_not_used(db, configured):
    password_user(db, email="victim@example.com")
    configured.next_user["github"] = configured.github_user("Mallory", "victim@example.com", verified=False)
    url, _ = asyncio.run(oauth.begin(db, provider="github", next_path="/lobby"))
    db.commit()
    back = _authorize(url)
    asyncio.run(oauth.finish(db, provider="github", code=back["code"], state=back["state"]))
    db.commit()
    mallory = db.exec(select(User).where(User.display_name == "Mallory")).one()
    assert mallory.email is None
