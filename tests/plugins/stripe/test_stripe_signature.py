"""`Stripe-Signature` verification: every rejection case, key rotation, and no exception but Rejected."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hub_plugins.stripe.signature import parse_header, verify_signature
from hypothesis import given
from hypothesis import strategies as st

from hub.pluginapi import Rejected

BODY = b'{"id": "evt_1", "object": "event", "type": "invoice.paid"}'
SECRET = "whsec_test"
NOW = 1_763_800_000


def v1(body: bytes, timestamp: int, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def check(header: str | None, body: bytes = BODY, secrets: tuple[str, ...] = (SECRET,), tolerance: int = 300) -> None:
    verify_signature(body, header, secrets, now=NOW, tolerance=tolerance)


def rejected(header: str | None, **kwargs) -> Rejected:
    with pytest.raises(Rejected) as caught:
        check(header, **kwargs)
    return caught.value


def test_a_correct_signature_is_accepted():
    check(f"t={NOW},v1={v1(BODY, NOW)}")


def test_any_v1_may_match_and_v0_is_ignored():
    check(f"t={NOW},v1={'0' * 64},v1={v1(BODY, NOW)},v0={'f' * 64}")


def test_the_second_secret_matches_during_rotation():
    header = f"t={NOW},v1={v1(BODY, NOW, 'whsec_new')}"
    check(header, secrets=("whsec_old", "whsec_new"))
    assert rejected(header, secrets=("whsec_old",)).status == 401


def test_spaces_around_items_are_tolerated():
    check(f"t={NOW}, v1={v1(BODY, NOW)}")


def test_a_tampered_body_is_refused():
    problem = rejected(f"t={NOW},v1={v1(BODY, NOW)}", body=BODY.replace(b"invoice", b"invoicf"))
    assert (problem.status, problem.message) == (
        401,
        "no `v1` signature in the Stripe-Signature header matches this source's signing secrets",
    )


def test_a_wrong_secret_is_refused():
    assert rejected(f"t={NOW},v1={v1(BODY, NOW, 'whsec_other')}").status == 401


def test_a_signature_over_another_timestamp_is_refused():
    assert rejected(f"t={NOW},v1={v1(BODY, NOW - 1)}").status == 401


def test_an_old_timestamp_is_refused_even_when_signed():
    old = NOW - 301
    problem = rejected(f"t={old},v1={v1(BODY, old)}")
    assert problem.status == 401
    assert "301 s old, beyond the tolerance of 300 s" in problem.message


def test_a_timestamp_ahead_of_the_hubs_clock_is_accepted_as_stripes_libraries_do():
    """Stripe signs with its own clock: a hub whose clock is behind refused every delivery."""
    for ahead in (NOW + 301, NOW + 3600):
        check(f"t={ahead},v1={v1(BODY, ahead)}")


def test_a_timestamp_at_the_tolerance_is_accepted():
    check(f"t={NOW - 300},v1={v1(BODY, NOW - 300)}")


def test_the_signature_is_checked_before_the_timestamp_as_stripe_does():
    assert "matches" in rejected(f"t={NOW - 1000},v1={'0' * 64}").message


def test_tolerance_zero_turns_the_timestamp_check_off():
    check(f"t=1,v1={v1(BODY, 1)}", tolerance=0)


def test_the_tolerance_is_configurable():
    old = NOW - 61
    assert rejected(f"t={old},v1={v1(BODY, old)}", tolerance=60).status == 401
    check(f"t={old},v1={v1(BODY, old)}", tolerance=120)


@pytest.mark.parametrize("header", [None, "", "   "])
def test_a_missing_header_is_refused(header):
    problem = rejected(header)
    assert (problem.status, problem.message) == (400, "the Stripe-Signature header is missing")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("garbage", "has no timestamp"),
        (f"v1={v1(BODY, NOW)}", "has no timestamp"),
        (f"t,v1={v1(BODY, NOW)}", "has no timestamp"),
        (f"t=,v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t=abc,v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t=-5,v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t=1e9,v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t=١٢٣,v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t={'9' * 5000},v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t=abc,t={NOW},v1={v1(BODY, NOW)}", "must be Unix seconds"),
        (f"t={NOW}", "has no `v1` signature"),
        (f"t={NOW},v0={v1(BODY, NOW)}", "has no `v1` signature"),
        (f"t={NOW},v2={v1(BODY, NOW)}", "has no `v1` signature"),
        (f"t={NOW},v1", "has no `v1` signature"),
    ],
)
def test_a_malformed_header_is_refused_with_400(header, message):
    problem = rejected(header)
    assert problem.status == 400
    assert message in problem.message


def test_parse_header_keeps_the_first_timestamp_and_every_v1():
    assert parse_header("t=5,v1=a,v0=b,t=6,v1=c,x=y") == (5, ["a", "c"])


def test_a_source_without_secrets_accepts_nothing():
    assert rejected(f"t={NOW},v1={v1(BODY, NOW)}", secrets=()).status == 401


# Headers shaped like Stripe's (items of known and unknown keys) as well as any text at all.
HEADER_ITEM = st.tuples(st.sampled_from(["t", "v1", "v0", "", " t ", "x"]), st.sampled_from(["=", "", "=="]), st.text())
HEADERS = st.one_of(
    st.none(),
    st.text(),
    st.lists(HEADER_ITEM).map(lambda items: ",".join("".join(item) for item in items)),
)


@given(header=HEADERS, body=st.binary(), secrets=st.lists(st.text(), max_size=3), now=st.integers(0, 2**40))
def test_any_header_body_and_secrets_give_acceptance_or_rejected(header, body, secrets, now):
    try:
        verify_signature(body, header, secrets, now=now, tolerance=300)
    except Rejected as problem:
        assert problem.status in (400, 401)
        assert problem.message


@given(body=st.binary(), secret=st.text(min_size=1), timestamp=st.integers(0, 10**12 - 1), skew=st.integers(-300, 300))
def test_whatever_stripe_signs_within_the_tolerance_is_accepted(body, secret, timestamp, skew):
    signature = hmac.new(secret.encode("utf-8", "surrogatepass"), f"{timestamp}.".encode() + body, hashlib.sha256)
    header = f"t={timestamp},v1={signature.hexdigest()}"
    verify_signature(body, header, ["whsec_other", secret], now=timestamp + skew, tolerance=300)


@given(body=st.binary(min_size=1), data=st.data())
def test_changing_any_byte_of_the_body_is_refused(body, data):
    index = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:index] + bytes([body[index] ^ flip]) + body[index + 1 :]
    problem = rejected(f"t={NOW},v1={v1(body, NOW)}", body=tampered)
    assert problem.status == 401
