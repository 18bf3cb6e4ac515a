"""schema.org JobPosting JSON-LD for a published listing (Google for Jobs' required and recommended properties).

https://developers.google.com/search/docs/appearance/structured-data/job-posting
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from listings import vocabulary as vocab

EMPLOYMENT_TYPES = {
    "full_time": "FULL_TIME",
    "part_time": "PART_TIME",
    "contract": "CONTRACTOR",
    "temporary": "TEMPORARY",
    "per_diem": "PER_DIEM",
}
UNIT_TEXT = {"hour": "HOUR", "year": "YEAR"}  # per-chart pay has no schema.org unit: no baseSalary


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).replace(microsecond=0).isoformat()


def _number(value: Any) -> float | int:
    amount = Decimal(str(value))
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def valid_through(listing) -> dt.datetime | None:
    """The listing's expiry, or the end of its application deadline when that comes first."""
    ends = listing.expires_at
    if listing.application_deadline is not None:
        deadline_end = dt.datetime.combine(listing.application_deadline, dt.time(23, 59, 59), tzinfo=dt.timezone.utc)
        ends = min(ends, deadline_end) if ends is not None else deadline_end
    return ends


def job_posting(listing, details: dict[str, list[str]], employer, base_url: str) -> dict[str, Any]:
    """The JobPosting object for `listing` (published) of `employer`; URLs are absolute from `base_url`."""
    base = base_url.rstrip("/")
    data: dict[str, Any] = {
        "@context": "https://schema.org/",
        "@type": "JobPosting",
        "title": listing.title,
        "description": listing.description_html,
        "datePosted": _iso(listing.published_at),
        "validThrough": _iso(valid_through(listing)),
        "employmentType": EMPLOYMENT_TYPES[listing.employment_type],
        "hiringOrganization": {
            "@type": "Organization",
            "name": employer.name,
            "sameAs": employer.website or f"{base}/employers/{employer.slug}",
            **({"logo": f"{base}/employers/{employer.slug}/logo"} if getattr(employer, "logo_path", None) else {}),
        },
        "identifier": {
            "@type": "PropertyValue",
            "name": employer.name,
            "value": listing.requisition_id or str(listing.id),
        },
        "directApply": not listing.apply_url,
        "url": f"{base}/jobs/{listing.id}/{listing.slug}",
    }
    if listing.work_mode == "remote":
        data["jobLocationType"] = "TELECOMMUTE"
        states = details.get("remote_states") or []
        if states:
            data["applicantLocationRequirements"] = [
                {"@type": "State", "name": vocab.US_STATES.get(code, code)} for code in states
            ]
        else:
            data["applicantLocationRequirements"] = {"@type": "Country", "name": "US"}
    else:
        data["jobLocation"] = {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                **({"streetAddress": listing.street_address} if getattr(listing, "street_address", "") else {}),
                "addressLocality": listing.city,
                "addressRegion": listing.state,
                "postalCode": listing.zip,
                "addressCountry": "US",
            },
        }
    unit = UNIT_TEXT.get(listing.pay_unit)
    if unit:
        data["baseSalary"] = {
            "@type": "MonetaryAmount",
            "currency": "USD",
            "value": {
                "@type": "QuantitativeValue",
                "minValue": _number(listing.pay_min),
                "maxValue": _number(listing.pay_max),
                "unitText": unit,
            },
        }
    return data


def script_json(data: dict[str, Any]) -> str:
    """JSON safe inside <script type="application/ld+json">: no "<" survives, so neither "</script" nor "<!--"."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c").replace(
        ">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
