"""Google readiness: which required and recommended JobPosting properties a listing lacks or fills weakly.

The findings are read from the JSON-LD itself (`listings.jobposting.job_posting`, the code the public page uses),
built for the listing as it will be once published: a draft gets the `datePosted` and `validThrough` that
publication gives it. The posting form checks what is in the form; the preview checks the saved listing. Both
show the result in the "Google for Jobs" panel (templates/listings/_google_readiness.html) before payment.

https://developers.google.com/search/docs/appearance/structured-data/job-posting
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

from careers.core import clock, geo
from careers.core.text import render_markdown
from listings import jobposting
from listings import vocabulary as vocab

REQUIRED, RECOMMENDED = "required", "recommended"
DESCRIPTION_MIN = 300  # characters of text: shorter descriptions read as thin to coders and to Google
TITLE_MAX = 100
_TAGS = re.compile(r"<[^>]+>")
_TITLE_NOISE = re.compile(r"[$!*]|\b(urgent|hiring|apply now|immediate(ly)?)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Finding:
    """One missing or weak JobPosting property: how much Google needs it, and the form field that fixes it."""

    property: str  # the JobPosting property, e.g. "jobLocation.address.streetAddress"
    level: str  # REQUIRED or RECOMMENDED
    message: str  # what to do, in the employer's words
    form_field: str = ""  # the posting form's field (anchor #f-<name>); "" when it is not on the form


class _Projected:
    """The listing with what publication would set (datePosted, validThrough) when it has not been published."""

    def __init__(self, listing: Any, **overrides: Any) -> None:
        self._listing, self._overrides = listing, overrides

    def __getattr__(self, name: str) -> Any:
        return self._overrides[name] if name in self._overrides else getattr(self._listing, name)


def _as_published(listing: Any, now: dt.datetime) -> Any:
    if listing.published_at is not None and listing.expires_at is not None:
        return listing
    published = listing.published_at or now
    expires = listing.expires_at or published + dt.timedelta(days=listing.duration_days or 30)
    return _Projected(listing, published_at=published, expires_at=expires)


def _text_length(html: str | None) -> int:
    return len(" ".join(_TAGS.sub(" ", html or "").split()))


def _content_findings(posting: dict[str, Any]) -> list[Finding]:
    title, found = (posting.get("title") or "").strip(), []
    if not title:
        found.append(Finding("title", REQUIRED, "Add the job title.", "title"))
    elif len(title) > TITLE_MAX or _TITLE_NOISE.search(title) or (title.isupper() and len(title) > 4):
        found.append(Finding("title", RECOMMENDED, "Use the job title alone: Google rejects titles with pay, "
                             "exclamation marks, “urgent” or “hiring”, and titles in capitals or over "
                             f"{TITLE_MAX} characters.", "title"))
    length = _text_length(posting.get("description"))
    if not length:
        found.append(Finding("description", REQUIRED, "Add a description of the job.", "description"))
    elif length < DESCRIPTION_MIN:
        found.append(Finding("description", RECOMMENDED, f"The description is short ({length} characters): "
                             f"describe duties, schedule and requirements in at least {DESCRIPTION_MIN}.",
                             "description"))
    if not posting.get("datePosted"):
        found.append(Finding("datePosted", REQUIRED, "The posting has no publication date."))
    if not posting.get("validThrough"):
        found.append(Finding("validThrough", RECOMMENDED, "The posting has no end date: set an application "
                             "deadline, or publish it so it gets an expiry.", "application_deadline"))
    return found


def _place_findings(posting: dict[str, Any]) -> list[Finding]:
    if posting.get("jobLocationType") == "TELECOMMUTE":
        if not posting.get("applicantLocationRequirements"):
            return [Finding("applicantLocationRequirements", REQUIRED, "Say where remote applicants may live.",
                            "remote_states")]
        return []
    address = (posting.get("jobLocation") or {}).get("address") or {}
    if not (address.get("addressLocality") and address.get("addressRegion") and address.get("postalCode")):
        return [Finding("jobLocation", REQUIRED, "Add the workplace's ZIP code: Google needs the place of a job "
                        "that is not fully remote.", "zip")]
    if not address.get("streetAddress"):
        return [Finding("jobLocation.address.streetAddress", RECOMMENDED, "Add the street address: Google shows "
                        "on-site and hybrid jobs by their address.", "street_address")]
    return []


def _employer_findings(posting: dict[str, Any]) -> list[Finding]:
    organisation = posting.get("hiringOrganization") or {}
    if not organisation.get("name"):
        return [Finding("hiringOrganization.name", REQUIRED, "Your organisation has no name.")]
    if not organisation.get("logo"):
        return [Finding("hiringOrganization.logo", RECOMMENDED, "Upload your logo on your organisation page: "
                        "Google shows it beside the job.")]
    return []


def _pay_findings(posting: dict[str, Any], pay_unit: str) -> list[Finding]:
    salary = (posting.get("baseSalary") or {}).get("value") or {}
    if salary.get("unitText"):
        return []
    if pay_unit == "chart":
        return [Finding("baseSalary.value.unitText", RECOMMENDED, "Google understands pay per hour or per year, "
                        "not per chart, so the pay is left out of the posting: add an hourly or yearly range if "
                        "you can.", "pay_unit")]
    return [Finding("baseSalary", RECOMMENDED, "Add the pay range and whether it is per hour or per year.",
                    "pay_min")]


def posting_findings(posting: dict[str, Any], pay_unit: str) -> list[Finding]:
    """What a JobPosting object lacks or fills weakly, required properties first."""
    found = (_content_findings(posting) + _place_findings(posting) + _pay_findings(posting, pay_unit)
             + _employer_findings(posting))
    return sorted(found, key=lambda finding: finding.level != REQUIRED)


def for_listing(listing: Any, details: dict[str, list[str]], employer: Any, base_url: str = "",
                now: dt.datetime | None = None) -> list[Finding]:
    """The findings for a saved listing (the preview), as its JobPosting will be once published."""
    posting = jobposting.job_posting(_as_published(listing, now or clock.now()), details, employer, base_url)
    return posting_findings(posting, listing.pay_unit)


def _money(value: Any) -> Decimal | None:
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def _date(value: Any) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return None


def for_form(form: dict[str, Any], employer: Any, base_url: str = "",
             now: dt.datetime | None = None) -> list[Finding]:
    """The findings for the posting form as filled in (typed values, valid or not), as if it were published."""
    place = geo.lookup_zip(form.get("zip")) if form.get("work_mode") != "remote" else None
    pay_min, pay_max = _money(form.get("pay_min")), _money(form.get("pay_max"))
    unit = form.get("pay_unit") or ""
    listing = SimpleNamespace(
        id=0, slug="", title=form.get("title") or "", description_html=render_markdown(form.get("description") or ""),
        published_at=None, expires_at=None, duration_days=30,
        application_deadline=_date(form.get("application_deadline")), employment_type=form.get("employment_type"),
        requisition_id=form.get("requisition_id") or "", apply_url=form.get("apply_url") or "",
        work_mode=form.get("work_mode") or "", street_address=form.get("street_address") or "",
        zip=place.zip if place else "", city=place.city if place else "", state=place.state if place else "",
        pay_min=pay_min, pay_max=pay_max if pay_max is not None else pay_min,
        pay_unit=unit if pay_min is not None and unit in vocab.PAY_UNITS else "",
    )
    if listing.employment_type not in jobposting.EMPLOYMENT_TYPES:
        listing.employment_type = "full_time"  # the form's own error message asks for it; the panel need not
    details = {"remote_states": list(form.get("remote_states") or [])}
    posting = jobposting.job_posting(_as_published(listing, now or clock.now()), details, employer, base_url)
    return posting_findings(posting, unit if pay_min is not None else "")
