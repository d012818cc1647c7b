"""What each Stripe event says, for people: a title, an icon, description lines and a severity.

The common types get their own summary; every other type (Stripe has about 200) gets the generic one, whose
severity is guessed from the type's name. Failed payments are warnings, a new dispute is critical.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .event import StripeEvent
from .payload import customer_label, email, first_text, get, ident, integer, moment, money, readable, text

Severity = Literal["info", "warning", "critical"]
GENERIC_ICONS: dict[Severity, str] = {"info": "💳", "warning": "⚠️", "critical": "🚨"}
# Where the amount of an object of unknown kind is most likely kept, most telling first.
AMOUNT_FIELDS = ("amount", "amount_total", "amount_due", "amount_paid", "unit_amount")
# Where objects say why they failed or were canceled (payouts, charges, refunds, intents, top-ups): the message
# as written, else the code in words. Whoever is notified of a failed payout needs the reason, not only the amount.
REASON_MESSAGES = (("failure_message",), ("last_payment_error", "message"), ("last_setup_error", "message"))
REASON_CODES = (("failure_code",), ("failure_reason",), ("cancellation_reason",))
# How a closed dispute ended: (title, icon, severity); any other status keeps the generic warning.
DISPUTE_OUTCOMES: dict[str, tuple[str, str, Severity]] = {
    "won": ("Dispute won", "✅", "info"),
    "warning_closed": ("Dispute inquiry closed", "✅", "info"),
    "prevented": ("Dispute prevented", "✅", "info"),  # stopped before it became a chargeback (Visa RDR)
    "lost": ("Dispute lost", "❌", "warning"),
}


@dataclass(frozen=True)
class Summary:
    title: str
    icon: str
    lines: list[str] = field(default_factory=list)
    severity: Severity = "info"


def severity_for(event_type: str) -> Severity:
    """A new dispute or early fraud warning is critical (money is at stake within days); failures, required
    actions and later dispute and fraud-warning updates are warnings, but for a dispute's money coming back."""
    if event_type in ("charge.dispute.created", "radar.early_fraud_warning.created"):
        return "critical"
    if event_type == "charge.dispute.funds_reinstated":
        return "info"
    last = event_type.rsplit(".", 1)[-1]
    if "fail" in last or "action_required" in last:
        return "warning"
    if event_type.startswith(("charge.dispute.", "radar.early_fraud_warning.")):
        return "warning"
    return "info"


def type_in_words(event_type: str) -> str:
    """`customer.subscription.trial_will_end` -> "Customer subscription trial will end" (an API version's `v1.`
    dropped). The type itself stays in the `type` tag."""
    parts = event_type.split(".")
    if len(parts) > 1 and parts[0] in ("v1", "v2"):
        parts = parts[1:]
    words = " ".join(parts).replace("_", " ")
    return words[:1].upper() + words[1:]


def headline(head: str, amount: str | None = None, party: str | None = None, preposition: str = "by") -> str:
    """`Head: amount preposition party`, leaving out what is unknown."""
    return head + (f": {amount}" if amount else "") + (f" {preposition} {party}" if party else "")


def described(*pairs: tuple[str, str | None]) -> list[str]:
    """`Label: value` lines for the values that are known."""
    return [f"{label}: {value}" for label, value in pairs if value]


def plan_text(subscription: Any) -> str | None:
    """The subscription's price as `$20.00/month` (`3 x …` for a quantity, `+ 2 more` for other items)."""
    items = get(subscription, "items", "data")
    if not isinstance(items, list) or not items:
        return None
    item = items[0]
    price = get(item, "price") or get(item, "plan")
    amount = money(price, "unit_amount") or money(price, "amount")
    interval = text(price, "recurring", "interval") or text(price, "interval")
    count = integer(price, "recurring", "interval_count") or integer(price, "interval_count") or 1
    label = text(price, "nickname")
    if amount:
        every = "" if not interval else f"/{interval}" if count == 1 else f" every {count} {interval}s"
        label = f"{label} ({amount}{every})" if label else f"{amount}{every}"
    if not label:
        return None
    quantity = integer(item, "quantity")
    if quantity is not None and quantity > 1:
        label = f"{quantity} x {label}"
    return label + (f" + {len(items) - 1} more" if len(items) > 1 else "")


def checkout_completed(event: StripeEvent) -> Summary:
    o = event.object
    amount, who = money(o, "amount_total"), customer_label(o)
    return Summary(
        headline("Checkout completed", amount, who),
        "🛒",
        described(
            ("Amount", amount),
            ("Customer", who),
            ("Mode", text(o, "mode")),
            ("Payment status", readable(text(o, "payment_status"))),
        ),
    )


def invoice_lines(o: Any, who: str | None) -> list[str]:
    return described(
        ("Invoice", text(o, "number") or ident(o, "id")),
        ("Total", money(o, "total")),
        ("Amount due", money(o, "amount_due")),
        ("Amount paid", money(o, "amount_paid")),
        ("Customer", who),
        ("Billing reason", readable(text(o, "billing_reason"))),
    )


def invoice_paid(event: StripeEvent) -> Summary:
    o = event.object
    amount, who = money(o, "amount_paid"), customer_label(o)
    return Summary(headline("Invoice paid", amount, who), "🧾", invoice_lines(o, who))


def invoice_payment_failed(event: StripeEvent) -> Summary:
    o = event.object
    amount, who = money(o, "amount_due"), customer_label(o)
    attempts = integer(o, "attempt_count")
    lines = invoice_lines(o, who) + described(
        ("Attempts", str(attempts) if attempts is not None else None),
        ("Next attempt", moment(o, "next_payment_attempt")),
    )
    return Summary(headline("Invoice payment failed", amount, who, "for"), "❌", lines, "warning")


def subscription_lines(o: Any, who: str | None) -> list[str]:
    return described(
        ("Plan", plan_text(o)),
        ("Customer", who),
        ("Status", readable(text(o, "status"))),
    )


def subscription_created(event: StripeEvent) -> Summary:
    o = event.object
    who = customer_label(o)
    lines = subscription_lines(o, who) + described(("Trial ends", moment(o, "trial_end")))
    return Summary(headline("New subscription", plan_text(o), who, "for"), "🎉", lines)


def subscription_updated(event: StripeEvent) -> Summary:
    """Names the change that matters most: the status, a cancellation scheduled or withdrawn, or the plan."""
    o, before = event.object, event.previous
    who = customer_label(o)
    old_status, status = text(before, "status"), text(o, "status")
    severity: Severity = "info"
    if old_status and status and old_status != status:
        head = f"Subscription {readable(old_status)} → {readable(status)}"
        if status in ("past_due", "unpaid"):
            severity = "warning"
    elif _cancel_change(before, o) == "scheduled":
        head = "Subscription set to cancel"
    elif _cancel_change(before, o) == "withdrawn":
        head = "Subscription cancellation withdrawn"
    elif _price_of(before) and _price_of(before) != _price_of(o):
        head = "Subscription plan changed"
        if (old_plan := plan_text(before)) and (new_plan := plan_text(o)):
            head += f": {old_plan} → {new_plan}"
    elif (old_quantity := _quantity_of(before)) is not None and old_quantity != _quantity_of(o):
        head = f"Subscription quantity {old_quantity} → {_quantity_of(o)}"
    elif "items" in before or "plan" in before:
        head = "Subscription plan changed"
    else:
        head = "Subscription updated"
    lines = subscription_lines(o, who) + described(
        ("Cancels at", moment(o, "cancel_at")),
        ("Changed", ", ".join(sorted(before)) or None),
    )
    return Summary(headline(head, None, who, "for"), "🔄", lines, severity)


def _cancel_change(before: Any, after: Any) -> Literal["scheduled", "withdrawn"] | None:
    """A cancellation set or taken back, at the period's end or on a date of its own (`cancel_at` alone: a custom
    date, or from API version 2025-03-31 the `min_period_end` and `max_period_end` choices)."""
    if get(before, "cancel_at_period_end") is False and get(after, "cancel_at_period_end") is True:
        return "scheduled"
    if get(before, "cancel_at_period_end") is True and get(after, "cancel_at_period_end") is False:
        return "withdrawn"
    if isinstance(before, dict) and "cancel_at" in before:
        if before["cancel_at"] is None and get(after, "cancel_at") is not None:
            return "scheduled"
        if before["cancel_at"] is not None and get(after, "cancel_at") is None:
            return "withdrawn"
    return None


def _first_item(subscription: Any) -> Any:
    items = get(subscription, "items", "data")
    return items[0] if isinstance(items, list) and items else None


def _price_of(subscription: Any) -> str | None:
    """The first item's price id (or, on old API versions, plan id); None when the payload does not say."""
    item = _first_item(subscription)
    return ident(item, "price", "id") or ident(item, "plan", "id") or ident(subscription, "plan", "id")


def _quantity_of(subscription: Any) -> int | None:
    return integer(_first_item(subscription), "quantity") or integer(subscription, "quantity")


def subscription_deleted(event: StripeEvent) -> Summary:
    o = event.object
    who = customer_label(o)
    lines = subscription_lines(o, who) + described(
        ("Reason", readable(text(o, "cancellation_details", "reason"))),
        ("Feedback", readable(text(o, "cancellation_details", "feedback"))),
        ("Comment", text(o, "cancellation_details", "comment")),
    )
    return Summary(headline("Subscription canceled", plan_text(o), who, "for"), "👋", lines)


def charge_refunded(event: StripeEvent) -> Summary:
    o = event.object
    refunded, total, who = money(o, "amount_refunded"), money(o, "amount"), customer_label(o)
    amount = f"{refunded} of {total}" if refunded and total else refunded
    return Summary(
        headline("Charge refunded", amount, who, "to"),
        "↩️",
        described(("Refunded", refunded), ("Charge amount", total), ("Customer", who), ("Charge", ident(o, "id"))),
    )


def dispute_created(event: StripeEvent) -> Summary:
    o = event.object
    amount, reason = money(o, "amount"), readable(text(o, "reason"))
    title = headline("Dispute opened", amount) + (f" ({reason})" if reason else "")
    return Summary(
        title,
        "🚨",
        described(
            ("Amount", amount),
            ("Reason", reason),
            ("Status", readable(text(o, "status"))),
            ("Respond by", moment(o, "evidence_details", "due_by")),
            ("Charge", ident(o, "charge")),
        ),
        "critical",
    )


def dispute_closed(event: StripeEvent) -> Summary:
    """Won or lost, said in the title: a won dispute is good news, not a warning."""
    o = event.object
    status = text(o, "status")
    if status not in DISPUTE_OUTCOMES:
        return generic(event)
    head, icon, severity = DISPUTE_OUTCOMES[status]
    amount = money(o, "amount")
    return Summary(
        headline(head, amount),
        icon,
        described(
            ("Amount", amount),
            ("Reason", readable(text(o, "reason"))),
            ("Status", readable(status)),
            ("Charge", ident(o, "charge")),
        ),
        severity,
    )


def payment_lines(o: Any, amount: str | None, who: str | None) -> list[str]:
    return described(("Amount", amount), ("Customer", who), ("Description", text(o, "description")))


def payment_succeeded(event: StripeEvent) -> Summary:
    o = event.object
    received = integer(o, "amount_received")
    amount = money(o, "amount_received") if received else money(o, "amount")
    who = customer_label(o)
    return Summary(headline("Payment received", amount, who, "from"), "💰", payment_lines(o, amount, who))


def payment_failed(event: StripeEvent) -> Summary:
    o = event.object
    amount, who = money(o, "amount"), customer_label(o)
    lines = payment_lines(o, amount, who) + described(
        ("Error", first_text(o, ("last_payment_error", "message"), ("last_payment_error", "code"))),
        ("Decline code", readable(text(o, "last_payment_error", "decline_code"))),
    )
    return Summary(headline("Payment failed", amount, who, "from"), "❌", lines, "warning")


def customer_created(event: StripeEvent) -> Summary:
    o = event.object
    address, name = email(o), text(o, "name")
    return Summary(
        headline("New customer", address or name or ident(o, "id")),
        "👤",
        described(("Email", address), ("Name", name), ("Description", text(o, "description")), ("Id", ident(o, "id"))),
    )


def reason(event: StripeEvent) -> str | None:
    """Why it failed or was canceled, for those event types only (a later success keeps the old error)."""
    last = event.type.rsplit(".", 1)[-1]
    if "fail" not in last and "cancel" not in last:
        return None
    return first_text(event.object, *REASON_MESSAGES) or readable(first_text(event.object, *REASON_CODES))


def generic(event: StripeEvent) -> Summary:
    """Any other type: the type in words as the title, and whatever common fields the object has."""
    o = event.object
    severity = severity_for(event.type)
    kind, object_id = text(o, "object"), ident(o, "id")
    amount = next((found for key in AMOUNT_FIELDS if (found := money(o, key))), None)
    return Summary(
        headline(type_in_words(event.type), amount),
        GENERIC_ICONS[severity],
        described(
            ("Object", " ".join(part for part in (kind, object_id) if part) or None),
            ("Amount", amount),
            ("Status", readable(text(o, "status"))),
            ("Reason", reason(event)),
            ("Customer", email(o) or ident(o, "customer")),
        ),
        severity,
    )


SUMMARIES: dict[str, Callable[[StripeEvent], Summary]] = {
    "checkout.session.completed": checkout_completed,
    "invoice.paid": invoice_paid,
    "invoice.payment_failed": invoice_payment_failed,
    "customer.subscription.created": subscription_created,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": dispute_created,
    "charge.dispute.closed": dispute_closed,
    "payment_intent.succeeded": payment_succeeded,
    "payment_intent.payment_failed": payment_failed,
    "customer.created": customer_created,
}


def summarize(event: StripeEvent) -> Summary:
    return SUMMARIES.get(event.type, generic)(event)
