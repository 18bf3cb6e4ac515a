"""The coder's forms as typed Structs, read by `careers.core.forms`."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from careers.core.forms import Boolean, Choice, Choices, Integer, Money, Text
from listings.vocabulary import CODE_SETS, SETTINGS, SPECIALTIES, US_STATES, WORK_MODES

SUMMARY_MAX = 10000
_PAY = "Enter an amount in dollars, such as 25 or 52000."
_YEARS = "Enter whole years between 0 and 60."


def _text(limit: int, label: str, *, required: bool = False, case: str | None = None,
          multiline: bool = False) -> Text:
    return Text(limit, required=f"Enter {label}." if required else None, case=case, multiline=multiline,
                too_long=f"Use at most {limit} characters for {label}.")


class ProfileForm(msgspec.Struct, kw_only=True):
    """The profile form's fields, each read on its own; `service.validate_profile` adds handle, ZIP,
    pay unit and credential rules."""

    handle: Annotated[str, _text(40, "your profile address", case="lower")]
    visible: Annotated[bool, Boolean(any_text=True)]
    name: Annotated[str, _text(200, "your name", required=True)]
    headline: Annotated[str, _text(200, "a headline")]
    years_experience: Annotated[int, Integer(low=0, high=60, invalid=_YEARS, out_of_range=_YEARS, default=0)]
    tools: Annotated[str, _text(500, "your EHR and encoder tools")]
    zip: Annotated[str, Text()]
    desired_work_mode: Annotated[str, Choice(allowed=WORK_MODES, unknown="Pick remote, hybrid, on-site or any.")]
    desired_pay_min: Annotated[Decimal | None, Money(invalid=_PAY, not_positive=_PAY, cents=None, allow_zero=True,
                                                     maximum=Decimal(10_000_000), too_big=_PAY)]
    desired_pay_unit: Annotated[str, Text()]
    summary_md: Annotated[str, _text(SUMMARY_MAX, "your summary", multiline=True)]
    member_number: Annotated[str, _text(64, "your member number")]
    credentials: Annotated[list[str], Choices()]  # codes; each one's year comes from the field year_<code>
    settings: Annotated[list[str], Choices(SETTINGS, "Pick coding settings from the list.")]
    specialties: Annotated[list[str], Choices(SPECIALTIES, "Pick specialties from the list.")]
    code_sets: Annotated[list[str], Choices(CODE_SETS, "Pick code sets from the list.")]
    remote_states: Annotated[list[str], Choices(US_STATES, "Pick states from the list.")]
