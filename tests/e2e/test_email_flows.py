"""End to end: email verification, "forgot password", and account pre-hijacking.

The app sends its mail to a local aiosmtpd server (the ``mail_server`` fixture, passed to the
app as ``SMTP_*``); the tests read the mails there and open their links in Chromium, as the
student would. The pre-hijack test uses the local OAuth provider (``fake_oauth.py``).
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, goto, log_in, sign_up
from tests.support.browser import submit_login
from tests.support.fake_smtp import link_in

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "violet submarine kettle orchestra"
BAD_LOGIN = "That email and password do not match an account"
LINK_INVALID = "This link is invalid, has expired or was already used"
RESET_SENT = "If an account uses that address, we sent it a link"
NOT_CONFIRMED = "its address was never confirmed"


def _email(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}@example.com"


def _request_reset(page: Page, email: str) -> None:
    goto(page, "/login")
    page.click("#forgot-password")
    page.wait_for_url(re.compile(r"/forgot-password/?$"))
    page.wait_for_selector("#hydrated", state="attached")
    page.fill("#forgot-email", email)
    page.click("#forgot-submit")
    expect(page.locator("#form-message")).to_contain_text(RESET_SENT)


def _expect_logged_out(page: Page) -> None:
    """A page that needs a login sends this browser to /login: its login no longer works."""
    goto(page, "/settings")
    page.wait_for_url(re.compile(r"/login\?next=/settings$"))
    expect(page.locator("#user-menu")).to_have_count(0)


def test_sign_up_mails_a_link_that_confirms_the_address(new_context, mail_server):
    _, page, _ = new_context()
    _, email = sign_up(page, email=_email("verify"))
    # The lobby tells the new student to confirm; settings says the address is not confirmed.
    expect(page.locator("#verify-banner")).to_be_visible()
    goto(page, "/settings")
    expect(page.locator("#verify-status")).to_have_attribute("data-verified", "false")

    mail = mail_server.wait_for(email, "Confirm your email")
    assert str(mail.message["From"]) == "Sessions <no-reply@sessions.test>"
    link = link_in(mail, "/verify-email")
    goto(page, link)
    expect(page.locator("#form-message")).to_contain_text("Your email address is confirmed")
    # The token leaves the address bar once read.
    expect(page).to_have_url(re.compile(r"/verify-email/?$"))

    goto(page, "/settings")
    expect(page.locator("#verify-status")).to_have_attribute("data-verified", "true")
    expect(page.locator("#resend-verification")).to_have_count(0)
    goto(page, "/lobby")
    expect(page.locator("#user-menu")).to_be_visible()
    expect(page.locator("#verify-banner")).to_have_count(0)

    # A link works once.
    goto(page, link)
    expect(page.locator("#form-error")).to_contain_text(LINK_INVALID)


def test_resend_sends_a_second_link_and_using_one_uses_up_both(new_context, mail_server):
    _, page, _ = new_context()
    _, email = sign_up(page, email=_email("resend"))
    first = link_in(mail_server.wait_for(email, "Confirm"), "/verify-email")
    goto(page, "/settings")
    page.click("#resend-verification")
    expect(page.locator("#verify-message")).to_contain_text("We sent you a new confirmation link")
    second = link_in(mail_server.wait_for(email, "Confirm", count=2), "/verify-email")
    assert second != first

    goto(page, second)
    expect(page.locator("#form-message")).to_contain_text("confirmed")
    goto(page, first)
    expect(page.locator("#form-error")).to_contain_text(LINK_INVALID)


def test_forgot_password_resets_it_and_ends_every_old_login(new_context, mail_server):
    _, owner, _ = new_context()  # stays logged in with the old password
    _, email = sign_up(owner, email=_email("forgot"))
    _, page, _ = new_context()

    # An unknown address gets the very same answer.
    _request_reset(page, _email("nobody"))
    _request_reset(page, email)
    link = link_in(mail_server.wait_for(email, "Set a new password"), "/reset-password")

    goto(page, link)
    expect(page).to_have_url(re.compile(r"/reset-password/?$"))
    # The sign-up strength rules apply: a weak password is refused and the link still works.
    page.fill("#reset-password", "short")
    page.click("#reset-submit")
    expect(page.locator("#form-error")).to_contain_text(re.compile("password", re.I))
    page.fill("#reset-password", NEW_PASSWORD)
    page.click("#reset-submit")
    expect(page.locator("#form-message")).to_contain_text("Your password was changed")
    expect(page.locator("#reset-submit")).to_have_count(0)
    # The owner's browser, left open on the lobby, is logged out at once and told why.
    owner.wait_for_url(re.compile(r"/login/?\?ended=password$"))
    expect(owner.locator("#login-notice")).to_contain_text("password of your account was changed")

    # The link is used up.
    goto(page, link)
    expect(page.locator("#form-error")).to_contain_text(LINK_INVALID)
    expect(page.locator("#reset-password")).to_have_count(0)

    # The old password is refused, the new one works, the owner's old login has ended.
    submit_login(page, email, PASSWORD)
    expect(page.locator("#form-error")).to_contain_text(BAD_LOGIN)
    log_in(page, email, NEW_PASSWORD)
    expect(page.locator("#user-menu")).to_be_visible()
    _expect_logged_out(owner)
    # A reset proves the address too.
    goto(page, "/settings")
    expect(page.locator("#verify-status")).to_have_attribute("data-verified", "true")


def test_pre_hijacked_account_is_not_joined_to_the_victims_oauth_login(new_context, oauth_provider, mail_server):
    """The attacker signs up first with the victim's address and keeps the tab logged in.

    Before the fix the victim's Google login (same, provider-verified address) was joined to
    that account, and the attacker's password kept working in the victim's account. Now the
    login is refused with a clear way out: a password reset by mail, which ends the
    attacker's logins and password; after it the victim's Google login joins the account.
    """
    victim_email = _email("victim")
    _, attacker, _ = new_context()
    sign_up(attacker, name="Attacker", email=victim_email)

    _, victim, _ = new_context()
    oauth_provider.next_user["google"] = oauth_provider.google_user(name="Real Victim", email=victim_email)
    goto(victim, "/login")
    victim.click("#oauth-google")
    victim.wait_for_url(re.compile(r"/login(\?|$)"))
    expect(victim.locator("#form-error")).to_contain_text(NOT_CONFIRMED)
    expect(victim.locator("#user-menu")).to_have_count(0)
    # The attacker's account is still the attacker's alone, with no Google identity in it.
    goto(attacker, "/settings")
    expect(attacker.locator("#user-menu")).to_have_text("Attacker")

    # The victim owns the mailbox: a reset takes the account back.
    _request_reset(victim, victim_email)
    goto(victim, link_in(mail_server.wait_for(victim_email, "Set a new password"), "/reset-password"))
    victim.fill("#reset-password", NEW_PASSWORD)
    victim.click("#reset-submit")
    expect(victim.locator("#form-message")).to_contain_text("Your password was changed")

    _expect_logged_out(attacker)
    submit_login(attacker, victim_email, PASSWORD)
    expect(attacker.locator("#form-error")).to_contain_text(BAD_LOGIN)

    # Now the address is proved, so the Google login joins the account.
    goto(victim, "/login")
    victim.click("#oauth-google")
    victim.wait_for_url(re.compile(r"/lobby$"))
    expect(victim.locator("#user-menu")).to_have_text("Attacker")  # the account's name, now the victim's to change
