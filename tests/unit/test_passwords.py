"""Passwords (issue 10, items 2 and 9): zxcvbn strength with the account's own words, the
bounded pool that keeps hashing off the event loop, and sign-up limits per client and
globally (``accounts_async``).

Fail on the old code: ``Password12``, ``qwertyuiop1`` and ``1234512345`` were accepted; the
pool, ``accounts_async`` and the sign-up limits did not exist (hashing ran inline).
"""

from __future__ import annotations

import asyncio
import threading

import argon2
import pytest
from sqlmodel import Session, select

from sessions_app.models import User
from sessions_app.services import accounts, accounts_async, passwords
from sessions_app.services.errors import RateLimited, ServiceError

PASSWORD = "correct horse battery staple"


def refused(fn, *args, **kwargs) -> ServiceError:
    with pytest.raises(ServiceError) as info:
        fn(*args, **kwargs)
    return info.value


# --- strength ------------------------------------------------------------------------------


@pytest.mark.parametrize("weak", ["Password12", "qwertyuiop1", "1234512345", "password123", "aaaaaaaaaaaa",
                                  "iloveyou12", "1q2w3e4r5t6y"])
def test_weak_passwords_are_refused_with_zxcvbn_feedback(weak):
    err = refused(passwords.check_strength, weak)
    assert err.field == "password"
    assert err.message.startswith("That password is too easy to guess.")
    # The message says what to do, from zxcvbn's own suggestions.
    assert "word" in err.message or "Avoid" in err.message


def test_the_test_suites_password_is_strong():
    assert passwords.check_strength(PASSWORD) == PASSWORD


@pytest.mark.real_argon2
def test_hashes_use_argon2id_with_the_recommended_parameters():
    """The other unit tests hash cheaply (conftest.py); the app uses RFC 9106's low-memory
    profile (argon2-cffi's default), for sign-up and password reset alike."""
    made = passwords.hash_password(PASSWORD)
    assert argon2.extract_parameters(made) == argon2.profiles.RFC_9106_LOW_MEMORY
    assert passwords.verify_password(made, PASSWORD)
    assert not passwords.needs_rehash(made)


def test_the_users_own_name_makes_a_password_weak():
    # Strong for anyone else, guessable for Grace Hopper herself.
    assert passwords.check_strength("Grace Hopper!!") == "Grace Hopper!!"
    err = refused(accounts.check_password_strength, "Grace Hopper!!", email="gh@example.com", name="Grace Hopper")
    assert err.message.startswith("That password is too easy to guess.")


def test_long_passwords_are_estimated_on_a_prefix_quickly():
    # zxcvbn refuses more than 72 characters; a long passphrase is still accepted…
    long_ok = "violet tundra harmonica " * 10
    assert passwords.check_strength(long_ok) == long_ok
    # …and a long repetition refused, not crashed.
    assert refused(passwords.check_strength, "ab" * 120).field == "password"


# --- the bounded pool ----------------------------------------------------------------------


def test_the_pool_refuses_work_past_its_bound_instead_of_queueing(settings_env):
    settings_env(PASSWORD_WORKERS="1", PASSWORD_QUEUE="2")
    passwords._pool.cache_clear()
    release = threading.Event()

    async def scenario():
        running = [asyncio.ensure_future(passwords.offload(release.wait, 10)) for _ in range(2)]
        await asyncio.sleep(0.05)
        assert passwords.pending() == 2
        with pytest.raises(passwords.Busy) as info:
            await passwords.hash_async(PASSWORD)
        assert info.value.message == passwords.BUSY
        release.set()
        await asyncio.gather(*running)
        assert passwords.pending() == 0
        # With room again, work is accepted and runs on the pool's thread.
        assert passwords.verify_password(await passwords.hash_async(PASSWORD), PASSWORD)
        name = await passwords.offload(lambda: threading.current_thread().name)
        assert name.startswith("passwords")

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        passwords._pool.cache_clear()


def test_a_cancelled_caller_keeps_its_slot_until_the_job_really_ends(settings_env):
    settings_env(PASSWORD_WORKERS="1", PASSWORD_QUEUE="1")
    passwords._pool.cache_clear()
    release = threading.Event()

    async def scenario():
        waiter = asyncio.ensure_future(passwords.offload(release.wait, 10))
        await asyncio.sleep(0.05)
        waiter.cancel()
        await asyncio.sleep(0.05)
        # The thread is still hashing: a new job is refused, not stacked behind it.
        with pytest.raises(passwords.Busy):
            await passwords.hash_async(PASSWORD)
        release.set()

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        passwords._pool.cache_clear()


# --- sign-up limits (accounts_async) -------------------------------------------------------


def _users(engine) -> list[User]:
    with Session(engine) as db:
        return list(db.exec(select(User)).all())


def test_sign_up_is_limited_per_client_first_then_globally(engine, settings_env):
    settings_env(SIGNUP_RATE_LIMIT="2/hour", SIGNUP_GLOBAL_RATE_LIMIT="3/hour")

    async def sign_up(i: int, client: str):
        try:
            return await accounts_async.sign_up(name=f"User {i}", email=f"u{i}@example.com", password=PASSWORD,
                                                client=client, engine=engine)
        except ServiceError as err:
            return err

    async def scenario():
        flood = [await sign_up(i, "203.0.113.9") for i in range(10)]
        assert [isinstance(r, User) for r in flood] == [True, True] + [False] * 8
        # The refusal says how long: the hour's window frees its first place in about an hour.
        assert all(isinstance(r, RateLimited) and r.message == "Too many sign-ups from here. Try again in an hour."
                   for r in flood[2:])
        # The flood's refused attempts did not use up everyone's sign-ups: one is left globally.
        assert isinstance(await sign_up(100, "198.51.100.1"), User)
        busy = await sign_up(101, "198.51.100.2")
        assert isinstance(busy, RateLimited) and busy.message == accounts_async.SIGNUP_BUSY

    asyncio.run(scenario())
    assert len(_users(engine)) == 3


def test_async_sign_up_refuses_a_weak_password_and_creates_nothing(engine):
    async def scenario():
        with pytest.raises(ServiceError) as info:
            await accounts_async.sign_up(name="Ada", email="ada@example.com", password="Password12",
                                         client="c", engine=engine)
        return info.value

    err = asyncio.run(scenario())
    assert err.field == "password" and "too easy to guess" in err.message
    assert _users(engine) == []


def test_async_sign_up_and_login_work_end_to_end(engine):
    async def scenario():
        user = await accounts_async.sign_up(name="Ada", email="Ada@Example.com", password=PASSWORD,
                                            timezone="Europe/Berlin", client="c", engine=engine)
        again = await accounts_async.authenticate(email="ada@example.com", password=PASSWORD, client="c",
                                                  engine=engine)
        with pytest.raises(ServiceError) as info:
            await accounts_async.authenticate(email="ada@example.com", password="not it at all", client="c",
                                              engine=engine)
        return user, again, info.value

    user, again, err = asyncio.run(scenario())
    assert again.id == user.id and user.timezone == "Europe/Berlin"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert err.message == accounts.BAD_LOGIN


def test_a_lone_surrogate_is_refused_at_sign_up_and_fails_login_without_raising(db):
    err = refused(passwords.check_strength, "\ud800" + "violet tundra harmonica")
    assert err.field == "password" and "cannot be used" in err.message
    user = accounts.sign_up(db, name="Ada", email="ada@example.com", password=PASSWORD)
    db.commit()
    assert passwords.verify_password(user.password_hash, "\ud800" + PASSWORD) is False
    err = refused(accounts.authenticate, db, email="ada@example.com", password="\udfff", client="c")
    assert err.message == accounts.BAD_LOGIN
