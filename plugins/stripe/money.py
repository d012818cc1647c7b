"""Stripe amounts (integers in the currency's minor unit) as people write them: `$19.99`, `¥500`, `KWD 1.500`."""

from __future__ import annotations

# Stripe's published zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal): the amount is
# in whole units. ISK, HUF and TWD are not here on purpose: Stripe's API keeps them two-decimal.
ZERO_DECIMAL = frozenset(
    {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"}
)
# Stripe's three-decimal currencies: the amount is in thousandths.
THREE_DECIMAL = frozenset({"bhd", "jod", "kwd", "omr", "tnd"})
# English (CLDR) symbols of common currencies; any other is written with its ISO code, like `CHF 12.50`.
SYMBOLS = {
    "usd": "$",
    "eur": "€",
    "gbp": "£",
    "jpy": "¥",
    "krw": "₩",
    "inr": "₹",
    "ils": "₪",
    "vnd": "₫",
    "php": "₱",
    "cny": "CN¥",
    "cad": "CA$",
    "aud": "A$",
    "nzd": "NZ$",
    "hkd": "HK$",
    "mxn": "MX$",
    "twd": "NT$",
    "brl": "R$",
}


def decimals(currency: str) -> int:
    """How many minor-unit digits Stripe uses for `currency` (a lower-case ISO code); 2 unless listed."""
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def currency_code(value: object) -> str | None:
    """A currency as Stripe writes it (lower-case ISO 4217 code), or None if `value` is not three letters."""
    if isinstance(value, str) and len(value) == 3 and value.isascii() and value.isalpha():
        return value.lower()
    return None


def format_amount(amount: object, currency: object) -> str | None:
    """`amount` in `currency` for people, or None unless `amount` is an integer and `currency` a 3-letter code."""
    code = currency_code(currency)
    if code is None or not isinstance(amount, int) or isinstance(amount, bool):
        return None
    places = decimals(code)
    whole, fraction = divmod(abs(amount), 10**places)
    number = f"{whole:,}" + (f".{fraction:0{places}d}" if places else "")
    symbol = SYMBOLS.get(code)
    sign = "-" if amount < 0 else ""
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code.upper()} {number}"
