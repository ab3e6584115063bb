"""Email verification, password reset and the OAuth linking rule (account pre-hijacking).

Services on a temporary SQLite file; the mail transport against a local aiosmtpd server.
"""

from __future__ import annotations

import logging
import socket
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from pydantic import ValidationError
from sqlmodel import select

from sessions_app import oauth
from sessions_app.models import AuthSession, EmailToken, LoginTicket, OAuthAccount, User, utcnow
from sessions_app.oauth import Profile
from sessions_app.services import account_data, accounts, mail, recovery
from sessions_app.services.errors import RateLimited, ServiceError
from sessions_app.services.tokens import hash_token
from sessions_app.settings import Settings
from tests.support.fake_smtp import MailCatcher, link_in

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "violet submarine kettle orchestra"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def password_user(db, email="ada@example.com", name="Ada Lovelace") -> User:
    user = accounts.sign_up(db, name=name, email=email, password=PASSWORD)
    db.commit()
    return user


def token_of(m: mail.Mail, path: str) -> str:
    url = next(w for w in m.body.split() if path in w)
    return parse_qs(urlsplit(url).query)["token"][0]


def refused(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    return info.value


# --- verification links -----------------------------------------------------------------------


def test_a_new_password_account_is_unverified_and_gets_a_link_stored_only_as_a_hash(db):
    user = password_user(db)
    assert user.email_verified_at is None
    m = recovery.verification_mail(db, user=user)
    db.commit()
    assert m is not None and m.to == "ada@example.com"
    assert m.body.count("http://localhost:3000/verify-email?token=") == 1
    token = token_of(m, "/verify-email")
    row = db.exec(select(EmailToken)).one()
    assert row.token_hash == hash_token(token) and row.purpose == "verify"
    # The raw token is nowhere in the database row.
    assert token not in repr(row.model_dump())
    assert row.expires_at - row.created_at == recovery.VERIFY_TTL


def test_a_verification_link_works_once(db):
    user = password_user(db)
    token = token_of(recovery.verification_mail(db, user=user), "/verify-email")
    db.commit()
    assert recovery.verify_email(db, token=token).id == user.id
    db.commit()
    assert db.get(User, user.id).email_verified_at is not None
    assert refused(recovery.verify_email, db, token=token).message == recovery.LINK_INVALID
    assert db.exec(select(EmailToken)).all() == []


def test_an_expired_verification_link_is_refused(db):
    user = password_user(db)
    token = token_of(recovery.verification_mail(db, user=user), "/verify-email")
    db.commit()
    later = utcnow() + recovery.VERIFY_TTL + timedelta(seconds=1)
    assert refused(recovery.verify_email, db, token=token, now=later).message == recovery.LINK_INVALID
    assert db.get(User, user.id).email_verified_at is None


@pytest.mark.parametrize("token", ["", "x" * 40, None, 42, "a" * 500, {"$ne": ""}])
def test_unknown_or_malformed_tokens_are_refused(db, token):
    password_user(db)
    assert refused(recovery.verify_email, db, token=token).message == recovery.LINK_INVALID


def test_either_of_two_links_works_but_using_one_kills_the_other(db):
    user = password_user(db)
    first = token_of(recovery.verification_mail(db, user=user), "/verify-email")
    second = token_of(recovery.verification_mail(db, user=user), "/verify-email")
    db.commit()
    assert recovery.verify_email(db, token=first).id == user.id
    assert refused(recovery.verify_email, db, token=second).message == recovery.LINK_INVALID
    assert db.exec(select(EmailToken)).all() == []


def test_issuing_a_link_purges_expired_ones(db):
    user = password_user(db)
    recovery.verification_mail(db, user=user, now=utcnow() - recovery.VERIFY_TTL - timedelta(minutes=1))
    recovery.verification_mail(db, user=user)
    db.commit()
    assert len(db.exec(select(EmailToken)).all()) == 1


def test_a_link_proves_only_the_address_it_was_sent_to(db):
    user = password_user(db)
    token = token_of(recovery.verification_mail(db, user=user), "/verify-email")
    user.email = "other@example.com"
    db.add(user)
    db.commit()
    refused(recovery.verify_email, db, token=token)
    assert db.get(User, user.id).email_verified_at is None


def test_a_reset_link_is_not_a_verification_link(db):
    user = password_user(db)
    reset = token_of(recovery.request_reset(db, email=user.email, client="c"), "/reset-password")
    db.commit()
    refused(recovery.verify_email, db, token=reset)


def test_resend_is_rate_limited_and_refused_once_verified(db, settings_env):
    settings_env(MAIL_RATE_LIMIT="2/minute")
    user = password_user(db)
    assert recovery.resend_verification(db, user_id=user.id, client="c1").to == user.email
    recovery.resend_verification(db, user_id=user.id, client="c2")
    with pytest.raises(RateLimited):
        recovery.resend_verification(db, user_id=user.id, client="c3")
    db.rollback()
    user = db.get(User, user.id)
    user.email_verified_at = utcnow()
    db.add(user)
    db.commit()
    assert refused(recovery.resend_verification, db, user_id=user.id, client="c4").message == \
        recovery.ALREADY_VERIFIED


def test_status_reports_the_owners_address_state(db):
    user = password_user(db)
    assert recovery.status(db, user_id=user.id) == recovery.EmailStatus(has_email=True, verified=False)
    recovery.verify_email(db, token=token_of(recovery.verification_mail(db, user=user), "/verify-email"))
    assert recovery.status(db, user_id=user.id) == recovery.EmailStatus(has_email=True, verified=True)


# --- the linking rule (pre-hijacking) -----------------------------------------------------------


def google(email: str, subject: str = "g-1") -> Profile:
    return Profile(subject=subject, name="Victim From Google", avatar_url="", email=email)


def test_oauth_never_joins_an_account_whose_email_is_unverified(db):
    """The attack: sign up with the victim's address first; the victim's Google login must
    not land in (and so hand a password to) the attacker's account."""
    attacker = password_user(db, email="victim@example.com", name="Attacker")
    err = refused(oauth.user_for_profile, db, provider="google", profile=google("Victim@Example.com"))
    assert err.message == oauth.ERR_UNVERIFIED and err.message in oauth.MESSAGES
    db.rollback()
    assert db.exec(select(OAuthAccount)).all() == []
    assert [u.id for u in db.exec(select(User)).all()] == [attacker.id]


def test_oauth_joins_the_account_once_its_email_is_verified(db):
    user = password_user(db)
    recovery.verify_email(db, token=token_of(recovery.verification_mail(db, user=user), "/verify-email"))
    db.commit()
    joined = oauth.user_for_profile(db, provider="google", profile=google("ada@example.com"))
    db.commit()
    assert joined.id == user.id
    assert db.exec(select(OAuthAccount)).one().user_id == user.id


def test_a_new_oauth_account_starts_verified_only_with_a_provider_verified_email(db):
    with_email = oauth.user_for_profile(db, provider="google", profile=google("grace@example.com", "s1"))
    without = oauth.user_for_profile(db, provider="github",
                                     profile=Profile(subject="s2", name="No Mail", avatar_url="", email=None))
    db.commit()
    assert with_email.email_verified_at is not None and recovery.is_verified(with_email)
    assert without.email_verified_at is None and not recovery.is_verified(without)


# --- password reset -----------------------------------------------------------------------------


def test_reset_request_answers_the_same_for_unknown_addresses_and_is_rate_limited(db, settings_env):
    settings_env(MAIL_RATE_LIMIT="2/minute", MAIL_CLIENT_RATE_LIMIT="100/minute")
    password_user(db)
    assert recovery.request_reset(db, email="nobody@example.com", client="c") is None
    assert db.exec(select(EmailToken)).all() == []
    recovery.request_reset(db, email="nobody@example.com", client="c")
    # The limit counts unknown addresses too, so it tells nothing about existence.
    with pytest.raises(RateLimited):
        recovery.request_reset(db, email="nobody@example.com", client="c")
    m = recovery.request_reset(db, email=" ADA@example.com ", client="c")
    assert m is not None and m.to == "ada@example.com" and "/reset-password?token=" in m.body


def test_reset_requests_are_limited_per_client(db, settings_env):
    settings_env(MAIL_CLIENT_RATE_LIMIT="3/minute")
    for i in range(3):
        recovery.request_reset(db, email=f"n{i}@example.com", client="one-client")
    with pytest.raises(RateLimited):
        recovery.request_reset(db, email="n9@example.com", client="one-client")
    recovery.request_reset(db, email="n9@example.com", client="another-client")


def test_reset_sets_the_password_ends_every_login_and_verifies_the_address(db):
    user = password_user(db)
    old_login = accounts.start_session(db, user_id=user.id)
    accounts.issue_login_ticket(db, user_id=user.id, next_path="/lobby")
    recovery.verification_mail(db, user=user)
    token = token_of(recovery.request_reset(db, email=user.email, client="c"), "/reset-password")
    db.commit()
    assert recovery.reset_link_valid(db, token=token)

    recovery.reset_password(db, token=token, password=NEW_PASSWORD)
    db.commit()

    assert refused(accounts.authenticate, db, email=user.email, password=PASSWORD, client="c").message == \
        accounts.BAD_LOGIN
    assert accounts.authenticate(db, email=user.email, password=NEW_PASSWORD, client="c").id == user.id
    assert accounts.user_for_token(db, old_login) is None
    assert db.exec(select(AuthSession)).all() == [] and db.exec(select(LoginTicket)).all() == []
    assert db.exec(select(EmailToken)).all() == []  # every mailed link of the account died
    assert db.get(User, user.id).email_verified_at is not None
    # Single use.
    assert not recovery.reset_link_valid(db, token=token)
    assert refused(recovery.reset_password, db, token=token, password=NEW_PASSWORD + " again").message == \
        recovery.LINK_INVALID


def test_a_weak_new_password_is_refused_and_the_link_still_works(db):
    user = password_user(db)
    token = token_of(recovery.request_reset(db, email=user.email, client="c"), "/reset-password")
    db.commit()
    err = refused(recovery.reset_password, db, token=token, password="short")
    assert err.field == "password"
    db.rollback()
    assert recovery.reset_link_valid(db, token=token)
    recovery.reset_password(db, token=token, password=NEW_PASSWORD)


def test_an_expired_reset_link_is_refused(db):
    user = password_user(db)
    token = token_of(recovery.request_reset(db, email=user.email, client="c"), "/reset-password")
    db.commit()
    later = utcnow() + recovery.RESET_TTL + timedelta(seconds=1)
    assert not recovery.reset_link_valid(db, token=token, now=later)
    refused(recovery.reset_password, db, token=token, password=NEW_PASSWORD, now=later)
    assert accounts.authenticate(db, email=user.email, password=PASSWORD, client="c").id == user.id


def test_reset_after_a_pre_hijack_takes_the_account_back(db):
    """The victim's way out: a reset kills the attacker's password and logins, and then the
    victim's OAuth login joins the (now verified) account."""
    attacker = password_user(db, email="victim@example.com", name="Attacker")
    attacker_login = accounts.start_session(db, user_id=attacker.id)
    token = token_of(recovery.request_reset(db, email="victim@example.com", client="c"), "/reset-password")
    db.commit()
    recovery.reset_password(db, token=token, password=NEW_PASSWORD)
    db.commit()
    assert accounts.user_for_token(db, attacker_login) is None
    refused(accounts.authenticate, db, email="victim@example.com", password=PASSWORD, client="c")
    assert oauth.user_for_profile(db, provider="google", profile=google("victim@example.com")).id == attacker.id


# --- export and deletion ------------------------------------------------------------------------


def test_export_includes_the_verification_state_and_deletion_removes_the_links(db):
    user = password_user(db)
    assert account_data.export_data(db, user_id=user.id)["profile"]["email_verified"] is False
    recovery.verify_email(db, token=token_of(recovery.verification_mail(db, user=user), "/verify-email"))
    recovery.request_reset(db, email=user.email, client="c")
    db.commit()
    profile = account_data.export_data(db, user_id=user.id)["profile"]
    assert profile["email_verified"] is True and profile["email_verified_at"]
    assert "token" not in str(account_data.export_data(db, user_id=user.id)).lower().replace("token_", "")
    account_data.delete_account(db, user_id=user.id)
    db.commit()
    assert db.exec(select(EmailToken)).all() == []


# --- the mail transport -------------------------------------------------------------------------


@pytest.fixture
def smtp():
    catcher = MailCatcher(_free_port())
    catcher.start()
    yield catcher
    catcher.stop()


def test_smtp_transport_delivers_a_plain_text_mail(smtp):
    settings = Settings(**{k.lower(): v for k, v in smtp.env.items()})
    mail.send(mail.Mail(to="ada@example.com", subject="Hello", body="A link: http://x/verify-email?token=abc"),
              settings)
    got = smtp.wait_for("ada@example.com", "Hello")
    assert got.mail_from == "no-reply@sessions.test"
    assert str(got.message["From"]) == "Sessions <no-reply@sessions.test>"
    assert link_in(got, "/verify-email") == "http://x/verify-email?token=abc"
    assert got.message["Message-ID"] and got.message["Date"]


def test_send_later_runs_off_the_caller_and_reports_failures_without_raising(settings_env, smtp, caplog):
    settings_env(**smtp.env)
    future = mail.send_later(mail.Mail(to="b@example.com", subject="Later", body="hi"))
    future.result(timeout=20)
    assert smtp.wait_for("b@example.com", "Later").body.strip() == "hi"
    assert mail.send_later(None) is None
    # A server that is down: logged, never raised into the app.
    settings_env(SMTP_PORT=str(_free_port()))
    with caplog.at_level(logging.WARNING, logger="sessions_app.mail"):
        mail.send_later(mail.Mail(to="c@example.com", subject="Lost", body="x")).result(timeout=30)
    assert "Could not send a mail (Lost)" in caplog.text


def test_without_smtp_the_dev_log_shows_the_mail_but_production_never_logs_a_link(settings_env, caplog):
    m = mail.Mail(to="d@example.com", subject="Confirm", body="http://localhost:3000/verify-email?token=SECRET")
    settings_env(SMTP_HOST="", SESSIONS_ENV="dev")
    with caplog.at_level(logging.WARNING, logger="sessions_app.mail"):
        mail.send(m)
    assert "token=SECRET" in caplog.text and "d@example.com" in caplog.text
    caplog.clear()
    settings_env(SESSIONS_ENV="prod", SECRET_KEY="x" * 40)
    with caplog.at_level(logging.WARNING, logger="sessions_app.mail"):
        mail.send(m)
    assert "SECRET" not in caplog.text and "not sent" in caplog.text


def test_production_refuses_an_smtp_password_over_plain_text():
    with pytest.raises(ValidationError, match="SMTP_TLS"):
        Settings(sessions_env="prod", secret_key="x" * 40, smtp_host="mail.example.com", smtp_username="u",
                 smtp_password="p", smtp_tls="none")
