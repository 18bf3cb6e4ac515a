"""A listing with its employer and every multi-valued detail, read in ONE statement (the listing page's budget).

The listing and employer columns come from a join; each join table's values come back as one comma-separated
string from a scalar subquery (codes, slugs and state abbreviations never contain a comma). The aggregate is
`group_concat` on SQLite and `string_agg` on PostgreSQL; the rest of the statement is the same.
"""

from __future__ import annotations

from dataclasses import dataclass

from careers.core import db
from employers.tables import Employer
from listings import vocabulary as vocab
from listings.tables import Listing
from listings.vocabulary import CredentialKind

EMPLOYER_PREFIX = "employer__"
# (details key, join table, the vocabulary order its values are shown in)
DETAIL_TABLES = (
    ("settings", "listing_settings", vocab.SETTINGS),
    ("specialties", "listing_specialties", vocab.SPECIALTIES),
    ("code_sets", "listing_code_sets", vocab.CODE_SETS),
    ("remote_states", "listing_remote_states", vocab.US_STATES),
)


@dataclass(frozen=True)
class ListingWithEmployer:
    listing: Listing
    employer: Employer
    details: dict[str, list[str]]


def _aggregate(expression: str, table: str, alias: str) -> str:
    """A subquery answering the listing's values of `table`, comma-separated, in insertion order."""
    if db.is_sqlite():
        return (f"(SELECT group_concat(v, ',') FROM (SELECT {expression} AS v FROM {table} "
                f"WHERE listing = l.id ORDER BY id)) AS {alias}")
    return f"(SELECT string_agg({expression}, ',' ORDER BY id) FROM {table} WHERE listing = l.id) AS {alias}"


def _statement() -> str:
    listing_columns = [f'l."{c._meta.db_column_name}"' for c in Listing._meta.columns]
    employer_columns = [f'e."{c._meta.db_column_name}" AS "{EMPLOYER_PREFIX}{c._meta.db_column_name}"'
                        for c in Employer._meta.columns]
    details = [_aggregate("kind || ':' || credential", "listing_credentials", "d_credentials")]
    details += [_aggregate("value", table, f"d_{key}") for key, table, _ in DETAIL_TABLES]
    return ("SELECT " + ", ".join(listing_columns + employer_columns + details)
            + " FROM listings l JOIN employers e ON e.id = l.employer WHERE l.id = {}")


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def details_from_row(row: dict) -> dict[str, list[str]]:
    """The `d_*` columns as `listings.service.listing_details` answers them."""
    details: dict[str, list[str]] = {f"credentials_{k.value}": [] for k in CredentialKind}
    for pair in _split(row.pop("d_credentials", None)):
        kind, _, code = pair.partition(":")
        details.setdefault(f"credentials_{kind}", []).append(code)
    for key, _, order in DETAIL_TABLES:
        values = set(_split(row.pop(f"d_{key}", None)))
        details[key] = [v for v in order if v in values]
    return details


async def listing_with_employer(listing_id: int) -> ListingWithEmployer | None:
    """The listing, its employer and its details in one statement; None when there is no such listing."""
    rows = await db.fetch(_statement(), listing_id)
    if not rows:
        return None
    row = rows[0]
    details = details_from_row(row)
    employer = {k.removeprefix(EMPLOYER_PREFIX): row.pop(k) for k in list(row) if k.startswith(EMPLOYER_PREFIX)}
    return ListingWithEmployer(
        listing=Listing(_exists_in_db=True, **row),
        employer=Employer(_exists_in_db=True, **employer),
        details=details,
    )
