"""End to end: security headers on the compiled pages and the backend routes of the
production server (``--single-port``: the backend serves the frontend too), and a CSP the
app runs under without a single violation (issue 10, item 10)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import goto, sign_up

pytestmark = pytest.mark.e2e

# Pages (compiled frontend), the health check, the login routes, a 404.
PATHS = ["/", "/login", "/lobby", "/rooms/1", "/ping", "/auth/logout?next=/", "/auth/session?ticket=x",
         "/no-such-page"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _headers(url: str) -> dict[str, str]:
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(url, timeout=10) as resp:
            return {k.lower(): v for k, v in resp.headers.items()}
    except urllib.error.HTTPError as err:  # redirects and 404s carry headers too
        return {k.lower(): v for k, v in err.headers.items()}


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_security_headers(app_server, path):
    headers = _headers(f"{app_server.url}{path}")
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp and "object-src 'none'" in csp
    assert headers.get("x-frame-options") == "DENY"
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "same-origin"
    assert "strict-transport-security" not in headers  # http://localhost: no HSTS
    # Inline scripts run only by hash: no 'unsafe-inline' for scripts.
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src
    if headers.get("content-type", "").startswith("text/html"):
        assert "'sha256-" in script_src


def test_the_app_runs_under_its_csp_without_violations(new_context):
    """Sign-up, the lobby, a room form, the profile: no CSP violation and no console error
    (the ``new_context`` fixture fails the test on any console error)."""
    ctx, page, _ = new_context()
    ctx.add_init_script("""
        window.__cspViolations = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
    """)
    page = ctx.new_page()  # the init script applies to pages opened from now on
    violations: list[str] = []

    def collect() -> None:
        violations.extend(page.evaluate("() => window.__cspViolations"))

    goto(page, "/")
    collect()
    name, _ = sign_up(page)
    collect()
    for path in ("/lobby", "/rooms/new", "/profile", "/settings", "/sessions"):
        goto(page, path)
        expect(page.locator("#user-menu")).to_have_text(name)
        collect()
    assert violations == []
