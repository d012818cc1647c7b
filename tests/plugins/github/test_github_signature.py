"""Every way a delivery is refused, and the ones that must be accepted: rotation and form-encoded bodies."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hub_plugins.github.source import GitHubSource

from hub.pluginapi import Rejected

SECRET = "s3cret-for-tests"


@pytest.fixture
def body(payloads) -> bytes:
    return json.dumps(payloads["star"]).encode()


def rejection(source_call) -> Rejected:
    with pytest.raises(Rejected) as caught:
        source_call()
    return caught.value


def test_a_correctly_signed_delivery_is_accepted(body, sign, make_request):
    request = make_request(body, sign(body, "star"))

    GitHubSource().verify(request, [SECRET])
    assert GitHubSource().parse(request).events[0].tags["event"] == "star"


def test_tampered_body_is_refused(body, sign, make_request):
    headers = sign(body, "star")
    tampered = body.replace(b"Codertocat", b"Mallory")

    error = rejection(lambda: GitHubSource().verify(make_request(tampered, headers), [SECRET]))

    assert error.status == 401
    assert "does not match" in error.message


def test_wrong_secret_is_refused(body, sign, make_request):
    request = make_request(body, sign(body, "star", secret="someone-elses"))

    assert rejection(lambda: GitHubSource().verify(request, [SECRET])).status == 401


def test_any_of_the_secrets_may_match_while_rotating(body, sign, make_request):
    request = make_request(body, sign(body, "star", secret="the-new-secret"))

    GitHubSource().verify(request, ["the-old-secret", "the-new-secret"])
    GitHubSource().verify(request, ["the-new-secret", "the-old-secret"])


def test_upper_case_hex_is_accepted(body, sign, make_request):
    headers = sign(body, "star")
    headers["x-hub-signature-256"] = "sha256=" + headers["x-hub-signature-256"].removeprefix("sha256=").upper()

    GitHubSource().verify(make_request(body, headers), [SECRET])


def test_missing_signature_is_refused(body, sign, make_request):
    headers = sign(body, "star")
    del headers["x-hub-signature-256"]

    error = rejection(lambda: GitHubSource().verify(make_request(body, headers), [SECRET]))

    assert error.status == 401
    assert "missing X-Hub-Signature-256" in error.message


@pytest.mark.parametrize(
    "value",
    [
        "sha1=" + "a" * 40,  # the legacy X-Hub-Signature format
        "sha256=" + "a" * 63,
        "sha256=" + "a" * 65,
        "sha256=" + "g" * 64,
        "sha256:" + "a" * 64,
        "a" * 64,
        "sha256=",
    ],
)
def test_malformed_signature_is_refused(body, sign, make_request, value):
    headers = sign(body, "star") | {"x-hub-signature-256": value}

    error = rejection(lambda: GitHubSource().verify(make_request(body, headers), [SECRET]))

    assert error.status == 400
    assert "malformed X-Hub-Signature-256" in error.message


def test_a_source_without_secrets_accepts_nothing(body, sign, make_request):
    error = rejection(lambda: GitHubSource().verify(make_request(body, sign(body, "star")), []))

    assert error.status == 401


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_delivery_id_is_refused(body, sign, make_request, value):
    headers = sign(body, "star")
    headers.pop("x-github-delivery")
    if value is not None:
        headers["x-github-delivery"] = value

    error = rejection(lambda: GitHubSource().parse(make_request(body, headers)))

    assert error.status == 400
    assert "X-GitHub-Delivery" in error.message


def test_overlong_delivery_id_is_refused(body, sign, make_request):
    error = rejection(lambda: GitHubSource().parse(make_request(body, sign(body, "star", delivery="x" * 129))))

    assert error.status == 400


@pytest.mark.parametrize("value", [None, ""])
def test_missing_event_header_is_refused(body, sign, make_request, value):
    headers = sign(body, "star")
    headers.pop("x-github-event")
    if value is not None:
        headers["x-github-event"] = value

    error = rejection(lambda: GitHubSource().parse(make_request(body, headers)))

    assert error.status == 400
    assert "X-GitHub-Event" in error.message


def test_form_encoded_delivery_is_verified_over_the_raw_body_and_parsed(payloads, sign, make_request, check):
    form = urlencode({"payload": json.dumps(payloads["push"])}).encode()
    request = make_request(form, sign(form, "push", form=True))

    GitHubSource().verify(request, [SECRET])
    event = check(GitHubSource().parse(request).events[0])

    assert event.event == "[Codertocat/Hello-World] Codertocat pushed tag simple-tag"


def test_form_encoded_delivery_signed_over_the_json_is_refused(payloads, sign, make_request):
    raw = json.dumps(payloads["push"]).encode()
    form = urlencode({"payload": raw.decode()}).encode()
    request = make_request(form, sign(raw, "push", form=True))

    assert rejection(lambda: GitHubSource().verify(request, [SECRET])).status == 401


@pytest.mark.parametrize(
    ("body", "form", "message"),
    [
        (b"not json", False, "not valid JSON"),
        (b"[1, 2, 3]", False, "must be a JSON object"),
        (b'"a string"', False, "must be a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, False, "not valid JSON"),  # past the C recursion limit (3.13: 10,000)
        (b"other=1", True, "no `payload` field"),
        (b"payload=%7Bbroken", True, "not valid JSON"),
        (b"payload=%FF%FE", True, "not valid"),
        ("payload=caf\u00e9".encode(), True, "not valid"),
    ],
)
def test_bodies_that_are_not_a_payload_are_refused(sign, make_request, body, form, message):
    error = rejection(lambda: GitHubSource().parse(make_request(body, sign(body, "push", form=form))))

    assert error.status == 400
    assert message in error.message
