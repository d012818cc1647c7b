"""Properties: whatever GitHub (or anyone holding the secret) sends, the source answers an event within the
limits or a `Rejected`, never another exception."""

from __future__ import annotations

import json
import string
from typing import Any

import msgspec
from hub_plugins.github.renderers import RENDERERS
from hub_plugins.github.source import GitHubSource
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.pluginapi import EventIn, Rejected

PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Field names GitHub payloads use, so that random payloads reach into the renderers' lookups.
known_keys = st.sampled_from(
    [
        "action",
        "repository",
        "sender",
        "organization",
        "installation",
        "pull_request",
        "issue",
        "comment",
        "review",
        "check_run",
        "check_suite",
        "workflow_run",
        "workflow_job",
        "deployment",
        "deployment_status",
        "release",
        "alert",
        "commits",
        "head_commit",
        "ref",
        "forced",
        "deleted",
        "created",
        "number",
        "title",
        "name",
        "login",
        "full_name",
        "html_url",
        "state",
        "status",
        "conclusion",
        "body",
        "pages",
        "hook",
        "zen",
        "hook_id",
        "team",
        "member",
        "package",
        "package_version",
        "head",
        "base",
        "merged",
        "labels",
        "label",
    ]
)
keys = known_keys | st.text(max_size=10)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=6),
    max_leaves=25,
)
payloads_of_any_shape = st.dictionaries(keys, json_values, max_size=10)
event_names = st.sampled_from(sorted(RENDERERS)) | st.text(min_size=1, max_size=300).filter(str.strip)


def assert_within_limits(event: EventIn) -> None:
    event = msgspec.convert(msgspec.to_builtins(event), EventIn)
    assert 1 <= len(event.event) <= 250
    assert event.description is None or len(event.description) <= 4000
    assert event.tags is None or len(event.tags) <= 32
    assert len(msgspec.json.encode(event.content)) <= 64 * 1024


def parse(make_request, sign, name: str, raw: bytes) -> list[EventIn]:
    request = make_request(raw, sign(raw, "x") | {"x-github-event": name})
    return GitHubSource().parse(request).events


@PROPERTY
@given(name=event_names, payload=payloads_of_any_shape)
def test_any_object_payload_for_any_event_gives_one_event_within_limits(make_request, sign, name, payload):
    events = parse(make_request, sign, name, json.dumps(payload).encode())

    assert len(events) == 1
    assert_within_limits(events[0])


@st.composite
def mutated_examples(draw: st.DrawFn, payloads: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    """A real example delivery with one field somewhere replaced by arbitrary JSON."""
    name = draw(st.sampled_from(sorted(payloads)))
    payload = json.loads(json.dumps(payloads[name]))
    node: Any = payload
    while True:
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        if not keys:
            break
        key = draw(st.sampled_from(keys))
        child = node[key]
        if isinstance(child, dict | list) and child and draw(st.booleans()):
            node = child
            continue
        node[key] = draw(json_values)
        break
    return name, payload


@PROPERTY
@given(data=st.data())
def test_real_examples_with_a_field_replaced_still_render(make_request, sign, payloads, data):
    name, payload = data.draw(mutated_examples(payloads))

    events = parse(make_request, sign, name, json.dumps(payload).encode())

    assert len(events) == 1
    assert_within_limits(events[0])


@PROPERTY
@given(name=event_names, body=st.binary(max_size=300), form=st.booleans())
def test_any_body_is_an_event_or_a_rejection(make_request, sign, name, body, form):
    request = make_request(body, sign(body, "x", form=form) | {"x-github-event": name})
    try:
        events = GitHubSource().parse(request).events
    except Rejected as exc:
        assert exc.status == 400
    else:
        assert_within_limits(events[0])


signatures = (
    st.text()
    | st.builds(lambda hexes: "sha256=" + hexes, st.text(alphabet=string.hexdigits, min_size=0, max_size=70))
    | st.builds(lambda rest: "sha256=" + rest, st.text())
)


@PROPERTY
@given(header=signatures, secrets=st.lists(st.text(min_size=1, max_size=40), max_size=3))
def test_arbitrary_signature_headers_are_only_ever_rejected(make_request, sign, header, secrets):
    body = b'{"zen": "Keep it logically awesome."}'
    request = make_request(body, sign(body, "ping") | {"x-hub-signature-256": header})
    try:
        GitHubSource().verify(request, secrets)
    except Rejected as exc:
        assert exc.status in (400, 401)
    else:
        raise AssertionError("a made-up signature was accepted")
