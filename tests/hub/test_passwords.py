"""scrypt password hashes: they verify, carry their parameters, refuse malformed input, and the login guard."""

from __future__ import annotations

import pytest

from hub import passwords
from hub.loginguard import WINDOW_SECONDS, LoginGuard


def test_hash_verifies_only_the_same_password() -> None:
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith(f"scrypt${passwords.LOG_N}${passwords.R}${passwords.P}$")
    assert passwords.verify_password("correct horse battery", stored)
    assert not passwords.verify_password("correct horse batterY", stored)
    assert stored != passwords.hash_password("correct horse battery")  # salted


@pytest.mark.parametrize("stored", [None, "", "plain", "bcrypt$1$2$3$4$5", "scrypt$x$8$1$AAAA$AAAA", "scrypt$1$2$3"])
def test_malformed_hashes_never_match(stored: str | None) -> None:
    assert not passwords.verify_password("anything", stored)


def test_old_parameters_ask_for_a_rehash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "LOG_N", 10)
    weak = passwords.hash_password("correct horse battery")
    monkeypatch.undo()
    assert passwords.verify_password("correct horse battery", weak)
    assert passwords.needs_rehash(weak)
    assert not passwords.needs_rehash(passwords.hash_password("correct horse battery"))


def test_strength_is_about_length() -> None:
    with pytest.raises(ValueError, match="at least 10"):
        passwords.check_strength("short")
    with pytest.raises(ValueError, match="at most"):
        passwords.check_strength("x" * (passwords.MAX_LENGTH + 1))
    passwords.check_strength("ten chars!")


def test_login_guard_counts_attempts_per_email_and_address(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("hub.loginguard.time.monotonic", lambda: clock[0])
    guard = LoginGuard(attempts=3)
    for _ in range(3):
        assert guard.begin("A@x.io", "1.2.3.4") == 0  # counted before the password is checked
    assert guard.begin(" a@x.io\t", "1.2.3.4") == WINDOW_SECONDS  # locked from that address, however it is spaced
    assert guard.begin("a@x.io", "5.6.7.8") == 0  # its owner elsewhere is not locked out by anyone's guesses
    assert guard.begin("b@x.io", "1.2.3.4") == 0  # the address still has budget for other emails
    guard.succeeded("b@x.io", "1.2.3.4")  # a right password gives its attempt back
    clock[0] += WINDOW_SECONDS
    assert guard.begin("a@x.io", "1.2.3.4") == 0
    for n in range(12):
        assert guard.begin(f"user{n}@x.io", "9.9.9.9") == 0
    assert guard.begin("new@x.io", "9.9.9.9") > 0  # four times the per-email budget per address
    guard.succeeded("user0@x.io", "9.9.9.9")
    assert guard.begin("new@x.io", "9.9.9.9") == 0


def test_login_guard_locks_an_email_everywhere_after_guesses_from_many_addresses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guessing spread over addresses is bounded too: ten times the limit of one address, from any."""
    monkeypatch.setattr("hub.loginguard.time.monotonic", lambda: 1000.0)
    guard = LoginGuard(attempts=3)
    for n in range(10):
        for _ in range(3):
            assert guard.begin("a@x.io", f"10.0.0.{n}") == 0
    assert guard.begin("a@x.io", "192.0.2.1") == WINDOW_SECONDS
    assert guard.begin("b@x.io", "192.0.2.1") == 0


def test_an_address_an_email_signed_in_from_keeps_its_budget_when_the_email_is_locked_everywhere(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Guesses from ten addresses locked the owner out from their own address too, for as long as they went on."""
    monkeypatch.setattr("hub.loginguard.time.monotonic", lambda: 1000.0)
    guard = LoginGuard(attempts=3)
    assert guard.begin("a@x.io", "192.0.2.1") == 0
    guard.succeeded("a@x.io", "192.0.2.1")
    for n in range(10):
        for _ in range(3):
            guard.begin("a@x.io", f"10.0.0.{n}")
    assert guard.begin("a@x.io", "192.0.2.99") == WINDOW_SECONDS  # a new address: locked, as before
    for _ in range(3):  # the owner's own address: its own budget, which is still a budget
        assert guard.begin("a@x.io", "192.0.2.1") == 0
    assert guard.begin("a@x.io", "192.0.2.1") == WINDOW_SECONDS


def test_an_ipv6_client_counts_as_its_64_block(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each address of a /64, which one subscriber holds, had a budget of its own."""
    monkeypatch.setattr("hub.loginguard.time.monotonic", lambda: 1000.0)
    guard = LoginGuard(attempts=3)
    for n in range(3):
        assert guard.begin("a@x.io", f"2001:db8::{n + 1}") == 0
    assert guard.begin("a@x.io", "2001:db8::ffff:1") == WINDOW_SECONDS
    assert guard.begin("a@x.io", "2001:db8:0:1::1") == 0  # the next /64


def test_filling_the_counters_does_not_wipe_the_ones_still_counting(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past MAX_TRACKED counters every one was cleared, the guessed email's too."""
    clock = [1000.0]
    monkeypatch.setattr("hub.loginguard.time.monotonic", lambda: clock[0])
    monkeypatch.setattr("hub.loginguard.MAX_TRACKED", 30)
    guard = LoginGuard(attempts=3)
    for _ in range(3):
        guard.begin("a@x.io", "192.0.2.1")
    clock[0] += WINDOW_SECONDS - 1
    for n in range(20):
        guard.begin(f"user{n}@x.io", f"10.0.0.{n}")
    assert guard.begin("a@x.io", "192.0.2.1") > 0
