"""The Meilisearch index settings, as code, and the credential lexicon they are built from.

Applied by `search.indexing.ensure_index` on app start and on every reindex.

Ranking: relevance comes first (`words, typo, proximity, attribute, sort,
exactness`), then one custom rule, `boosted_at:desc`. `boosted_at` is the
listing's `published_at` plus a head start of FEATURED_HEAD_START when it is
featured. So a featured listing is lifted above non-featured ones posted up to
a week after it, but never above a fresher listing forever: once it is older
than a week plus the age of the others, freshness wins again. The custom rule
only breaks ties in relevance, so a featured listing never outranks a better
textual match, and an explicit `sort` (newest, pay, distance) overrides it.
A listing of an employer with the "Responds quickly" badge (employers/response_record.py) gets a smaller head
start, RESPONSIVE_HEAD_START (2 days), the same way: a tie-breaker after relevance, never above a better match.

Credential words are matched exactly by `search.service` (they become filters
on `credentials`), not through the text index: Meilisearch splits "CPC-A" into
"cpc" and "a" and prefix-matches the last query word, so a text match on "CPC"
would find CPC-A, CPCO and CPCD listings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from listings.tables import Credential
from listings.vocabulary import CREDENTIALS

FEATURED_HEAD_START_SECONDS = 7 * 24 * 3600
RESPONSIVE_HEAD_START_SECONDS = 2 * 24 * 3600  # the "Responds quickly" boost (issue 18)
MAX_TOTAL_HITS = 1000

SEARCHABLE_ATTRIBUTES = [
    "title",
    "credential_rank_primary",
    "credentials",
    "credential_names",
    "settings",
    "setting_names",
    "specialties",
    "specialty_names",
    "employer.name",
    "city",
    "state",
    "state_name",
    "description_excerpt",
    "credential_rank_preferred",
]
FILTERABLE_ATTRIBUTES = [
    "credentials_required",
    "credentials_any_of",
    "credentials_preferred",
    "credentials",  # the union of the three: what the `credential` parameter and credential words filter on
    "settings",
    "specialties",
    "work_mode",
    "remote_states",
    "remote_all_states",
    "state",
    "employment_type",
    "entry_level_ok",
    "pay_annual_min",
    "pay_annual_max",
    "published_at",
    "featured",
    "employer.responsive",  # the filter "employers who respond"
    "_geo",
]
SORTABLE_ATTRIBUTES = ["published_at", "pay_annual_max", "_geo", "featured"]
RANKING_RULES = ["words", "typo", "proximity", "attribute", "sort", "exactness", "boosted_at:desc"]

# A small domain glossary: each group is mutually synonymous.
GLOSSARY: list[list[str]] = [
    ["profee", "pro fee", "professional fee"],
    ["ra", "risk adjustment", "hcc"],
    ["wfh", "remote", "work from home"],
    ["ip", "inpatient"],
    ["op", "outpatient"],
    ["asc", "ambulatory surgery center"],
    ["cdi", "clinical documentation integrity", "clinical documentation improvement"],
    ["e/m", "em", "evaluation and management"],
]


@dataclass(frozen=True)
class CredentialTerm:
    code: str
    full_name: str
    aliases: tuple[str, ...] = ()
    entry_level: bool = False


@dataclass(frozen=True)
class Lexicon:
    """The credential taxonomy as search needs it: codes, and a matcher for codes, names and aliases in a query."""

    credentials: tuple[CredentialTerm, ...]
    by_code: dict[str, CredentialTerm] = field(default_factory=dict)
    pattern: re.Pattern | None = None
    phrase_codes: dict[str, str] = field(default_factory=dict)  # normalised phrase -> code
    group_codes: dict[str, str] = field(default_factory=dict)  # regex group name -> code

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.credentials]

    def canonical(self, value: str) -> str | None:
        """The credential code for `value` (a code, case-insensitive, or an alias/full name), else None."""
        term = self.by_code.get(value.strip().upper())
        if term is not None:
            return term.code
        return self.phrase_codes.get(_normalise_phrase(value))


def _normalise_phrase(text: str) -> str:
    return " ".join(re.split(r"[\s\-–—]+", text.strip().lower()))


def _phrase_regex(phrase: str) -> str:
    words = [w for w in re.split(r"[\s\-–—]+", phrase.strip()) if w]
    return r"[\s\-–—]+".join(re.escape(w) for w in words)


def build_lexicon(credentials: list[CredentialTerm] | None = None) -> Lexicon:
    """Compile the credential matcher: codes (hyphen kept, case-insensitive), then full names and aliases.

    Alternatives are ordered longest first, so "Certified Professional Coder – Apprentice" is CPC-A and
    "CCS-P" is never read as "CCS" followed by "P".
    """
    terms = tuple(credentials if credentials is not None else default_terms())
    by_code = {t.code.upper(): t for t in terms}
    alternatives: list[tuple[int, str, str]] = []  # (length, regex, code)
    phrase_codes: dict[str, str] = {}
    for term in terms:
        # A code matches only as a whole token: "CPC" is not the start of "CPC-A".
        alternatives.append((len(term.code), re.escape(term.code).replace(r"\-", "[-–]"), term.code))
        for phrase in (term.full_name, *term.aliases):
            if not phrase.strip():
                continue
            alternatives.append((len(phrase), _phrase_regex(phrase), term.code))
            phrase_codes[_normalise_phrase(phrase)] = term.code
        phrase_codes[_normalise_phrase(term.code)] = term.code
    alternatives.sort(key=lambda a: -a[0])
    groups = "|".join(f"(?P<c{i}>{regex})" for i, (_, regex, _) in enumerate(alternatives))
    pattern = re.compile(r"(?<![\w\-–])(?:" + groups + r")(?![\w\-–])", re.IGNORECASE) if alternatives else None
    group_codes = {f"c{i}": code for i, (_, _, code) in enumerate(alternatives)}
    return Lexicon(credentials=terms, by_code=by_code, pattern=pattern, phrase_codes=phrase_codes,
                   group_codes=group_codes)


def find_credentials(lexicon: Lexicon, text: str) -> tuple[list[str], str]:
    """Credential codes named in `text` (in order, no repeats) and the text left once they are removed."""
    if not text or lexicon.pattern is None:
        return [], text or ""
    group_codes = lexicon.group_codes
    found: list[str] = []
    rest: list[str] = []
    last = 0
    for match in lexicon.pattern.finditer(text):
        code = group_codes[match.lastgroup]
        if code not in found:
            found.append(code)
        rest.append(text[last:match.start()])
        last = match.end()
    rest.append(text[last:])
    remaining = " ".join(" ".join(rest).split())
    remaining = " ".join(w for w in remaining.split() if re.search(r"\w", w))  # drop the "/" left by "CPC/CCS"
    return found, remaining


def default_terms() -> list[CredentialTerm]:
    """The seeded taxonomy (listings.vocabulary.CREDENTIALS), used when the database is not at hand."""
    return [CredentialTerm(code, name, tuple(aliases), entry) for code, name, _b, _c, entry, active, aliases in CREDENTIALS
            if active]


async def load_terms() -> list[CredentialTerm]:
    """The credential taxonomy from the Credential table (active rows)."""
    rows = await Credential.select(Credential.code, Credential.full_name, Credential.aliases, Credential.entry_level,
                                   Credential.active).order_by(Credential.code)
    terms = []
    for row in rows:
        if not row["active"]:
            continue
        aliases = row["aliases"]
        if isinstance(aliases, str):
            try:
                aliases = json.loads(aliases)
            except ValueError:
                aliases = []
        terms.append(CredentialTerm(row["code"], row["full_name"], tuple(a for a in aliases or [] if a),
                                    bool(row["entry_level"])))
    return terms or default_terms()


def _clean_synonym(term: str) -> str:
    return " ".join(term.replace("–", " ").replace("—", " ").split())


def synonyms(terms: list[CredentialTerm]) -> dict[str, list[str]]:
    """Mutual synonyms: each credential's code ↔ full name ↔ aliases, plus the glossary."""
    groups = [[t.code, t.full_name, *t.aliases] for t in terms] + GLOSSARY
    result: dict[str, list[str]] = {}
    for group in groups:
        cleaned = [_clean_synonym(g) for g in group if g.strip()]
        for term in cleaned:
            others = [o for o in cleaned if o.lower() != term.lower()]
            if others:
                existing = result.setdefault(term, [])
                existing.extend(o for o in others if o not in existing)
    return result


def credential_words(terms: list[CredentialTerm]) -> list[str]:
    """Words on which typo tolerance is off: "CPC" must never be read as "CPB"."""
    words: set[str] = set()
    for term in terms:
        code = term.code.lower()
        words.add(code)
        words.update(part for part in re.split(r"[-–]", code) if len(part) > 1)
        for alias in term.aliases:
            if len(alias.split()) == 1:
                words.add(alias.lower())
    return sorted(words)


def index_settings(terms: list[CredentialTerm] | None = None) -> dict:
    """The full settings document for the listings index."""
    terms = terms if terms is not None else default_terms()
    return {
        "searchableAttributes": SEARCHABLE_ATTRIBUTES,
        "filterableAttributes": FILTERABLE_ATTRIBUTES,
        "sortableAttributes": SORTABLE_ATTRIBUTES,
        "rankingRules": RANKING_RULES,
        "synonyms": synonyms(terms),
        "typoTolerance": {
            "enabled": True,
            "disableOnWords": credential_words(terms),
            # Codes (99213, 0FB98ZX, J45.909) are numbers or hold digits: 99213 must never find 99214.
            "disableOnNumbers": True,
            "disableOnAttributes": ["credentials", "credential_rank_primary", "credential_rank_preferred"],
        },
        "faceting": {"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "count"}},
        "pagination": {"maxTotalHits": MAX_TOTAL_HITS},
        "facetSearch": False,  # we never search inside facet values; skipping it makes indexing cheaper
        # Proximity by attribute, not word distance: indexing measured 2.2x faster here, and in short titles
        # and a 300-character excerpt "same field" is nearly as telling as "n words apart".
        "proximityPrecision": "byAttribute",
    }

