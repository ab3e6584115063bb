"""Failed-login throttling (issue 10, item 4): what an attacker hammering an email can and
cannot do to its owner, growing delays, and NAT neighbours.

On the old rule (10 attempts a minute per email and per IP, counted before the password was
checked) the owner tests fail: the attacker's tries locked the owner out everywhere.
Time is moved on by replacing ``login_guard._now``; nothing sleeps.
"""

from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher

from sessions_app.services import accounts, login_guard, passwords
from sessions_app.services.errors import RateLimited, ServiceError

PASSWORD = "correct horse battery staple"
WRONG = "not the right password at all"
ATTACKER_IP = "203.0.113.66"
OWNER_IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """Cheap argon2 parameters: these tests verify hundreds of passwords (the policy, not the
    hash, is under test)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(passwords, "_DUMMY_HASH", passwords._hasher.hash("dummy password"))


@pytest.fixture
def clock(monkeypatch):
    """A wall clock the test moves on by hand."""
    now = {"t": 1_800_000_000.0}
    monkeypatch.setattr(login_guard, "_now", lambda: now["t"])

    def advance(seconds: float) -> None:
        now["t"] += seconds

    return advance


@pytest.fixture
def owner(db):
    user = accounts.sign_up(db, name="Ada", email="ada@example.com", password=PASSWORD)
    db.commit()
    return user


def attempt(db, *, password=WRONG, client=ATTACKER_IP, device="", email="ada@example.com"):
    """One login attempt: the user, or the ServiceError a student would read."""
    try:
        return accounts.authenticate(db, email=email, password=password, client=client, device=device)
    except ServiceError as err:
        return err


def retry_seconds(err: RateLimited) -> int:
    match = re.search(r"Try again in (\d+) (second|minute)", err.message)
    assert match, err.message
    return int(match.group(1)) * (60 if match.group(2) == "minute" else 1)


def test_delays_grow_exponentially_after_the_free_failures_and_are_capped():
    delays = [login_guard.delay_after(n, 5, 900) for n in range(1, 20)]
    assert delays[:5] == [0, 0, 0, 0, 0]
    assert delays[5:11] == [1, 2, 4, 8, 16, 32]
    assert max(delays) == 900 and delays[-1] == 900


def test_backoff_grows_for_an_attacker_and_each_block_refuses_even_the_right_password(db, owner, clock):
    for _ in range(5):  # the free failures read as a plain wrong password
        assert attempt(db).message == accounts.BAD_LOGIN
    waits = []
    for _ in range(5):
        assert attempt(db).message == accounts.BAD_LOGIN  # the failure that starts a block
        blocked = attempt(db, password=PASSWORD)  # while blocked: refused before any check
        assert isinstance(blocked, RateLimited)
        waits.append(retry_seconds(blocked))
        clock(waits[-1])
    assert waits == [1, 2, 4, 8, 16]


def test_owner_with_their_usual_browser_gets_in_while_an_attacker_hammers_the_email(db, owner, clock):
    device = login_guard.issue_device_token(owner.id)  # set by an earlier successful login
    for i in range(60):  # from many addresses: every shared counter is well past its free failures
        attempt(db, client=f"203.0.113.{i % 20}")
    assert isinstance(attempt(db, client="203.0.113.1"), RateLimited)
    # The owner's browser, even on a brand-new IP (or behind the attacker's NAT), is unaffected.
    assert attempt(db, password=PASSWORD, client=OWNER_IP, device=device).id == owner.id
    assert attempt(db, password=PASSWORD, client="203.0.113.1", device=device).id == owner.id
    # A new browser of the owner's (no device token) is slowed, not locked out: it waits out a
    # delay that never exceeds LOGIN_MAX_DELAY.
    refused = attempt(db, password=PASSWORD, client=OWNER_IP)
    assert isinstance(refused, RateLimited) and retry_seconds(refused) <= 900
    clock(retry_seconds(refused))
    assert attempt(db, password=PASSWORD, client=OWNER_IP).id == owner.id


def test_a_device_token_only_counts_for_the_account_it_was_issued_for(db, owner, clock):
    other = accounts.sign_up(db, name="Eve", email="eve@example.com", password=PASSWORD)
    db.commit()
    eve_device = login_guard.issue_device_token(other.id)
    assert login_guard.known_device(eve_device, other.id) is not None
    assert login_guard.known_device(eve_device, owner.id) is None
    assert login_guard.known_device("forged.0123456789abcdef0123456789abcdef", owner.id) is None
    # Eve's own token for her account gives her no fresh budget against Ada's.
    for _ in range(5):
        attempt(db, device=eve_device)
    attempt(db, device=eve_device)
    assert isinstance(attempt(db, device=eve_device), RateLimited)


def test_failures_on_a_known_device_are_throttled_too(db, owner, clock):
    device = login_guard.issue_device_token(owner.id)
    for _ in range(6):
        attempt(db, client=OWNER_IP, device=device)
    assert isinstance(attempt(db, password=PASSWORD, client=OWNER_IP, device=device), RateLimited)
    clock(1)
    assert attempt(db, password=PASSWORD, client=OWNER_IP, device=device).id == owner.id
    # The success cleared that device's failures: a typo afterwards is a plain wrong password.
    assert attempt(db, client=OWNER_IP, device=device).message == accounts.BAD_LOGIN


def test_nat_neighbours_are_not_locked_out_by_one_bad_actor(db, owner, clock):
    """Everyone behind one NAT shares ATTACKER_IP. A bad actor hammering Ada's email there
    blocks only the (Ada's email, this IP) key: a neighbour logging into their own account
    from the same IP, even on a new browser, gets in at once."""
    bob = accounts.sign_up(db, name="Bob", email="bob@example.com", password=PASSWORD)
    db.commit()
    for _ in range(12):
        attempt(db)
    assert isinstance(attempt(db), RateLimited)
    assert attempt(db, email="bob@example.com", password=PASSWORD).id == bob.id
    # Bob's mistyped password is a plain wrong password, not a lock-out.
    assert attempt(db, email="bob@example.com").message == accounts.BAD_LOGIN


def test_a_spray_over_many_emails_from_one_ip_is_slowed_but_neighbours_wait_at_most_a_minute(db, owner, clock):
    for i in range(60):  # credential stuffing: one address, many emails
        attempt(db, email=f"user{i}@example.com")
    refused = attempt(db, email="ada@example.com", password=PASSWORD)
    assert isinstance(refused, RateLimited)
    assert retry_seconds(refused) <= login_guard.IP_MAX_DELAY
    clock(login_guard.IP_MAX_DELAY)
    assert attempt(db, password=PASSWORD).id == owner.id


def test_throttling_reads_the_same_for_unknown_and_existing_emails(db, owner, clock):
    def messages(email: str) -> list[str]:
        out = []
        for _ in range(8):
            out.append(attempt(db, email=email, client=f"client-{email}").message)
        return out

    assert messages("ada@example.com") == messages("nobody@example.com")


def test_successful_logins_are_never_counted(db, owner, clock):
    for _ in range(50):
        assert attempt(db, password=PASSWORD, client=OWNER_IP).id == owner.id


def test_the_rate_limit_store_holds_no_email_or_ip(db, owner, clock):
    from sessions_app.services import ratelimit

    for _ in range(7):
        attempt(db)
    keys = " ".join(ratelimit.storage().storage.keys())
    assert keys and "ada" not in keys and ATTACKER_IP not in keys
