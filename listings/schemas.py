"""Shapes of listing data: the validated input of the form and the importer, and the JSON API answer.

Field names are the one vocabulary (ARCHITECTURE.md "One vocabulary").
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import msgspec

# The fields a form, an import line and the JSON API share, in the order.
LISTING_FIELDS = (
    "title", "description", "credentials_required", "credentials_any_of", "credentials_preferred", "settings",
    "specialties", "code_sets", "work_mode", "zip", "remote_states", "employment_type", "min_years",
    "entry_level_ok", "pay_min", "pay_max", "pay_unit", "benefits", "application_deadline", "apply_url",
    "requisition_id",
)
LIST_FIELDS = ("credentials_required", "credentials_any_of", "credentials_preferred", "settings", "specialties",
               "code_sets", "remote_states")


class ListingInput(msgspec.Struct, kw_only=True):
    """A listing that passed validation, with the facts derived from it (location, annual pay, HTML)."""

    title: str
    description: str
    credentials_required: list[str]
    credentials_any_of: list[str]
    credentials_preferred: list[str]
    settings: list[str]
    specialties: list[str]
    code_sets: list[str]
    work_mode: str
    zip: str
    remote_states: list[str]
    employment_type: str
    min_years: int
    entry_level_ok: bool
    pay_min: Decimal
    pay_max: Decimal
    pay_unit: str
    benefits: str
    application_deadline: dt.date | None
    apply_url: str
    requisition_id: str
    # derived
    normalised_title: str
    description_html: str
    city: str
    state: str
    lat: float | None
    lng: float | None
    pay_annual_min: int | None
    pay_annual_max: int | None


class EmployerRef(msgspec.Struct):
    name: str
    slug: str
    verified: bool


class ListingOut(msgspec.Struct, kw_only=True):
    """One published listing as the JSON API returns it (`description` is the Markdown source)."""

    id: int
    url: str
    status: str
    title: str
    description: str
    description_html: str
    employer: EmployerRef
    credentials_required: list[str]
    credentials_any_of: list[str]
    credentials_preferred: list[str]
    settings: list[str]
    specialties: list[str]
    code_sets: list[str]
    work_mode: str
    zip: str | None
    city: str | None
    state: str | None
    lat: float | None
    lng: float | None
    remote_states: list[str]
    employment_type: str
    min_years: int
    entry_level_ok: bool
    pay_min: float
    pay_max: float
    pay_unit: str
    pay_annual_min: int | None
    pay_annual_max: int | None
    benefits: str
    application_deadline: dt.date | None
    apply_url: str | None
    requisition_id: str | None
    published_at: dt.datetime
    expires_at: dt.datetime


class ApiError(msgspec.Struct):
    """The error shape of every /api/ answer (careers.core.errors)."""

    error: str
    detail: str
    fields: dict[str, str]
