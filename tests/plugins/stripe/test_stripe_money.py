"""Amounts in the currency's own minor unit: two decimals by default, none or three where Stripe says so."""

from __future__ import annotations

import re

import pytest
from hub_plugins.stripe.money import THREE_DECIMAL, ZERO_DECIMAL, format_amount
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [
        (1999, "usd", "$19.99"),
        (1999, "USD", "$19.99"),
        (5, "usd", "$0.05"),
        (0, "usd", "$0.00"),
        (123456789, "usd", "$1,234,567.89"),
        (-500, "usd", "-$5.00"),
        (500, "jpy", "¥500"),
        (1234567, "jpy", "¥1,234,567"),
        (50000, "krw", "₩50,000"),
        (1999, "eur", "€19.99"),
        (1999, "gbp", "£19.99"),
        (1500, "kwd", "KWD 1.500"),
        (1, "bhd", "BHD 0.001"),
        (-1250, "jod", "-JOD 1.250"),
        (1250, "chf", "CHF 12.50"),
        (500, "isk", "ISK 5.00"),  # Stripe keeps ISK two-decimal in its API
        (1000, "huf", "HUF 10.00"),
        (1000, "twd", "NT$10.00"),
        (2500, "xof", "XOF 2,500"),
    ],
)
def test_amounts_are_written_as_people_write_them(amount, currency, expected):
    assert format_amount(amount, currency) == expected


def test_every_zero_decimal_currency_has_no_decimals():
    assert len(ZERO_DECIMAL) == 16
    for currency in ZERO_DECIMAL:
        assert format_amount(1000, currency).endswith("1,000"), currency


def test_three_decimal_currencies_are_stripes_five():
    assert THREE_DECIMAL == {"bhd", "jod", "kwd", "omr", "tnd"}
    for currency in THREE_DECIMAL:
        assert format_amount(1000, currency) == f"{currency.upper()} 1.000"


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (None, "usd"),
        (19.99, "usd"),
        ("1999", "usd"),
        (True, "usd"),
        (1999, None),
        (1999, "us"),
        (1999, "dollar"),
        (1999, "u$d"),
        (1999, 840),
        (1999, "ùsd"),
        (1999, "\u212awd"),  # lower-cases to "kwd", still not a currency code
    ],
)
def test_anything_but_an_integer_and_a_currency_code_gives_none(amount, currency):
    assert format_amount(amount, currency) is None


@given(
    amount=st.integers(), currency=st.one_of(st.text(max_size=4), st.sampled_from(sorted(ZERO_DECIMAL | THREE_DECIMAL)))
)
def test_any_integer_amount_keeps_its_digits(amount, currency):
    text = format_amount(amount, currency)
    if text is None:
        assert not re.fullmatch(r"[A-Za-z]{3}", currency)
        return
    assert int(re.sub(r"\D", "", text)) == abs(amount)
    assert text.startswith("-") == (amount < 0)


@given(amount=st.from_type(object), currency=st.from_type(object))
def test_any_values_give_text_or_none(amount, currency):
    assert format_amount(amount, currency) is None or isinstance(format_amount(amount, currency), str)
