"""The form kernel: one reader for forms, query strings and JSON lines, with one message per field."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec
import pytest
from litestar.datastructures import FormMultiDict

from careers.core.forms import Boolean, Choice, Choices, Date, Integer, Money, Text, read
from listings import service as listings

COLOURS = {"red": "Red", "green": "Green", "blue": "Blue"}


class PaintForm(msgspec.Struct, kw_only=True):
    name: Annotated[str, Text(10, required="Enter a name.")]
    colours: Annotated[list[str], Choices(COLOURS, "Unknown colour: {unknown}.", case="lower", order="vocabulary")]
    finish: Annotated[str, Choice(allowed=("matt", "gloss"), default="matt")]
    coats: Annotated[int, Integer(low=1, high=5, default=1, thousands=True)]
    glossy: Annotated[bool, Boolean()]
    price: Annotated[Decimal | None, Money()]
    due: Annotated[object, Date()]


def test_a_multidict_a_query_string_and_a_json_object_read_the_same():
    multidict = FormMultiDict([("name", " Kitchen "), ("colours", "Blue"), ("colours", "red"), ("coats", "2"),
                               ("glossy", "0"), ("glossy", "1"), ("price", "$1,250.50"), ("due", "2027-03-31")])
    query = {"name": ["Kitchen"], "colours": ["blue,RED"], "coats": ["2"], "glossy": ["yes"], "price": ["1250.50"],
             "due": ["2027-03-31"]}
    line = {"name": "Kitchen", "colours": ["blue", "red"], "coats": 2, "glossy": True, "price": 1250.5,
            "due": "2027-03-31T10:00:00Z"}
    results = [read(PaintForm, source) for source in (multidict, query, line)]
    assert all(not errors for _, errors in results), results
    values = {msgspec.json.encode(value) for value, _ in results}
    assert len(values) == 1
    form = results[0].value
    assert form.colours == ["red", "blue"]  # vocabulary order
    assert form.finish == "matt" and form.coats == 2 and form.glossy is True and form.price == Decimal("1250.50")


def test_every_bad_field_gets_its_message_at_once_and_keeps_its_default():
    form, errors = read(PaintForm, {"name": "", "colours": "red, mauve", "finish": "satin", "coats": "9",
                                    "glossy": "maybe", "price": "12.345", "due": "31/03/2027"})
    assert errors == {
        "name": "Enter a name.",
        "colours": "Unknown colour: mauve.",
        "finish": "“satin” is not one of: matt, gloss.",
        "coats": "Enter a number from 1 to 5.",
        "glossy": "Answer yes or no (true or false).",
        "price": "Use dollars and cents, at most two decimal places (for example 23.50).",
        "due": "Enter a date as YYYY-MM-DD, for example 2027-03-31.",
    }
    assert form.colours == ["red"] and form.coats == 1 and form.price is None and form.due is None
    assert errors.ordered(["price", "name"]).first() == ("price", errors["price"])


def test_json_values_of_the_wrong_shape_are_reported_not_raised():
    _, errors = read(PaintForm, {"name": {"a": 1}, "colours": [1, 2], "coats": 2.5, "price": True})
    assert errors == {"name": "Enter text here.", "colours": "Give a list of values.",
                      "coats": "Enter a whole number, for example 2.",
                      "price": "Enter an amount in dollars, for example 23.50."}


@pytest.mark.parametrize("amount", ["1e30", "99999999999999999999999999999"])
async def test_a_huge_listing_pay_gets_the_limit_message(amount):
    raw = {"title": "Coder", "description": "Code charts.", "work_mode": "remote", "employment_type": "full_time",
           "pay_unit": "hour", "pay_min": amount, "pay_max": amount}
    with pytest.raises(listings.ListingInvalid) as caught:
        await listings.validate_listing(raw, credentials={})
    assert caught.value.errors == {"pay_min": "That is more than $1,000 per hour. Did you mean per year?",
                                   "pay_max": "That is more than $1,000 per hour. Did you mean per year?"}
