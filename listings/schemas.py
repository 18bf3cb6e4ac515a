"""Shapes of listing data: the validated input of the form and the importer, and the JSON API answer.

Field names are the one vocabulary (ARCHITECTURE.md "One vocabulary").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated

import msgspec

from careers.core.forms import Boolean, Choice, Choices, Date, Integer, Money, Text
from listings import vocabulary as vocab
from listings.pay_transparency import PayTransparency

# The fields a form, an import line and the JSON API share, in the order.
LISTING_FIELDS = (
    "title", "description", "credentials_required", "credentials_any_of", "credentials_preferred", "settings",
    "specialties", "code_sets", "work_mode", "zip", "street_address", "remote_states", "employment_type",
    "min_years", "entry_level_ok", "pay_min", "pay_max", "pay_unit", "benefits", "application_deadline", "apply_url",
    "requisition_id", "syndicate_opt_out", "employer_size", "screening_questions",
)
LIST_FIELDS = ("credentials_required", "credentials_any_of", "credentials_preferred", "settings", "specialties",
               "code_sets", "remote_states")
CHECKBOX_FIELDS = ("entry_level_ok", "syndicate_opt_out")
TITLE_MAX, DESCRIPTION_MAX, BENEFITS_MAX, URL_MAX, REQUISITION_MAX = 200, 20000, 500, 500, 100
STREET_MAX = 200


def _unknown(noun: str) -> str:
    return f"Unknown {noun}: {{unknown}}. Choose from: {{allowed}}."


class ListingForm(msgspec.Struct, kw_only=True):
    """A listing's fields as the form, an import line or seed-demo give them, each read on its own.

    `listings.service.validate_listing` adds the rules between fields (credentials against the taxonomy,
    ZIP and work mode, the pay range, the deadline) and derives a ListingInput.
    """

    title: Annotated[str, Text(TITLE_MAX, required="Enter the job title.", min_length=3,
                               too_short="Use a job title of at least 3 characters.")]
    description: Annotated[str, Text(DESCRIPTION_MAX, required="Describe the job: duties, schedule, systems used.",
                                           multiline=True)]
    credentials_required: Annotated[list[str], Choices()]  # codes or aliases, matched by the service
    credentials_any_of: Annotated[list[str], Choices()]
    credentials_preferred: Annotated[list[str], Choices()]
    settings: Annotated[list[str], Choices(vocab.SETTINGS, _unknown("setting"), case="lower", order="vocabulary")]
    specialties: Annotated[list[str], Choices(vocab.SPECIALTIES, _unknown("specialty"), case="lower",
                                              order="vocabulary")]
    code_sets: Annotated[list[str], Choices(vocab.CODE_SETS, _unknown("code set"), case="lower", order="vocabulary")]
    work_mode: Annotated[str, Choice(40, "Choose remote, hybrid or on-site.", case="lower", allowed=vocab.WORK_MODES)]
    zip: Annotated[str, Text(10)]
    street_address: Annotated[str, Text(STREET_MAX)] = ""
    remote_states: Annotated[list[str], Choices(
        vocab.US_STATES, "Unknown state code: {unknown}. Use two-letter codes such as CA.", case="upper",
        order="sorted")]
    employment_type: Annotated[str, Choice(
        40, "Choose full time, part time, contract, temporary or per diem.", case="lower",
        allowed=vocab.EMPLOYMENT_TYPES)]
    min_years: Annotated[int, Integer(low=0, high=40, default=0)]
    entry_level_ok: Annotated[bool, Boolean()]
    pay_min: Annotated[Decimal | None, Money(required="Enter the lowest pay (pay-transparency laws require a range).")]
    pay_max: Annotated[Decimal | None, Money(
        required="Enter the highest pay (the same as the lowest for a fixed rate).")]
    pay_unit: Annotated[str, Choice(40, "Choose per hour, per year or per chart.", case="lower",
                                    allowed=vocab.PAY_UNITS)]
    benefits: Annotated[str, Text(BENEFITS_MAX)]
    application_deadline: Annotated[dt.date | None, Date()]
    apply_url: Annotated[str, Text(URL_MAX)]
    requisition_id: Annotated[str, Text(REQUISITION_MAX)]
    syndicate_opt_out: Annotated[bool, Boolean()] = False
    employer_size: Annotated[int | None, Integer(low=1, high=5_000_000, thousands=True, default=None,
                                                 invalid="Enter your number of employees as a whole number, e.g. 40.")]


class ListingTerms(msgspec.Struct, kw_only=True):
    """The terms of a job that every listing shape carries (validated input, the API answer, a search hit)."""

    credentials_required: list[str]
    credentials_any_of: list[str]
    credentials_preferred: list[str]
    settings: list[str]
    specialties: list[str]
    code_sets: list[str]
    work_mode: str
    remote_states: list[str]
    employment_type: str
    min_years: int
    entry_level_ok: bool
    pay_unit: str
    benefits: str


class ListingInput(ListingTerms, kw_only=True):
    """A listing that passed validation, with the facts derived from it (location, annual pay, HTML)."""

    title: str
    description: str
    zip: str
    pay_min: Decimal
    pay_max: Decimal
    application_deadline: dt.date | None
    apply_url: str
    requisition_id: str
    street_address: str = ""
    syndicate_opt_out: bool = False
    employer_size: int | None
    # derived
    normalised_title: str
    description_html: str
    city: str
    state: str
    lat: float | None
    lng: float | None
    pay_annual_min: int | None
    pay_annual_max: int | None
    screening_questions: list[dict] = msgspec.field(default_factory=list)  # listings.screening's full shape


class EmployerResponse(msgspec.Struct):
    """The employer's response record (issue 18), computed daily and when an application moves; every key is always
    present, both figures null below 5 counted applications."""

    median_first_action_days: float | None  # median days from applying to the employer's first move or note
    status_within_14_days: float | None  # share (0–1) of applications given a status within 14 days
    applications_counted: int  # applications of the last 180 days that count


class EmployerRef(msgspec.Struct):
    name: str
    slug: str
    verified: bool
    response: EmployerResponse


class PublishedListing(ListingTerms, kw_only=True):
    """The public fields of a published listing, shared by the JSON API's listing and its search hits."""

    id: int
    url: str
    status: str
    title: str
    employer: EmployerRef
    zip: str | None
    city: str | None
    state: str | None
    lat: float | None
    lng: float | None
    pay_min: float
    pay_max: float
    pay_annual_min: int | None
    pay_annual_max: int | None
    apply_url: str | None
    requisition_id: str | None


class ScreeningQuestion(msgspec.Struct):
    """A screener question as the API answers it: every key, always (listings.screening)."""

    text: str
    kind: str
    choices: list[str]
    must_meet: bool
    min: float | None
    accepted: list[str]
    template: str | None


class ListingOut(PublishedListing, kw_only=True):
    """One published listing as the JSON API returns it (`description` is the Markdown source)."""

    description: str
    screening_questions: list[ScreeningQuestion]
    description_html: str
    application_deadline: dt.date | None
    published_at: dt.datetime
    expires_at: dt.datetime
    pay_transparency: PayTransparency  # what the pay-transparency laws of the job's states ask and it lacks


class ApiError(msgspec.Struct):
    """The error shape of every /api/ answer (careers.core.errors)."""

    error: str
    detail: str
    fields: dict[str, str]
