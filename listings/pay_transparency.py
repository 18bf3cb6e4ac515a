"""The pay-transparency check: does a posting show what the laws of every state where the job can be done ask?

Where the job can be done: the workplace's state for on-site and hybrid jobs; for a remote job the states it
names, or every state when it names none. A law applies when it is in force (`clock.now()`'s date) and the
employer is big enough — an employer that did not give its size is assumed covered (the message says how to
clear it). A remote job naming every state but one that has a law is flagged with that state: Colorado objects
to "remote, except Colorado". Pure functions of the listing's own fields: the API, the form, the preview, the
importer and the listing page's badge cost no query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from careers.core import clock
from listings import vocabulary as vocab
from listings.pay_laws import BENEFITS, LAWS, RANGE, REQUIREMENT_WORDS, PayLaw

if TYPE_CHECKING:
    from listings.schemas import ListingInput
    from listings.tables import Listing

EXCLUDED = "excluded_state"
ALL_STATES = frozenset(vocab.US_STATES) - {"PR"}  # the 50 states and DC


class PayTransparencyIssue(msgspec.Struct):
    state: str
    rule: str  # range, benefits, deadline or excluded_state
    message: str


class PayTransparency(msgspec.Struct):
    """The API's `pay_transparency`: compliant when no law of a state where the job can be done is unmet."""

    compliant: bool
    issues: list[PayTransparencyIssue]


class PostingFacts(msgspec.Struct, frozen=True, kw_only=True):
    work_mode: str
    state: str
    remote_states: tuple[str, ...]
    has_range: bool
    benefits: str
    application_deadline: dt.date | None
    employer_size: int | None


def covered_states(facts: PostingFacts) -> list[str]:
    """The states with a law where this job can be done, in the table's order."""
    if facts.work_mode == "remote":
        where = set(facts.remote_states) or ALL_STATES
    else:
        where = {facts.state} if facts.state else set()
    return [state for state in LAWS if state in where]


def _shown(facts: PostingFacts, requirement: str) -> bool:
    if requirement == RANGE:
        return facts.has_range
    if requirement == BENEFITS:
        return bool(facts.benefits.strip())
    return facts.application_deadline is not None


def _law_issues(law: PayLaw, facts: PostingFacts, today: dt.date) -> list[PayTransparencyIssue]:
    if law.effective > today or (facts.employer_size is not None and facts.employer_size < law.min_employees):
        return []
    name = vocab.US_STATES.get(law.state, law.state)
    size = (f" It covers employers with {law.min_employees} or more employees; if you have fewer, enter your "
            "number of employees." if law.min_employees > 1 and facts.employer_size is None else "")
    return [PayTransparencyIssue(law.state, what, f"{name} ({law.citation}) requires {REQUIREMENT_WORDS[what]}.{size}")
            for what, since in law.requires if since <= today and not _shown(facts, what)]


def _excluded_issue(facts: PostingFacts, today: dt.date) -> list[PayTransparencyIssue]:
    missing = ALL_STATES - set(facts.remote_states)
    if facts.work_mode != "remote" or not facts.remote_states or len(missing) != 1:
        return []
    state = next(iter(missing))
    law = LAWS.get(state)
    if law is None or not law.requires or law.effective > today:
        return []
    name = vocab.US_STATES[state]
    return [PayTransparencyIssue(state, EXCLUDED, (
        f"This remote job is open to every state but {name}, which looks like avoiding {name}'s pay-transparency "
        f"law ({law.citation}). Open it to {name} and show what that law asks, or explain in the description why "
        f"the work cannot be done there."))]


def check(facts: PostingFacts, *, today: dt.date | None = None) -> PayTransparency:
    """Every unmet requirement of every law that applies to the posting (none: compliant)."""
    today = today or clock.now().date()
    issues = _excluded_issue(facts, today)
    for state in covered_states(facts):
        issues.extend(_law_issues(LAWS[state], facts, today))
    return PayTransparency(compliant=not issues, issues=issues)


def facts_of_input(data: ListingInput) -> PostingFacts:
    """A validated listing (form, importer) as the check reads it."""
    return PostingFacts(work_mode=data.work_mode, state=data.state, remote_states=tuple(data.remote_states),
                        has_range=data.pay_min is not None and data.pay_max is not None, benefits=data.benefits,
                        application_deadline=data.application_deadline, employer_size=data.employer_size)


def facts_of_listing(listing: Listing, details: Mapping[str, Any]) -> PostingFacts:
    """A stored listing (with its join-table details) as the check reads it."""
    return PostingFacts(work_mode=listing.work_mode, state=listing.state or "",
                        remote_states=tuple(details.get("remote_states", ())),
                        has_range=listing.pay_min is not None and listing.pay_max is not None,
                        benefits=listing.benefits or "", application_deadline=listing.application_deadline,
                        employer_size=listing.employer_size)


def check_listing(listing: Listing, details: Mapping[str, Any]) -> PayTransparency:
    return check(facts_of_listing(listing, details))


def import_warnings(data: ListingInput) -> list[str]:
    """The importer's warning lines for one valid listing: `pay transparency (CO): …`."""
    return [f"pay transparency ({i.state}): {i.message}" for i in check(facts_of_input(data)).issues]

