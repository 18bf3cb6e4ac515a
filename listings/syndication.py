"""Aggregator job feeds: /feeds/indeed.xml (Indeed's XML job feed) and /feeds/linkedin.xml (LinkedIn's job XML).

Both list every published, visible listing of an employer that is not suspended, except the ones the employer
opted out of syndication (`Listing.syndicate_opt_out`). Text fields are CDATA sections, as both specifications
show them; characters XML 1.0 forbids are dropped and a "]]>" inside a text is split across two sections.
Listing URLs carry `utm_source=indeed` / `utm_source=linkedin`, so views and applies from the aggregators are
counted as theirs. Bodies are cached per process and rebuilt when a listing or employer changes
(`listings.feed_cache`).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from xml.sax.saxutils import escape

from litestar import Request, Response, get

from careers.core.config import Settings
from listings import feed_cache, jobposting
from listings.feeds import FEED_CACHE, listing_url, rfc822, visible_listings, w3c_datetime, xml_text
from listings.tables import Listing, ListingCredential, ListingSetting
from listings.vocabulary import SETTINGS, pay_text

PUBLISHER = "CareerCenter"
CATEGORY = "Medical Coding"
INDEED_JOB_TYPES = {"full_time": "fulltime", "part_time": "parttime", "contract": "contract",
                    "temporary": "temporary", "per_diem": "perdiem"}
INDEED_REMOTE_TYPES = {"remote": "Fully remote", "hybrid": "Hybrid remote"}
LINKEDIN_JOB_TYPES = {"full_time": "FULL_TIME", "part_time": "PART_TIME", "contract": "CONTRACT",
                      "temporary": "TEMPORARY", "per_diem": "OTHER"}
LINKEDIN_WORKPLACES = {"remote": "Remote", "hybrid": "Hybrid", "onsite": "On-site"}
LINKEDIN_PERIODS = {"hour": "HOURLY", "year": "YEARLY"}  # per-chart pay has no LinkedIn period: no salary
CREDENTIAL_WORDS = (("required", "Required credentials"), ("any_of", "Any one of"), ("preferred", "Preferred"))


def cdata(value: object) -> str:
    """`value` as one or more CDATA sections (a "]]>" in the text ends one section and starts the next)."""
    return "<![CDATA[" + xml_text(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def element(tag: str, value: object, *, raw: bool = False) -> str:
    """<tag>value</tag>: CDATA text, or (`raw`) escaped plain text for numbers, codes and dates."""
    return f"<{tag}>{escape(xml_text(value)) if raw else cdata(value)}</{tag}>"


async def syndicated_listings() -> list[dict]:
    """Every listing the aggregators may carry, oldest first, with its employer's name and its details."""
    rows = await visible_listings(
        Listing.all_columns(), Listing.employer.name.as_alias("employer_name"),
    ).where(Listing.syndicate_opt_out.eq(False)).order_by(Listing.id)
    ids = {row["id"] for row in rows}
    credentials: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for row in await ListingCredential.select(ListingCredential.listing, ListingCredential.credential,
                                              ListingCredential.kind).order_by(ListingCredential.id):
        if row["listing"] in ids:
            credentials[row["listing"]][row["kind"]].append(row["credential"])
    settings: dict[int, set[str]] = defaultdict(set)
    for row in await ListingSetting.select(ListingSetting.listing, ListingSetting.value):
        if row["listing"] in ids:
            settings[row["listing"]].add(row["value"])
    for row in rows:
        row["credentials"] = credentials[row["id"]]
        row["settings"] = [SETTINGS[key] for key in SETTINGS if key in settings[row["id"]]]
    return rows


def iso8601(value: dt.datetime | None) -> str:
    """UTC ISO 8601 with a Z ("2026-03-01T09:30:00Z"), the date format Indeed's current spec asks for."""
    return (w3c_datetime(value) or "").replace("+00:00", "Z")


def _tracked(settings: Settings, row: dict, source: str) -> str:
    return f"{listing_url(settings, row['id'], row['slug'])}?utm_source={source}"


def _education(row: dict) -> str:
    """The credentials the job asks for ("Required credentials: CPC; Preferred: CRC"): coding's education."""
    parts = [f"{words}: {', '.join(row['credentials'][kind])}" for kind, words in CREDENTIAL_WORDS
             if row["credentials"].get(kind)]
    return "; ".join(parts)


def _experience(row: dict) -> str:
    years = row["min_years"] or 0
    if years:
        return f"{years}+ years"
    return "Entry level" if row["entry_level_ok"] else "No minimum"


def _valid_through(row: dict) -> dt.datetime | None:
    return jobposting.valid_through(Listing(expires_at=row["expires_at"],
                                            application_deadline=row["application_deadline"]))


def indeed_job(settings: Settings, row: dict) -> str:
    """One <job> of the Indeed feed."""
    fields = [
        element("title", row["title"]),
        element("date", iso8601(row["published_at"])),
        element("referencenumber", row["id"]),
        element("requisitionid", row["requisition_id"]),
        element("url", _tracked(settings, row, "indeed")),
        element("company", row["employer_name"]),
        element("sourcename", row["employer_name"]),
        element("city", row["city"]),
        element("state", row["state"]),
        element("country", "US"),
        element("postalcode", row["zip"]),
        element("streetaddress", row["street_address"] if row["work_mode"] != "remote" else ""),
        element("description", row["description_html"]),
        element("salary", pay_text(row["pay_min"], row["pay_max"], row["pay_unit"])),
        element("education", _education(row)),
        element("jobtype", INDEED_JOB_TYPES[row["employment_type"]]),
        element("category", ", ".join([CATEGORY, *row["settings"]])),
        element("experience", _experience(row)),
        element("expirationdate", iso8601(_valid_through(row))),
        element("remotetype", INDEED_REMOTE_TYPES.get(row["work_mode"], "")),
    ]
    return "<job>" + "".join(fields) + "</job>"


def _location(row: dict) -> str:
    place = [p for p in (row["city"], row["state"]) if p]
    return ", ".join([*place, "US"]) if place else "United States"


def _salaries(row: dict) -> str:
    period = LINKEDIN_PERIODS.get(row["pay_unit"])
    if period is None:
        return "<salaries></salaries>"

    def end(tag: str, amount) -> str:
        return (f"<{tag}>" + element("amount", f"{float(amount):.2f}", raw=True)
                + element("currencyCode", "USD", raw=True) + f"</{tag}>")

    salary = (end("highEnd", row["pay_max"]) + end("lowEnd", row["pay_min"]) + element("period", period, raw=True)
              + element("type", "BASE_SALARY", raw=True))
    return f"<salaries><salary>{salary}</salary></salaries>"


def linkedin_job(settings: Settings, row: dict) -> str:
    """One <job> of the LinkedIn feed."""
    fields = [
        element("partnerJobId", row["id"]),
        element("company", row["employer_name"]),
        element("title", row["title"]),
        element("description", row["description_html"]),
        element("location", _location(row)),
        element("city", row["city"]),
        element("state", row["state"]),
        element("country", "US"),
        element("postalCode", row["zip"]),
        element("applyUrl", _tracked(settings, row, "linkedin")),
        element("workplaceTypes", LINKEDIN_WORKPLACES[row["work_mode"]]),
        element("jobtype", LINKEDIN_JOB_TYPES[row["employment_type"]]),
        _salaries(row),
    ]
    return "<job>" + "".join(fields) + "</job>"


def _document(children: list[str]) -> bytes:
    return ('<?xml version="1.0" encoding="utf-8"?>\n<source>' + "".join(children) + "</source>\n").encode("utf-8")


async def indeed_xml(settings: Settings) -> bytes:
    """The Indeed XML feed: publisher, publisherurl, then one <job> per syndicated listing."""
    rows = await syndicated_listings()
    head = [element("publisher", PUBLISHER), element("publisherurl", f"{settings.base_url.rstrip('/')}/")]
    return _document(head + [indeed_job(settings, row) for row in rows])


async def linkedin_xml(settings: Settings) -> bytes:
    """The LinkedIn job XML: publisher, publisherUrl, lastBuildDate, expectedJobCount, then the <job>s."""
    rows = await syndicated_listings()
    newest = max((row["updated_at"] for row in rows if row["updated_at"]), default=None)
    head = [element("publisher", PUBLISHER), element("publisherUrl", f"{settings.base_url.rstrip('/')}/"),
            element("lastBuildDate", rfc822(newest), raw=True), element("expectedJobCount", len(rows), raw=True)]
    return _document(head + [linkedin_job(settings, row) for row in rows])


def _xml_response(body: bytes) -> Response:
    return Response(content=body, media_type="application/xml; charset=utf-8", headers={"Cache-Control": FEED_CACHE})


@get("/feeds/indeed.xml", include_in_schema=False)
async def indeed_feed(request: Request) -> Response:
    settings = request.app.state.settings
    return _xml_response(await feed_cache.cached(("indeed", settings.base_url), lambda: indeed_xml(settings)))


@get("/feeds/linkedin.xml", include_in_schema=False)
async def linkedin_feed(request: Request) -> Response:
    settings = request.app.state.settings
    return _xml_response(await feed_cache.cached(("linkedin", settings.base_url), lambda: linkedin_xml(settings)))


ROUTES = [indeed_feed, linkedin_feed]
