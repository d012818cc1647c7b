"""End to end: a `stripe` source on the real app, fed every fixture signed as Stripe signs it."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

HOOK = "/hooks/stripe/main"
SECRET = "whsec_test"


def stripe_header(body: bytes, timestamp: int, *secrets: str) -> str:
    """`Stripe-Signature` as Stripe sends it: one `v1` per secret (several while a secret is being rolled)."""
    signed = f"{timestamp}.".encode() + body
    v1 = [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join([f"t={timestamp}", *v1])


@pytest.fixture
async def source(client, admin_headers) -> dict:
    body = {"plugin": "stripe", "name": "main", "project": "shop", "secrets": [SECRET]}
    response = await client.post("/api/v1/sources", json=body, headers=admin_headers)
    assert response.status_code == 201, response.text
    return response.json()


async def stored(client, headers) -> list[dict]:
    """Every event of the project; the fixtures are Stripe test-mode events, which the hub keeps as test events."""
    response = await client.get("/api/v1/events?project=shop&test=true&limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def deliver(
    envelope: dict, *, timestamp: int | None = None, secrets: tuple[str, ...] = (SECRET,)
) -> tuple[bytes, dict]:
    body = json.dumps(envelope).encode()
    header = stripe_header(body, int(time.time()) if timestamp is None else timestamp, *secrets)
    return body, {"stripe-signature": header, "content-type": "application/json"}


async def test_every_fixture_becomes_exactly_one_event(client, admin_headers, source, stripe_events):
    assert source["url"].endswith(HOOK)
    for event_type, envelope in stripe_events.items():
        body, headers = deliver(envelope)
        response = await client.post(HOOK, content=body, headers=headers)
        assert response.status_code == 200, (event_type, response.text)
        assert response.json()["duplicate"] is False
    events = await stored(client, admin_headers)
    assert sorted(e["tags"]["type"] for e in events) == sorted(stripe_events)
    assert sorted(e["tags"]["event_id"] for e in events) == sorted(e["id"] for e in stripe_events.values())
    for event in events:
        assert (event["project"], event["source"], event["test"]) == ("shop", "stripe", True)
        assert event["actions"][0]["url"].startswith("https://dashboard.stripe.com/test/")
    dispute = next(e for e in events if e["tags"]["type"] == "charge.dispute.created")
    assert (dispute["event"], dispute["severity"], dispute["channel"], dispute["icon"]) == (
        "Dispute opened: $10.00 (general)",
        "critical",
        "payments",
        "🚨",
    )


async def test_a_redelivery_stores_nothing_new(client, admin_headers, source, stripe_events):
    envelope = stripe_events["invoice.payment_failed"]
    body, headers = deliver(envelope)
    first = await client.post(HOOK, content=body, headers=headers)
    # Stripe retries with a fresh signature and timestamp; the event id is what makes it the same delivery.
    body, headers = deliver(envelope, timestamp=int(time.time()) - 5)
    again = await client.post(HOOK, content=body, headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "duplicate": True}
    [event] = await stored(client, admin_headers)
    assert event["event"] == "Invoice payment failed: $10.00 for cus_QXg1o8vcGmoR32"


async def test_a_live_mode_event_is_an_ordinary_event(client, admin_headers, source, stripe_events):
    body, headers = deliver({**stripe_events["customer.created"], "livemode": True})
    assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
    response = await client.get("/api/v1/events?project=shop", headers=admin_headers)
    [event] = response.json()["items"]
    assert event["actions"][0]["url"] == "https://dashboard.stripe.com/customers/cus_QXg1o8vcGmoR32"


async def test_a_late_delivery_still_notifies(client, admin_headers, source, stripe_events):
    """Stripe retries for three days; a dispute it could only deliver ten minutes on is not a backfill."""
    late = {**stripe_events["charge.dispute.created"], "livemode": True, "created": int(time.time()) - 600}
    body, headers = deliver(late)
    assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
    [event] = (await client.get("/api/v1/events?project=shop", headers=admin_headers)).json()["items"]
    assert (event["severity"], event["notify"]) == ("critical", True)
    deliveries = (await client.get("/api/v1/deliveries", headers=admin_headers)).json()
    assert deliveries, "the default rule sent it nowhere"


async def test_a_late_delivery_of_an_ordinary_event_is_routed_by_a_matching_rule(
    client, admin_headers, source, stripe_events
):
    """Not only alerts: an info event delivered late (a retry after an outage) is news a rule may send on."""
    rule = {"name": "payments", "match": {"sources": ["stripe"]}, "targets": [{"slack": "http://127.0.0.1:9/x"}]}
    assert (await client.put("/api/v1/routes/payments", json=rule, headers=admin_headers)).status_code == 200
    late = {**stripe_events["customer.created"], "livemode": True, "created": int(time.time()) - 600}
    body, headers = deliver(late)
    response = await client.post(HOOK, content=body, headers=headers)
    assert response.status_code == 200, response.text
    [event_id] = response.json()["events"]
    deliveries = await client.get(f"/api/v1/deliveries?event_id={event_id}", headers=admin_headers)
    assert [d["rule"] for d in deliveries.json()["items"]] == ["payments"]


async def test_a_second_secret_matches_while_rotating(client, admin_headers, stripe_events):
    body = {"plugin": "stripe", "name": "main", "project": "shop", "secrets": ["whsec_old_one", SECRET]}
    assert (await client.post("/api/v1/sources", json=body, headers=admin_headers)).status_code == 201
    body, headers = deliver(stripe_events["charge.refunded"])
    assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
    assert len(await stored(client, admin_headers)) == 1


def tampered(envelope: dict) -> tuple[bytes, dict]:
    body, headers = deliver(envelope)
    return body.replace(b"evt_", b"evX_", 1), headers


def wrong_secret(envelope: dict) -> tuple[bytes, dict]:
    return deliver(envelope, secrets=("whsec_wrong",))


def old_timestamp(envelope: dict) -> tuple[bytes, dict]:
    return deliver(envelope, timestamp=int(time.time()) - 600)


def missing_header(envelope: dict) -> tuple[bytes, dict]:
    body, _ = deliver(envelope)
    return body, {"content-type": "application/json"}


def malformed_header(envelope: dict) -> tuple[bytes, dict]:
    body, _ = deliver(envelope)
    return body, {"stripe-signature": "v1=abc", "content-type": "application/json"}


@pytest.mark.parametrize(
    ("make", "status", "message"),
    [
        (tampered, 401, "matches this source's signing secrets"),
        (wrong_secret, 401, "matches this source's signing secrets"),
        (old_timestamp, 401, "s old"),
        (missing_header, 400, "header is missing"),
        (malformed_header, 400, "no timestamp"),
    ],
)
async def test_unauthentic_deliveries_are_refused_and_store_nothing(
    client, admin_headers, source, stripe_events, make, status, message
):
    body, headers = make(stripe_events["payment_intent.succeeded"])
    response = await client.post(HOOK, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert message in response.json()["message"]
    assert await stored(client, admin_headers) == []


async def test_a_signed_body_that_is_not_an_event_is_refused(client, admin_headers, source):
    body, headers = deliver({"object": "customer", "id": "cus_1"})
    response = await client.post(HOOK, content=body, headers=headers)
    assert response.status_code == 400
    assert "not a Stripe event" in response.json()["message"]
    assert await stored(client, admin_headers) == []


async def test_an_unknown_type_still_becomes_a_readable_event(client, admin_headers, source, stripe_resources):
    envelope = {
        "id": "evt_1Payout",
        "object": "event",
        "type": "payout.paid",
        "livemode": False,
        "created": int(time.time()),
        "data": {"object": stripe_resources["payout"]},
    }
    body, headers = deliver(envelope)
    assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
    [event] = await stored(client, admin_headers)
    assert (event["event"], event["channel"], event["content"]) == (
        "Payout paid: $11.00",
        "payouts",
        stripe_resources["payout"],
    )


async def test_a_source_channel_overrides_the_default(client, admin_headers, stripe_events):
    body = {"plugin": "stripe", "name": "main", "project": "shop", "secrets": [SECRET], "channel": "money"}
    assert (await client.post("/api/v1/sources", json=body, headers=admin_headers)).status_code == 201
    body, headers = deliver(stripe_events["invoice.paid"])
    assert (await client.post(HOOK, content=body, headers=headers)).status_code == 200
    [event] = await stored(client, admin_headers)
    assert event["channel"] == "money"
