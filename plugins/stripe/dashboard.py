"""Links into the Stripe dashboard for what an event is about; test-mode objects live under `/test/`."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .event import StripeEvent
from .payload import ident, text

# Dashboard sections by object type; an object of any other type links to the event's own page.
SECTIONS = {
    "payment_intent": "payments",
    "charge": "payments",
    "invoice": "invoices",
    "subscription": "subscriptions",
    "customer": "customers",
    "payout": "payouts",
    "product": "products",
    "coupon": "coupons",
}
# Objects shown on the page of the payment they belong to.
CHARGE_CHILDREN = ("dispute", "refund", "radar.early_fraud_warning")


def link(base: str, livemode: bool, section: str, object_id: str) -> str:
    return f"{base.rstrip('/')}{'' if livemode else '/test'}/{section}/{quote(object_id, safe='')}"


def target(event: StripeEvent) -> tuple[str, str]:
    """The dashboard section and id that best show this event's object."""
    o = event.object
    kind, object_id = text(o, "object"), ident(o, "id")
    if kind in CHARGE_CHILDREN and (charge := ident(o, "charge")):
        return "payments", charge
    if kind == "checkout.session":
        if payment := ident(o, "payment_intent"):
            return "payments", payment
        if subscription := ident(o, "subscription"):
            return "subscriptions", subscription
    if kind in SECTIONS and object_id:
        return SECTIONS[kind], object_id
    return "events", event.id


def dashboard_actions(event: StripeEvent, base: str) -> list[dict[str, Any]]:
    """External actions (`EventIn.actions` items): the object in Stripe, and its customer when that differs."""
    section, object_id = target(event)
    actions = [{"label": "Open in Stripe", "url": link(base, event.livemode, section, object_id), "external": True}]
    customer = ident(event.object, "customer")
    if customer and section != "customers":
        url = link(base, event.livemode, "customers", customer)
        actions.append({"label": "Customer in Stripe", "url": url, "external": True})
    return actions
