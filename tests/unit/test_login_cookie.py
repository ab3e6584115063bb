"""Unit tests of the server-set login cookie (issue 10, item 6) and of the leftovers and
headers work (item 10): the hand-off routes, the cookie held back from Reflex's cached
headers, the security headers middleware, the OAuth start limit and the expiry purges.
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import re
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sessions_app import db as db_module
from sessions_app import login_cookie, oauth, realtime
from sessions_app.models import AuthSession, LoginTicket, OAuthState, utcnow
from sessions_app.security_headers import content_security_policy, with_security_headers
from sessions_app.services import accounts
from sessions_app.services.errors import RateLimited
from sessions_app.services.tokens import hash_token
from sessions_app.settings import get_settings

PASSWORD = "correct horse battery staple"


def _user(db, email="ada@example.com"):
    user = accounts.sign_up(db, name="Ada", email=email, password=PASSWORD)
    db.commit()
    return user


@pytest.fixture
def routes_client(engine, monkeypatch, settings_env):
    """The login routes on a Starlette test client, on the test database."""
    settings_env(PUBLIC_URL="http://app.test", BACKEND_URL="http://app.test")
    monkeypatch.setattr(db_module, "get_engine", lambda: engine)
    app = Starlette(routes=login_cookie.LOGIN_ROUTES)
    return TestClient(app, base_url="http://app.test", follow_redirects=False)


def _parse_handoff(script: str) -> tuple[str, str, str]:
    """(nonce cookie string, nonce, hand-off URL) from the hand-off script."""
    cookie = re.search(r'document\.cookie = "([^"]+)"', script).group(1)
    nonce = cookie.split(";")[0].split("=", 1)[1]
    url = re.search(r'window\.location\.assign\("([^"]+)"\)', script).group(1)
    return cookie, nonce, url


# --- the hand-off ------------------------------------------------------------------------------


def test_handoff_sets_an_http_only_cookie_once_and_only_with_the_nonce(db, routes_client):
    user = _user(db)
    script = login_cookie.handoff_script(db, user_id=user.id, next_path="/profile")
    db.commit()
    cookie, nonce, url = _parse_handoff(script)
    assert "Path=/auth/session" in cookie and "SameSite=Strict" in cookie
    assert url.startswith("http://app.test/auth/session?ticket=")
    path = urlsplit(url).path + "?" + urlsplit(url).query

    # Without the nonce cookie (a link opened in another browser) nobody is logged in, and
    # the ticket is not used up by the attempt.
    refused = routes_client.get(path)
    assert refused.status_code == 303 and "error=" in refused.headers["location"]
    assert login_cookie.LOGIN_COOKIE not in refused.cookies
    routes_client.cookies.set(login_cookie.HANDOFF_COOKIE, "wrong-nonce", path="/auth/session")
    assert "error=" in routes_client.get(path).headers["location"]

    routes_client.cookies.clear()
    routes_client.cookies.set(login_cookie.HANDOFF_COOKIE, nonce, path="/auth/session")
    ok = routes_client.get(path)
    assert ok.status_code == 303 and ok.headers["location"] == "http://app.test/auth/complete?next=%2Fprofile"
    set_cookie = [v for k, v in ok.headers.multi_items() if k == "set-cookie"]
    login = next(v for v in set_cookie if v.startswith(f"{login_cookie.LOGIN_COOKIE}="))
    assert "HttpOnly" in login and "SameSite=lax" in login and "Path=/" in login and "Secure" not in login
    token = login.split(";")[0].split("=", 1)[1]
    assert accounts.user_for_token(db, token).id == user.id
    db.rollback()  # end the read: SQLite transactions here take the write lock
    # The nonce cookie is cleared, and the ticket works once.
    assert any(v.startswith(f"{login_cookie.HANDOFF_COOKIE}=") and "Max-Age=0" in v for v in set_cookie)
    routes_client.cookies.set(login_cookie.HANDOFF_COOKIE, nonce, path="/auth/session")
    assert "error=" in routes_client.get(path).headers["location"]


def test_login_cookie_is_secure_on_https(db, routes_client, settings_env):
    settings_env(PUBLIC_URL="https://app.test", BACKEND_URL="https://app.test")
    user = _user(db)
    cookie, nonce, url = _parse_handoff(login_cookie.handoff_script(db, user_id=user.id, next_path="/lobby"))
    db.commit()
    assert cookie.endswith("; Secure")
    client = TestClient(Starlette(routes=login_cookie.LOGIN_ROUTES), base_url="https://app.test",
                        follow_redirects=False)
    client.cookies.set(login_cookie.HANDOFF_COOKIE, nonce, path="/auth/session")
    response = client.get(urlsplit(url).path + "?" + urlsplit(url).query)
    login = next(v for k, v in response.headers.multi_items()
                 if k == "set-cookie" and v.startswith(f"{login_cookie.LOGIN_COOKIE}="))
    assert "Secure" in login and "HttpOnly" in login


def test_logout_route_clears_only_a_revoked_login(db, routes_client):
    user = _user(db)
    token = accounts.start_session(db, user_id=user.id)
    db.commit()
    routes_client.cookies.set(login_cookie.LOGIN_COOKIE, token)
    # A link to the route (logout CSRF) does not end a live login.
    live = routes_client.get("/auth/logout?next=/lobby")
    assert live.status_code == 303 and live.headers["location"] == "http://app.test/lobby"
    assert "set-cookie" not in live.headers
    # After the handler revoked it, the route clears the cookie.
    accounts.end_session(db, token=token)
    db.commit()
    gone = routes_client.get("/auth/logout?next=//evil.example")
    assert gone.headers["location"] == "http://app.test/lobby"  # no open redirect
    assert f'{login_cookie.LOGIN_COOKIE}=""' in gone.headers["set-cookie"] and "Max-Age=0" in gone.headers["set-cookie"]


# --- the cookie held back from Reflex's state ---------------------------------------------------


def test_split_cookie_takes_the_login_out_and_keeps_the_rest():
    split = realtime._split_cookie
    assert split("a=1; sessions_token=abc; b=2", "sessions_token") == ("abc", "a=1; b=2")
    assert split("sessions_token=first; sessions_token=second", "sessions_token") == ("first", "")
    assert split("", "sessions_token") == ("", "")
    assert split("x_sessions_token=no", "sessions_token") == ("", "x_sessions_token=no")


def test_held_back_cookie_leaves_the_cached_headers_and_is_read_per_socket(monkeypatch):
    cached = {}

    class Namespace:
        def _build_static_router_data(self, sid, environ):
            cached[sid] = {"headers": {"cookie": environ["cookie"], "host": "app.test"}, "sid": sid}
            return cached[sid]

        def on_disconnect(self, sid):
            return "disconnected"

    ns = Namespace()
    monkeypatch.setattr(realtime, "_app", SimpleNamespace(event_namespace=ns))
    realtime._install_cookie_hold("sessions_token")

    data = ns._build_static_router_data("sid-1", {"cookie": "theme=dark; sessions_token=secret-value"})
    assert data["headers"] == {"cookie": "theme=dark", "host": "app.test"}
    assert "secret-value" not in repr(cached)
    ns._build_static_router_data("sid-2", {"cookie": "sessions_token=other"})
    assert "cookie" not in cached["sid-2"]["headers"]
    assert realtime.held_cookie("sid-1") == "secret-value" and realtime.held_cookie("sid-2") == "other"
    assert realtime.held_cookie("") == "" and realtime.held_cookie("unknown") == ""
    assert ns.on_disconnect("sid-1") == "disconnected"
    assert realtime.held_cookie("sid-1") == ""
    ns.on_disconnect("sid-2")


# --- security headers -------------------------------------------------------------------------


def _headers_app() -> TestClient:
    async def plain(request):
        return PlainTextResponse("ok")

    async def framed(request):
        return PlainTextResponse("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    app = Starlette(routes=[Route("/ping", plain), Route("/own", framed)])
    return TestClient(with_security_headers(app))


def test_every_response_carries_the_security_headers(settings_env):
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")
    response = _headers_app().get("/ping")
    csp = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp and "default-src 'self'" in csp
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "strict-transport-security" not in response.headers  # plain http: no HSTS
    # A header a route sets itself is kept, not doubled.
    own = _headers_app().get("/own")
    assert own.headers.get_list("x-frame-options") == ["SAMEORIGIN"]


def _script_src(headers) -> str:
    return next(d for d in headers["content-security-policy"].split("; ") if d.startswith("script-src"))


def test_html_pages_allow_exactly_their_own_inline_scripts(settings_env):
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")
    page = b"<html><script>window.boot = 1;</script><script src='/app.js'></script><p>hi</p></html>"
    expected = "'sha256-" + base64.b64encode(hashlib.sha256(b"window.boot = 1;").digest()).decode() + "'"

    async def html(request):
        return HTMLResponse(page)

    async def gzipped(request):
        return Response(gzip.compress(page), media_type="text/html", headers={"Content-Encoding": "gzip"})

    async def streamed(request):
        async def parts():
            yield page[:20]
            yield page[20:]
        return StreamingResponse(parts(), media_type="text/html")

    async def unknown(request):
        return Response(b"\x00", media_type="text/html", headers={"Content-Encoding": "br"})

    client = TestClient(with_security_headers(Starlette(routes=[
        Route("/", html), Route("/gz", gzipped), Route("/stream", streamed), Route("/br", unknown)])))
    for path in ("/", "/gz", "/stream"):
        response = client.get(path, headers={"Accept-Encoding": "identity"})
        assert _script_src(response.headers) == f"script-src 'self' 'unsafe-eval' {expected}", path
        assert "'unsafe-inline'" not in _script_src(response.headers)
    assert client.get("/stream").text == page.decode()  # the body is passed on whole
    # A body it cannot read still works, with inline scripts allowed.
    assert "'unsafe-inline'" in _script_src(client.get("/br").headers)
    # A non-HTML response allows no inline script at all.
    assert _script_src(_headers_app().get("/ping").headers) == "script-src 'self' 'unsafe-eval'"


def test_a_page_sent_by_path_is_hashed_too(settings_env, tmp_path):
    """Granian serves static files with the ASGI ``pathsend`` extension: no body messages."""
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")
    page = tmp_path / "index.html"
    page.write_bytes(b"<script>boot()</script>")

    async def file_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.pathsend", "path": str(page)})

    sent: list[dict] = []

    async def collect(message):
        sent.append(message)

    asyncio.run(with_security_headers(file_app)({"type": "http"}, None, collect))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.pathsend"]
    csp = dict(sent[0]["headers"])[b"content-security-policy"].decode()
    assert base64.b64encode(hashlib.sha256(b"boot()").digest()).decode() in csp


def test_a_not_modified_answer_keeps_the_cached_pages_csp(settings_env):
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")

    async def not_modified(request):
        return Response(status_code=304)

    response = TestClient(with_security_headers(Starlette(routes=[Route("/", not_modified)]))).get("/")
    assert response.status_code == 304
    assert "content-security-policy" not in response.headers and response.headers["x-frame-options"] == "DENY"


def test_hsts_only_on_https(settings_env):
    settings_env(PUBLIC_URL="https://sessions.example", BACKEND_URL="https://sessions.example")
    assert "max-age=" in _headers_app().get("/ping").headers["strict-transport-security"]


def test_csp_lets_the_page_reach_a_backend_on_another_port(settings_env):
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")
    csp = content_security_policy(get_settings())
    connect = next(d for d in csp.split("; ") if d.startswith("connect-src"))
    assert "ws://localhost:8000" in connect and "http://localhost:8000" in connect


# --- OAuth start limit and expiry purges -------------------------------------------------------


def test_starting_oauth_logins_is_rate_limited_per_client(db, settings_env):
    settings_env(GITHUB_CLIENT_ID="gh", GITHUB_CLIENT_SECRET="secret", OAUTH_START_RATE_LIMIT="3/minute")
    for _ in range(3):
        asyncio.run(oauth.begin(db, provider="github", next_path="/lobby", client="10.0.0.1"))
    with pytest.raises(RateLimited) as info:
        asyncio.run(oauth.begin(db, provider="github", next_path="/lobby", client="10.0.0.1"))
    assert info.value.message == oauth.ERR_TOO_MANY
    db.commit()
    from sqlmodel import select

    assert len(db.exec(select(OAuthState)).all()) == 3  # the refused start wrote nothing
    asyncio.run(oauth.begin(db, provider="github", next_path="/lobby", client="10.0.0.2"))


def test_unfinished_oauth_logins_are_purged_after_their_ttl(db):
    now = utcnow()
    db.add(OAuthState(state="old", provider="github", code_verifier="v", created_at=now - oauth.STATE_TTL - timedelta(seconds=1)))
    db.add(OAuthState(state="new", provider="github", code_verifier="v", created_at=now - timedelta(minutes=1)))
    db.commit()
    assert oauth.purge_expired_states(db, now=now) == 1
    db.commit()
    assert db.get(OAuthState, "old") is None and db.get(OAuthState, "new") is not None


def test_expired_tickets_and_logins_are_purged(db):
    user = _user(db)
    live_ticket = accounts.issue_login_ticket(db, user_id=user.id, next_path="/lobby", binding="n")
    live_token = accounts.start_session(db, user_id=user.id)
    now = utcnow()
    db.add(LoginTicket(ticket_hash="e" * 64, user_id=user.id, expires_at=now - timedelta(seconds=1)))
    db.add(AuthSession(user_id=user.id, token_hash="f" * 64, expires_at=now - timedelta(days=1)))
    db.commit()
    assert accounts.purge_expired_logins(db, now=now) == 2
    db.commit()
    assert db.get(LoginTicket, "e" * 64) is None
    assert accounts.user_for_token(db, live_token) is not None
    assert db.get(LoginTicket, hash_token(f"{live_ticket}:n")) is not None


def test_handoff_url_points_at_the_backend(db, settings_env):
    settings_env(PUBLIC_URL="http://localhost:3000", BACKEND_URL="http://localhost:8000")
    user = _user(db)
    _, _, url = _parse_handoff(login_cookie.handoff_script(db, user_id=user.id, next_path="/lobby"))
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://localhost:8000/auth/session"
    assert set(parse_qs(parts.query)) == {"ticket"}
    assert login_cookie.logout_url("/").startswith("http://localhost:8000/auth/logout?next=")
