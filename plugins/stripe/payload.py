"""Reads from an untrusted Stripe payload: each accessor returns a value of the expected type or None.

Renderers go through these, so a payload of any shape (fields missing, null, of another type, expanded
objects where ids were expected) gives a poorer rendering, never an exception.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .money import format_amount

# Printable ASCII without spaces, as Stripe ids are; longer values are not ids.
ID_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
# Unix seconds that `datetime` can represent (up to the end of year 9999).
MAX_UNIX_SECONDS = 253_402_300_799


def get(value: Any, *path: str) -> Any:
    """The value at `path` through nested objects, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def text(value: Any, *path: str) -> str | None:
    """A non-blank string at `path`, on one line (runs of whitespace become one space)."""
    found = get(value, *path)
    if not isinstance(found, str):
        return None
    return " ".join(found.split()) or None


def integer(value: Any, *path: str) -> int | None:
    found = get(value, *path)
    return found if isinstance(found, int) and not isinstance(found, bool) else None


def ident(value: Any, *path: str) -> str | None:
    """A Stripe id at `path`, whether given as a string or as an expanded object with an `id`."""
    found = get(value, *path)
    if isinstance(found, dict):
        found = found.get("id")
    return found if isinstance(found, str) and ID_PATTERN.fullmatch(found) else None


def first_text(value: Any, *paths: tuple[str, ...]) -> str | None:
    """The first non-blank string found at any of `paths`."""
    for path in paths:
        found = text(value, *path)
        if found:
            return found
    return None


def money(value: Any, *path: str) -> str | None:
    """The amount at `path` formatted in the object's `currency` (see `money.format_amount`)."""
    return format_amount(get(value, *path), get(value, "currency"))


def moment(value: Any, *path: str) -> str | None:
    """Unix seconds at `path` as `2024-08-14 23:59 UTC`."""
    seconds = integer(value, *path)
    if seconds is None or not 0 <= seconds <= MAX_UNIX_SECONDS:
        return None
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def readable(value: str | None) -> str | None:
    """A Stripe enum value for people: `past_due` → `past due`."""
    return value.replace("_", " ") if value else None


def email(obj: Any) -> str | None:
    """The customer's email, wherever this kind of object keeps it."""
    return first_text(
        obj,
        ("email",),
        ("customer_email",),
        ("customer_details", "email"),
        ("receipt_email",),
        ("billing_details", "email"),
    )


def customer_label(obj: Any) -> str | None:
    """Who the object is about, for titles: email, else name, else the customer id."""
    return (
        email(obj)
        or first_text(obj, ("customer_name",), ("customer_details", "name"), ("billing_details", "name"))
        or ident(obj, "customer")
    )
