"""Listing → search document: what the index knows about a published, unhidden listing.

Only public listing fields go in: never resumes, applicants, notes or anything
an employer keeps private. Multi-valued fields come from the join tables.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import AsyncIterator
from decimal import Decimal
from html import unescape

from careers.core.text import render_markdown
from employers.response_record import RECORD_COLUMNS, record_of
from listings import service as listing_service
from listings.tables import (
    Credential,
    Listing,
    ListingCodeSet,
    ListingCredential,
    ListingRemoteState,
    ListingSetting,
    ListingSpecialty,
)
from listings.vocabulary import SETTINGS, SPECIALTIES, US_STATES
from search.hits import api_hit
from search.settings import FEATURED_HEAD_START_SECONDS, RESPONSIVE_HEAD_START_SECONDS

EXCERPT_LENGTH = 300
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # also keeps the highlight sentinels out of listing text

LISTING_COLUMNS = (
    Listing.id, Listing.title, Listing.slug, Listing.status, Listing.hidden, Listing.paused, Listing.confirmed_at,
    Listing.featured,
    Listing.description_html, Listing.description_md, Listing.work_mode, Listing.zip, Listing.city, Listing.state,
    Listing.lat, Listing.lng, Listing.employment_type, Listing.entry_level_ok, Listing.pay_min, Listing.pay_max,
    Listing.pay_unit, Listing.pay_annual_min, Listing.pay_annual_max, Listing.published_at, Listing.expires_at,
    Listing.min_years, Listing.benefits, Listing.application_deadline, Listing.apply_url, Listing.requisition_id,
    Listing.employer.name.as_alias("employer_name"), Listing.employer.slug.as_alias("employer_slug"),
    Listing.employer.verified.as_alias("employer_verified"), Listing.employer.logo_path.as_alias("employer_logo"),
    *(getattr(Listing.employer, name).as_alias(name) for name in RECORD_COLUMNS),
)


_BLOCK_TAG = re.compile(r"<(?:p|br|li|div|h[1-6]|tr|ul|ol|blockquote|pre)\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_DROP = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def plain_text(html: str) -> str:
    """The visible text of (sanitised) HTML, whitespace collapsed, no tags, entities decoded.

    A regular expression is enough here: the input is our own sanitised HTML (no comments, no scripts,
    no attributes holding ">"), and the output is escaped again wherever it is shown.
    """
    text = _DROP.sub(" ", html or "")
    text = _TAG.sub("", _BLOCK_TAG.sub(" ", text))
    return " ".join(_CONTROL.sub(" ", unescape(text)).split())


def excerpt(text: str, length: int = EXCERPT_LENGTH) -> str:
    if len(text) <= length:
        return text
    cut = text[:length]
    if " " in cut[length // 2:]:
        cut = cut[: cut.rfind(" ")]
    return cut.rstrip(" ,.;:-") + "…"


def description_excerpt(description_html: str, description_md: str = "") -> str:
    html = description_html
    if not html and description_md:
        html = render_markdown(description_md)
    return excerpt(plain_text(html))


def clean(text: str | None) -> str:
    return _CONTROL.sub(" ", text or "")


def unix(value: dt.datetime | None) -> float | None:
    """Unix seconds, to the millisecond (listings published in the same second still sort newest first)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return round(value.timestamp(), 3)


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def number(value) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def listing_path(listing_id: int, slug: str) -> str:
    return f"/jobs/{listing_id}/{slug or 'job'}"


def credential_rank_token(code: str) -> str:
    """One word per credential code that no other code's word starts with (CPC vs CPC-A, CCS vs CCS-P):
    Meilisearch splits on '-' and prefix-matches the last query word, so codes are encoded and fenced."""
    return "zq" + re.sub(r"[^a-z0-9]", "x", code.lower()) + "qz"


def build_document(row: dict, joins: dict[str, list], credential_names: dict[str, str]) -> dict:
    """The document for one listing row (LISTING_COLUMNS) and its join-table values."""
    required = sorted(joins.get("required", []))
    any_of = sorted(joins.get("any_of", []))
    preferred = sorted(joins.get("preferred", []))
    union = sorted(set(required) | set(any_of) | set(preferred))
    settings = sorted(joins.get("settings", []))
    specialties = sorted(joins.get("specialties", []))
    remote_states = sorted(joins.get("remote_states", []))
    published = unix(row["published_at"])
    featured = bool(row["featured"])
    response = record_of({name: row.get(name) for name in RECORD_COLUMNS})
    doc = {
        "id": row["id"],
        "title": clean(row["title"]),
        "slug": row["slug"] or "job",
        "url": listing_path(row["id"], row["slug"]),
        "employer": {"name": clean(row["employer_name"]), "slug": row["employer_slug"],
                     "verified": bool(row["employer_verified"]), "logo": bool(row.get("employer_logo")),
                     **response.document()},
        "credentials_required": required,
        "credentials_any_of": any_of,
        "credentials_preferred": preferred,
        "credentials": union,
        # Ranking only: exact, typo-free tokens so "CPC" in the query lifts listings that require or accept CPC
        # above those that merely prefer it (the filter on `credentials` already decides who matches).
        "credential_rank_primary": [credential_rank_token(code) for code in sorted(set(required) | set(any_of))],
        "credential_rank_preferred": [credential_rank_token(code) for code in preferred],
        "credential_names": [credential_names.get(code, code) for code in union],
        "settings": settings,
        "setting_names": [SETTINGS.get(v, v) for v in settings],
        "specialties": specialties,
        "specialty_names": [SPECIALTIES.get(v, v) for v in specialties],
        "code_sets": sorted(joins.get("code_sets", [])),
        "work_mode": row["work_mode"],
        "remote_states": remote_states,
        "remote_all_states": row["work_mode"] == "remote" and not remote_states,
        "employment_type": row["employment_type"],
        "min_years": row["min_years"] or 0,
        "benefits": clean(row["benefits"]),
        "application_deadline": row["application_deadline"].isoformat() if row["application_deadline"] else None,
        "apply_url": row["apply_url"] or None,
        "requisition_id": row["requisition_id"] or None,
        "entry_level_ok": bool(row["entry_level_ok"]),
        "pay_min": number(row["pay_min"]),
        "pay_max": number(row["pay_max"]),
        "pay_unit": row["pay_unit"],
        "pay_annual_min": row["pay_annual_min"],
        "pay_annual_max": row["pay_annual_max"],
        "city": clean(row["city"]),
        "state": row["state"] or "",
        "state_name": US_STATES.get(row["state"] or "", ""),
        "zip": row["zip"] or "",
        "lat": row["lat"],
        "lng": row["lng"],
        "published_at": published,
        "expires_at": unix(row["expires_at"]),
        "published_at_iso": iso(row["published_at"]),
        "expires_at_iso": iso(row["expires_at"]),
        "confirmed_at_iso": iso(row["confirmed_at"] or row["published_at"]),  # "Confirmed active N days ago"
        "featured": featured,
        "boosted_at": ((published or 0) + (FEATURED_HEAD_START_SECONDS if featured else 0)
                       + (RESPONSIVE_HEAD_START_SECONDS if response.responds_quickly else 0)),
        "description_excerpt": description_excerpt(row["description_html"], row["description_md"]),
    }
    if row["lat"] is not None and row["lng"] is not None:
        doc["_geo"] = {"lat": row["lat"], "lng": row["lng"]}
    doc["api_hit"] = api_hit(doc)  # the API's answer for this hit, passed through per request (search/hits.py)
    return doc


def is_public_row(row: dict) -> bool:
    return listing_service.is_public(row)


async def _joins_for(ids: list[int], *, id_range: tuple[int, int] | None = None) -> dict[int, dict[str, list]]:
    """Join-table values per listing: for `ids`, or for every listing with lo <= id <= hi (a rebuild batch)."""
    joins: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    if not ids:
        return joins

    def among(column):
        return (column >= id_range[0]) & (column <= id_range[1]) if id_range else column.is_in(ids)

    for row in await ListingCredential.select(ListingCredential.listing, ListingCredential.credential,
                                              ListingCredential.kind).where(among(ListingCredential.listing)).order_by(
                                              ListingCredential.id):
        joins[row["listing"]][row["kind"]].append(row["credential"])
    for table, key in ((ListingSetting, "settings"), (ListingSpecialty, "specialties"), (ListingCodeSet, "code_sets"),
                       (ListingRemoteState, "remote_states")):
        for row in await table.select(table.listing, table.value).where(among(table.listing)).order_by(table.id):
            joins[row["listing"]][key].append(row["value"])
    return joins


async def credential_names() -> dict[str, str]:
    return {r["code"]: r["full_name"] for r in await Credential.select(Credential.code, Credential.full_name)}


async def documents_for(ids: list[int], names: dict[str, str] | None = None) -> dict[int, dict | None]:
    """For each id: its document if the listing is published and not hidden, else None (delete it)."""
    result: dict[int, dict | None] = {i: None for i in ids}
    if not ids:
        return result
    rows = await Listing.select(*LISTING_COLUMNS).where(Listing.id.is_in(ids))
    public = [r for r in rows if is_public_row(r)]
    joins = await _joins_for([r["id"] for r in public])
    names = names if names is not None else await credential_names()
    for row in public:
        result[row["id"]] = build_document(row, joins[row["id"]], names)
    return result


async def all_documents(batch_size: int = 2000) -> AsyncIterator[list[dict]]:
    """Every published, unhidden listing's document, in batches ordered by id (for a rebuild)."""
    names = await credential_names()
    last_id = 0
    while True:
        rows = await (Listing.select(*LISTING_COLUMNS)
                      .where((Listing.id > last_id) & listing_service.public_where())
                      .order_by(Listing.id).limit(batch_size))
        if not rows:
            return
        joins = await _joins_for([r["id"] for r in rows], id_range=(rows[0]["id"], rows[-1]["id"]))
        last_id = rows[-1]["id"]
        yield [build_document(row, joins[row["id"]], names) for row in rows]


async def count_public() -> int:
    return await Listing.count().where(listing_service.public_where())
