"""End to end: Facebook and a generic OpenID Connect login through the local provider
(``tests/support/fake_oauth.py``), their buttons, and the original product's session URLs
redirecting to today's."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.e2e.conftest import goto
from tests.support.factories import app_db, plan_session
from tests.support.fake_oauth import s256


def _records(oauth_provider, provider: str, since: int, endpoint: str):
    return [r for r in oauth_provider.requests[since:] if r.provider == provider and r.endpoint == endpoint]


def _log_out(page: Page) -> None:
    page.click("#logout")
    page.wait_for_url(re.compile(r"^https?://[^/]+/$"))
    expect(page.locator("#user-menu")).to_have_count(0)


def test_login_page_offers_every_configured_provider(new_context):
    _, page, _ = new_context()
    goto(page, "/login")
    for provider in ("github", "google", "facebook", "oidc"):
        expect(page.locator(f"#oauth-{provider}")).to_be_visible()
    expect(page.locator("#oauth-facebook")).to_have_text("Continue with Facebook")
    expect(page.locator("#oauth-oidc")).to_have_text("Continue with Campus ID")  # OIDC_NAME
    goto(page, "/signup")
    expect(page.locator("#oauth-oidc")).to_be_visible()


def test_facebook_login_creates_profile_from_provider(new_context, oauth_provider):
    ident = oauth_provider.facebook_user(name="Fay Facebook")
    oauth_provider.next_user["facebook"] = ident
    since = len(oauth_provider.requests)
    _, page, _ = new_context()
    goto(page, "/login")
    page.click("#oauth-facebook")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Fay Facebook")
    expect(page.locator(f"img[src='{ident['picture']['data']['url']}']").first).to_be_visible()

    authorize = _records(oauth_provider, "facebook", since, "authorize")
    token = _records(oauth_provider, "facebook", since, "token")
    me = _records(oauth_provider, "facebook", since, "me")
    assert len(authorize) == len(token) == len(me) == 1 and token[0].status == me[0].status == 200
    assert authorize[0].query["code_challenge_method"] == "S256"
    assert s256(token[0].form["code_verifier"]) == authorize[0].query["code_challenge"]
    assert "fb-secret" not in page.url and "fb-secret" not in str(authorize[0].query)

    # The same Facebook identity comes back to the same account.
    _log_out(page)
    goto(page, "/login")
    page.click("#oauth-facebook")
    page.wait_for_url(re.compile(r"/lobby$"))
    expect(page.locator("#user-menu")).to_have_text("Fay Facebook")


def test_oidc_login_creates_profile_and_returns_to_next(new_context, oauth_provider):
    ident = oauth_provider.oidc_user(name="Olga Campus")
    oauth_provider.next_user["oidc"] = ident
    since = len(oauth_provider.requests)
    _, page, _ = new_context()
    goto(page, "/login?next=/profile")
    page.click("#oauth-oidc")
    page.wait_for_url(re.compile(r"/profile/?$"))
    expect(page.locator("#profile-name")).to_have_text("Olga Campus")
    endpoints = [r.endpoint for r in oauth_provider.requests[since:] if r.provider == "oidc"]
    assert {"discovery", "authorize", "token", "jwks", "userinfo"} <= set(endpoints)
    authorize = _records(oauth_provider, "oidc", since, "authorize")[0]
    assert authorize.query["nonce"] and "openid" in authorize.query["scope"].split()


def test_oidc_login_with_a_forged_id_token_is_refused(new_context, oauth_provider):
    oauth_provider.next_user["oidc"] = oauth_provider.oidc_user(name="Forged Fred")
    oauth_provider.id_token_overrides = {"aud": "another-app"}
    try:
        _, page, _ = new_context()
        goto(page, "/login")
        page.click("#oauth-oidc")
        page.wait_for_url(re.compile(r"/login"))
        expect(page.locator("#form-error")).to_contain_text("refused the login")
        expect(page.locator("#user-menu")).to_have_count(0)
    finally:
        oauth_provider.id_token_overrides = {}


def test_original_session_urls_redirect_to_todays(student, app_server):
    ada = student("Ada Redirect", at=None)
    page = ada.page
    goto(page, "/session/create")
    page.wait_for_url(re.compile(r"/sessions/new/?$"))
    expect(page.locator("#session-title")).to_be_visible()

    day = (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    with app_db(app_server.database_url) as db:
        session_id = plan_session(db, ada.user_id, now=datetime.now(UTC), date=day, title="Old link, new page").id
    goto(page, f"/session/{session_id}/edit")
    page.wait_for_url(re.compile(rf"/sessions/{session_id}/edit/?$"))
    expect(page.locator("#session-title")).to_have_value("Old link, new page")

    goto(page, "/session/not-a-number/edit")
    page.wait_for_url(re.compile(r"/sessions/?$"))
