"""Stripe events as hub events: every fixture, the special cases, the generic rendering, and the limits."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from hub_plugins.stripe.event import read_event
from hub_plugins.stripe.render import MAX_CONTENT_BYTES, render
from hub_plugins.stripe.settings import StripeSettings
from hub_plugins.stripe.source import StripeSource
from hub_plugins.stripe.summaries import SUMMARIES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub.models import EventIn, event_time
from hub.pluginapi import Delivery, Rejected, WebhookRequest

RECEIVED = datetime.fromtimestamp(1_763_800_400, UTC)  # shortly after the fixtures were created
DASHBOARD = "https://dashboard.stripe.com"
TEST = f"{DASHBOARD}/test"


def request(body: bytes, settings: StripeSettings | None = None) -> WebhookRequest:
    return WebhookRequest(
        plugin="stripe",
        source="main",
        method="POST",
        headers={"content-type": "application/json"},
        query={},
        body=body,
        received_at=RECEIVED,
        settings=settings or StripeSettings(),
    )


def parse(envelope: Any, settings: StripeSettings | None = None) -> Delivery:
    return StripeSource().parse(request(msgspec.json.encode(envelope), settings))


def hub_accepts(event: EventIn) -> None:
    """The checks the hub applies to a plugin's event before storing it."""
    msgspec.convert(msgspec.to_builtins(event), EventIn)
    event_time(event.timestamp, RECEIVED)


def one_event(envelope: Any, settings: StripeSettings | None = None) -> EventIn:
    delivery = parse(envelope, settings)
    assert delivery.delivery_id == envelope["id"]
    [event] = delivery.events
    hub_accepts(event)
    return event


def envelope_of(event_type: str, obj: Any, **extra: Any) -> dict[str, Any]:
    return {
        "id": "evt_1Test",
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_763_800_300,
        "livemode": False,
        "type": event_type,
        "data": {"object": obj},
        **extra,
    }


CUS = "cus_QXg1o8vcGmoR32"
SUB = "sub_1Pgc6rB7WZ01zgkWNy0Cn5nw"
INV = "in_1Pgc6tB7WZ01zgkWu9fdqL6I"
CH = "ch_1PgafuB7WZ01zgkWXYmPNZs8"
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"

# type: (title, icon, channel, severity, tags beyond type/livemode/event_id, dashboard links)
EXPECTED = {
    "charge.dispute.created": (
        "Dispute opened: $10.00 (general)",
        "🚨",
        "payments",
        "critical",
        {"dispute": "dp_1Pgc71B7WZ01zgkWMevJiAUx", "charge": CH, "status": "warning_needs_response", "currency": "usd"},
        [f"{TEST}/payments/{CH}"],
    ),
    "charge.refunded": (
        "Charge refunded: $0.00 of $1.00 to Jenny Rosen",
        "↩️",
        "payments",
        "info",
        {"charge": CH, "status": "succeeded", "currency": "usd"},
        [f"{TEST}/payments/{CH}"],
    ),
    "checkout.session.completed": (
        "Checkout completed by example@example.com",
        "🛒",
        "payments",
        "info",
        {
            "checkout_session": "cs_test_a1YS1URlnyQCN5fUUduORoQ7Pw41PJqDWkIVQCpJPqkfIhd6tVY8XB1OLY",
            "payment_intent": PI,
            "email": "example@example.com",
            "status": "open",
        },
        [f"{TEST}/payments/{PI}"],
    ),
    "customer.created": (
        f"New customer: {CUS}",
        "👤",
        "customers",
        "info",
        {"customer": CUS, "currency": "usd"},
        [f"{TEST}/customers/{CUS}"],
    ),
    "customer.subscription.created": (
        f"New subscription: $20.00/month for {CUS}",
        "🎉",
        "billing",
        "info",
        {"subscription": SUB, "customer": CUS, "status": "active", "currency": "usd"},
        [f"{TEST}/subscriptions/{SUB}", f"{TEST}/customers/{CUS}"],
    ),
    "customer.subscription.deleted": (
        f"Subscription canceled: $20.00/month for {CUS}",
        "👋",
        "billing",
        "info",
        {"subscription": SUB, "customer": CUS, "status": "active", "currency": "usd"},
        [f"{TEST}/subscriptions/{SUB}", f"{TEST}/customers/{CUS}"],
    ),
    "invoice.paid": (
        f"Invoice paid: $0.00 by {CUS}",
        "🧾",
        "billing",
        "info",
        {"invoice": INV, "customer": CUS, "status": "draft", "currency": "usd"},
        [f"{TEST}/invoices/{INV}", f"{TEST}/customers/{CUS}"],
    ),
    "invoice.payment_failed": (
        f"Invoice payment failed: $10.00 for {CUS}",
        "❌",
        "billing",
        "warning",
        {"invoice": INV, "customer": CUS, "status": "draft", "currency": "usd"},
        [f"{TEST}/invoices/{INV}", f"{TEST}/customers/{CUS}"],
    ),
    "payment_intent.succeeded": (
        "Payment received: $10.99",
        "💰",
        "payments",
        "info",
        {"payment_intent": PI, "status": "requires_payment_method", "currency": "usd"},
        [f"{TEST}/payments/{PI}"],
    ),
}


def test_every_fixture_has_an_expectation(stripe_events):
    assert set(stripe_events) == set(EXPECTED)


@pytest.mark.parametrize("event_type", sorted(EXPECTED))
def test_fixture_renders_for_people(stripe_events, event_type):
    envelope = stripe_events[event_type]
    title, icon, channel, severity, tags, links = EXPECTED[event_type]
    event = one_event(envelope)
    assert (event.event, event.icon, event.channel, event.severity) == (title, icon, channel, severity)
    assert event.tags == {"type": event_type, "livemode": False, "event_id": envelope["id"], **tags}
    assert [a.url for a in event.actions] == links
    assert all(a.external for a in event.actions)
    assert event.actions[0].label == "Open in Stripe"
    assert event.notify == (severity != "info")
    assert event.test is True  # the fixtures are test-mode events
    assert event.timestamp == envelope["created"]
    assert event.content == envelope["data"]["object"]
    assert event.description


def test_fixture_descriptions(stripe_events):
    def described(event_type: str) -> str:
        return one_event(stripe_events[event_type]).description or ""

    assert described("charge.dispute.created").splitlines() == [
        "Amount: $10.00",
        "Reason: general",
        "Status: warning needs response",
        "Respond by: 2024-08-14 23:59 UTC",
        f"Charge: {CH}",
    ]
    assert "Attempts: 0" in described("invoice.payment_failed")
    assert "Plan: $20.00/month" in described("customer.subscription.created")
    assert "Payment status: unpaid" in described("checkout.session.completed")


def test_live_mode_links_have_no_test_segment_and_are_not_test_events(stripe_events):
    envelope = copy.deepcopy(stripe_events["invoice.payment_failed"])
    envelope["livemode"] = True
    event = one_event(envelope)
    assert [a.url for a in event.actions] == [f"{DASHBOARD}/invoices/{INV}", f"{DASHBOARD}/customers/{CUS}"]
    assert event.tags["livemode"] is True
    assert (event.test, event.notify) == (False, True)


def test_the_dashboard_url_setting_is_respected(stripe_events):
    event = one_event(stripe_events["customer.created"], StripeSettings(dashboard_url="https://stripe.example/"))
    assert event.actions[0].url == f"https://stripe.example/test/customers/{CUS}"


def test_checkout_with_amount_in_a_zero_decimal_currency(stripe_resources):
    session = {**stripe_resources["checkout.session"], "amount_total": 5000, "currency": "jpy", "customer": CUS}
    event = one_event(envelope_of("checkout.session.completed", session))
    assert event.event == "Checkout completed: ¥5,000 by example@example.com"
    assert event.tags["currency"] == "jpy"
    assert event.user_id == CUS


def test_failed_payment_intent_says_why(stripe_resources):
    intent = {
        **stripe_resources["payment_intent"],
        "currency": "eur",
        "receipt_email": "jenny@example.com",
        "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds", "message": "Declined."},
    }
    event = one_event(envelope_of("payment_intent.payment_failed", intent))
    assert (event.event, event.icon, event.severity, event.notify) == (
        "Payment failed: €10.99 from jenny@example.com",
        "❌",
        "warning",
        True,
    )
    assert "Error: Declined." in event.description
    assert "Decline code: insufficient funds" in event.description
    assert event.tags["email"] == "jenny@example.com"


def test_succeeded_payment_shows_the_amount_received(stripe_resources):
    intent = {**stripe_resources["payment_intent"], "amount_received": 1500}
    assert one_event(envelope_of("payment_intent.succeeded", intent)).event == "Payment received: $15.00"


def test_customer_created_prefers_the_email(stripe_resources):
    customer = {**stripe_resources["customer"], "email": "jenny@example.com", "name": "Jenny Rosen"}
    event = one_event(envelope_of("customer.created", customer))
    assert event.event == "New customer: jenny@example.com"
    assert event.description == f"Email: jenny@example.com\nName: Jenny Rosen\nId: {CUS}"
    assert event.user_id == CUS


@pytest.mark.parametrize(
    ("change", "before", "title", "severity"),
    [
        ({"status": "active"}, {"status": "trialing"}, f"Subscription trialing → active for {CUS}", "info"),
        ({"status": "past_due"}, {"status": "active"}, f"Subscription active → past due for {CUS}", "warning"),
        (
            {"cancel_at_period_end": True},
            {"cancel_at_period_end": False},
            f"Subscription set to cancel for {CUS}",
            "info",
        ),
        (
            {"cancel_at_period_end": False},
            {"cancel_at_period_end": True},
            f"Subscription cancellation withdrawn for {CUS}",
            "info",
        ),
        # A cancellation on a date of its own leaves cancel_at_period_end false: it read "Subscription updated".
        ({"cancel_at": 1767225600}, {"cancel_at": None}, f"Subscription set to cancel for {CUS}", "info"),
        ({"cancel_at": None}, {"cancel_at": 1767225600}, f"Subscription cancellation withdrawn for {CUS}", "info"),
        ({}, {"items": {"data": []}}, f"Subscription plan changed for {CUS}", "info"),
        ({}, {"metadata": {"a": "b"}}, f"Subscription updated for {CUS}", "info"),
    ],
)
def test_subscription_updates_name_the_change(stripe_resources, change, before, title, severity):
    subscription = {**stripe_resources["subscription"], **change}
    envelope = envelope_of("customer.subscription.updated", subscription)
    envelope["data"]["previous_attributes"] = before
    event = one_event(envelope)
    assert (event.event, event.icon, event.severity) == (title, "🔄", severity)
    assert f"Changed: {', '.join(sorted(before))}" in event.description


def test_a_subscription_update_says_how_the_quantity_or_the_price_changed(stripe_resources):
    subscription = copy.deepcopy(stripe_resources["subscription"])
    before_items = copy.deepcopy(subscription["items"])
    subscription["items"]["data"][0]["quantity"] = 3
    envelope = envelope_of("customer.subscription.updated", subscription)
    envelope["data"]["previous_attributes"] = {"items": before_items, "quantity": 1}
    assert one_event(envelope).event == f"Subscription quantity 1 → 3 for {CUS}"

    pricier = copy.deepcopy(subscription)
    pricier["items"]["data"][0]["quantity"] = 1
    pricier["items"]["data"][0]["price"].update(id="price_2Pro", unit_amount=5000)
    envelope = envelope_of("customer.subscription.updated", pricier)
    envelope["data"]["previous_attributes"] = {"items": before_items}
    assert one_event(envelope).event == f"Subscription plan changed: $20.00/month → $50.00/month for {CUS}"


def test_subscription_plan_with_quantity_and_interval_count(stripe_resources):
    subscription = copy.deepcopy(stripe_resources["subscription"])
    item = subscription["items"]["data"][0]
    item["quantity"] = 3
    item["price"]["recurring"]["interval_count"] = 3
    item["price"]["nickname"] = "Pro"
    subscription["items"]["data"].append(copy.deepcopy(item))
    event = one_event(envelope_of("customer.subscription.created", subscription))
    assert event.event == f"New subscription: 3 x Pro ($20.00 every 3 months) + 1 more for {CUS}"


@pytest.mark.parametrize("kind", sorted(["payout", "refund", "product", "account", "quote", "issuing.card", "coupon"]))
def test_other_types_render_generically(stripe_resources, kind):
    obj = stripe_resources[kind]
    event = one_event(envelope_of(f"{kind}.updated", obj))
    assert event.event.startswith(f"{kind.replace('.', ' ').capitalize()} updated")
    assert (event.icon, event.severity, event.notify) == ("💳", "info", False)
    assert event.content == obj
    assert event.description.startswith(f"Object: {kind}")


def test_every_resource_renders_for_any_of_its_event_types(stripe_resources):
    for kind, obj in stripe_resources.items():
        for action in ("created", "updated", "deleted", "failed"):
            one_event(envelope_of(f"{kind}.{action}", obj))


@pytest.mark.parametrize(
    ("event_type", "kind", "channel", "link"),
    [
        ("payout.paid", "payout", "payouts", f"{TEST}/payouts/po_1Pgc79B7WZ01zgkWu1KToYf4"),
        ("refund.created", "refund", "payments", f"{TEST}/payments/{CH}"),
        ("product.created", "product", "billing", f"{TEST}/products/prod_QXg1hqf4jFNsqG"),
        ("radar.early_fraud_warning.created", "radar.early_fraud_warning", "payments", f"{TEST}/payments/ch_1234"),
        (
            "identity.verification_session.verified",
            "identity.verification_session",
            "stripe",
            f"{TEST}/events/evt_1Test",
        ),
    ],
)
def test_generic_channels_and_links(stripe_resources, event_type, kind, channel, link):
    event = one_event(envelope_of(event_type, stripe_resources[kind]))
    assert (event.channel, event.actions[0].url) == (channel, link)


@pytest.mark.parametrize(
    ("event_type", "severity", "icon"),
    [
        ("payout.failed", "warning", "⚠️"),
        ("checkout.session.async_payment_failed", "warning", "⚠️"),
        ("invoice.payment_action_required", "warning", "⚠️"),
        ("charge.dispute.closed", "warning", "⚠️"),
        ("radar.early_fraud_warning.created", "critical", "🚨"),
        ("radar.early_fraud_warning.updated", "warning", "⚠️"),
        ("payout.paid", "info", "💳"),
    ],
)
def test_generic_severity_follows_the_type(stripe_resources, event_type, severity, icon):
    event = one_event(envelope_of(event_type, stripe_resources["payout"]))
    assert (event.severity, event.icon, event.notify) == (severity, icon, severity != "info")


def test_generic_tags_carry_the_object_id_under_its_type(stripe_resources):
    event = one_event(envelope_of("payout.paid", stripe_resources["payout"], account="acct_1Connected"))
    assert event.tags == {
        "type": "payout.paid",
        "livemode": False,
        "event_id": "evt_1Test",
        "payout": "po_1Pgc79B7WZ01zgkWu1KToYf4",
        "status": "in_transit",
        "currency": "usd",
        "account": "acct_1Connected",
    }
    assert "Amount: $11.00" in event.description


@pytest.mark.parametrize(
    ("event_type", "kind", "fields", "title", "reason"),
    [
        (
            "payout.failed",
            "payout",
            {
                "amount": 50000,
                "currency": "jpy",
                "status": "failed",
                "failure_code": "account_closed",
                "failure_message": "The bank account has been closed.",
            },
            "Payout failed: ¥50,000",
            "The bank account has been closed.",
        ),
        (
            "charge.failed",
            "charge",
            {"status": "failed", "failure_code": "card_declined", "failure_message": "Your card was declined."},
            "Charge failed: $1.00",
            "Your card was declined.",
        ),
        (
            "refund.failed",
            "refund",
            {"failure_reason": "expired_or_canceled_card"},
            "Refund failed: $1.00",
            "expired or canceled card",
        ),
        (
            "payment_intent.canceled",
            "payment_intent",
            {"cancellation_reason": "abandoned"},
            "Payment intent canceled: $10.99",
            "abandoned",
        ),
    ],
)
def test_a_failure_or_cancellation_says_why(stripe_resources, event_type, kind, fields, title, reason):
    event = one_event(envelope_of(event_type, {**stripe_resources[kind], **fields}))
    assert event.event == title
    assert f"Reason: {reason}" in event.description.splitlines()


def test_a_success_shows_no_reason_left_from_an_earlier_failure(stripe_resources):
    payout = {**stripe_resources["payout"], "status": "paid", "failure_message": "An earlier attempt failed."}
    assert "Reason" not in one_event(envelope_of("payout.paid", payout)).description


@pytest.mark.parametrize(
    ("status", "title", "icon", "severity"),
    [
        ("won", "Dispute won: $10.00", "✅", "info"),
        ("warning_closed", "Dispute inquiry closed: $10.00", "✅", "info"),
        ("lost", "Dispute lost: $10.00", "❌", "warning"),
        ("prevented", "Dispute prevented: $10.00", "✅", "info"),
        ("under_review", "Charge dispute closed: $10.00", "⚠️", "warning"),
    ],
)
def test_a_closed_dispute_says_whether_it_was_won(stripe_resources, status, title, icon, severity):
    event = one_event(envelope_of("charge.dispute.closed", {**stripe_resources["dispute"], "status": status}))
    assert (event.event, event.icon, event.severity, event.notify) == (title, icon, severity, severity != "info")
    assert event.tags["status"] == status
    assert event.actions[0].url == f"{TEST}/payments/{CH}"


def test_a_subscription_cancelling_on_a_date_says_when(stripe_resources):
    subscription = {**stripe_resources["subscription"], "cancel_at": 1767225600, "cancel_at_period_end": False}
    envelope = envelope_of("customer.subscription.updated", subscription)
    envelope["data"]["previous_attributes"] = {"cancel_at": None}
    assert "Cancels at: 2026-01-01 00:00 UTC" in one_event(envelope).description


def test_a_disputes_money_coming_back_is_good_news(stripe_resources):
    event = one_event(envelope_of("charge.dispute.funds_reinstated", stripe_resources["dispute"]))
    assert (event.severity, event.notify) == ("info", False)
    withdrawn = one_event(envelope_of("charge.dispute.funds_withdrawn", stripe_resources["dispute"]))
    assert withdrawn.severity == "warning"


def test_an_invoice_on_api_versions_from_basil_is_tagged_with_its_subscription(stripe_resources):
    # 2025-03-31.basil moved `invoice.subscription` to `invoice.parent.subscription_details.subscription`.
    invoice = {key: value for key, value in stripe_resources["invoice"].items() if key != "subscription"}
    invoice["parent"] = {
        "type": "subscription_details",
        "quote_details": None,
        "subscription_details": {"metadata": {}, "subscription": SUB},
    }
    for event_type in ("invoice.paid", "invoice.payment_failed", "invoice.finalized"):
        event = one_event(envelope_of(event_type, invoice, api_version="2025-03-31.basil"))
        assert (event.tags["invoice"], event.tags["subscription"]) == (INV, SUB)


def test_thin_events_render_generically_with_the_envelope_as_content():
    envelope = {
        "id": "evt_test_65R9",
        "object": "v2.core.event",
        "type": "v1.billing.meter.error_report_triggered",
        "livemode": False,
        "created": "2024-09-17T06:20:52.246Z",
        "related_object": {"id": "mtr_test_61R9", "type": "billing.meter", "url": "/v1/billing/meters/mtr_test_61R9"},
    }
    event = one_event(envelope)
    # In its area's channel, past the API version `v1.` (it went to the catch-all `stripe`).
    assert (event.event, event.channel, event.timestamp) == ("Billing meter error report triggered", "billing", None)
    assert event.content == envelope
    assert event.actions[0].url == f"{TEST}/events/evt_test_65R9"


def test_a_huge_object_is_trimmed_to_fit(stripe_resources):
    charge = {**stripe_resources["charge"], "description": "x" * 100_000, "blob": ["y" * 1000] * 200}
    charge.update({f"k{i}": "z" * 900 for i in range(200)})
    event = one_event(envelope_of("charge.refunded", charge))
    assert len(msgspec.json.encode(event.content)) <= MAX_CONTENT_BYTES
    assert event.content["_trimmed"] is True
    assert event.content["id"] == CH
    assert event.content["description"] == "x" * 1023 + "…"
    assert "blob" not in event.content and "billing_details" not in event.content


def test_an_object_nested_past_the_limit_is_trimmed_and_stays_a_test_event(stripe_resources):
    """Else the plugin failed, and the raw fallback lost the event's type, channel and test mode."""
    deep: dict = {}
    for _ in range(40):
        deep = {"d": deep}
    event = one_event(envelope_of("charge.refunded", {**stripe_resources["charge"], "metadata": deep}))
    assert event.content["_trimmed"] is True and event.content["id"] == CH and "metadata" not in event.content
    assert (event.tags["type"], event.test) == ("charge.refunded", True)


def test_long_texts_are_cut_to_the_limits():
    event = one_event(envelope_of("x" * 5000, {"status": "s" * 5000, "object": "o" * 200, "id": "i" * 255}))
    assert len(event.event) == 250 and event.event.endswith("…")
    assert len(event.tags["type"]) == 1024
    assert len(event.description) <= 4000


@pytest.mark.parametrize(
    ("created", "expected"),
    [(1_763_800_300, 1_763_800_300), (1_763_800_401, None), (-1, None), ("1", None), (True, None)],
)
def test_created_becomes_the_timestamp_only_when_plausible(created, expected):
    assert one_event(envelope_of("payout.paid", {}, created=created)).timestamp == expected


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "not a Stripe event"),
        (b'{"object": "customer", "id": "cus_1"}', "not a Stripe event"),
        (b'{"object": "event", "type": "payout.paid"}', "no valid `id`"),
        (b'{"object": "event", "id": "evt 1", "type": "payout.paid"}', "no valid `id`"),
        (b'{"object": "event", "id": 5, "type": "payout.paid"}', "no valid `id`"),
        (b'{"object": "event", "id": "evt_1", "type": "  "}', "no `type`"),
        (b'{"object": "event", "id": "evt_1"}', "no `type`"),
    ],
)
def test_a_body_that_is_not_a_stripe_event_is_refused(body, message):
    with pytest.raises(Rejected) as caught:
        StripeSource().parse(request(body))
    assert caught.value.status == 400
    assert message in caught.value.message


def test_an_event_without_data_still_renders():
    event = one_event({"id": "evt_1", "object": "event", "type": "invoice.paid"})
    assert (event.event, event.icon) == ("Invoice paid", "🧾")
    assert event.actions[0].url == f"{TEST}/events/evt_1"


# Arbitrary JSON, biased towards the keys and values the renderers look at.
KEYS = st.sampled_from(
    [
        "id", "object", "amount", "amount_total", "amount_due", "amount_paid", "amount_refunded", "amount_received",
        "currency", "customer", "customer_email", "customer_details", "customer_name", "email", "name", "status",
        "items", "data", "price", "plan", "unit_amount", "recurring", "interval", "interval_count", "nickname",
        "quantity", "charge", "invoice", "subscription", "payment_intent", "payout", "product", "last_payment_error",
        "message", "code", "decline_code", "evidence_details", "due_by", "cancellation_details", "reason",
        "cancel_at_period_end", "cancel_at", "trial_end", "next_payment_attempt", "attempt_count", "number",
        "billing_details", "receipt_email", "mode", "payment_status", "description", "_trimmed",
    ]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**4000), max_value=10**4000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(),
    st.sampled_from(["usd", "JPY", "kwd", "xx", "cus_1", "ch_1", "month", "past_due", "checkout.session", "dispute"]),
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=8), inner, max_size=8),
    max_leaves=60,
)
TYPES = st.one_of(
    st.sampled_from(sorted(SUMMARIES)),
    st.sampled_from(
        ["payout.failed", "charge.dispute.closed", "customer.updated", "radar.early_fraud_warning.created"]
    ),
    st.text(min_size=1),
)


@settings(suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(event_type=TYPES, obj=JSON, previous=JSON, livemode=JSON, created=JSON, account=JSON)
def test_any_object_under_any_type_renders_within_the_limits(event_type, obj, previous, livemode, created, account):
    envelope = {
        "id": "evt_1",
        "object": "event",
        "type": event_type,
        "livemode": livemode,
        "created": created,
        "account": account,
        "data": {"object": obj, "previous_attributes": previous},
    }
    try:
        delivery = parse(envelope)
    except Rejected as problem:  # only a blank type is refused
        assert problem.status == 400
        assert not event_type.strip()
        return
    [event] = delivery.events
    hub_accepts(event)


@settings(deadline=None)
@given(body=st.one_of(st.binary(), JSON.map(msgspec.json.encode)))
def test_any_body_gives_a_delivery_or_rejected(body):
    try:
        delivery = StripeSource().parse(request(body))
    except Rejected as problem:
        assert problem.status == 400
        return
    for event in delivery.events:
        hub_accepts(event)


def test_render_takes_the_envelope_as_read(stripe_events):
    event = render(read_event(stripe_events["customer.created"], RECEIVED), DASHBOARD)
    assert event.event == f"New customer: {CUS}"


@pytest.mark.parametrize(
    ("event_type", "title"),
    [
        ("customer.subscription.trial_will_end", "Customer subscription trial will end"),
        ("radar.early_fraud_warning.created", "Radar early fraud warning created"),
        ("v1.billing.meter.error_report_triggered", "Billing meter error report triggered"),
        ("invoice.upcoming", "Invoice upcoming"),
    ],
)
def test_other_types_are_titled_by_their_type_in_words(event_type, title):
    from hub_plugins.stripe.summaries import type_in_words

    assert type_in_words(event_type) == title
