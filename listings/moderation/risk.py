"""Automated risk signals shown next to a listing in the review queue.

Each signal is a fact an admin should look at, never a verdict: the queue shows
them, the admin decides. All of them are computed here, in Python, from the
database; templates only print them.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from dataclasses import dataclass, field
from urllib.parse import urlparse

from careers.accounts.tables import User
from careers.core import clock
from employers.service import FREE_MAIL_DOMAINS, domain_matches, registrable_domain
from employers.tables import Employer, EmployerMember
from listings.tables import Listing, ListingCodeSet, ListingCredential
from listings.vocabulary import CREDENTIALS, ListingState, annualise

NEW_EMPLOYER_DAYS = 7
DUPLICATE_JACCARD = 0.5  # shared 5-word shingles over their union
SHINGLE_WORDS = 5
DUPLICATE_CANDIDATES = 2000  # the most recent listings of other employers compared against
PAY_LOW, PAY_HIGH = 0.5, 2.0  # x the median of comparable published listings
PAY_MIN_COMPARABLES = 5
PAY_MAX_COMPARABLES = 5000

# Phrases that recur in work-from-home coding scams: fees, kits, fake checks, identity harvesting.
SCAM_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("a fee asked of the applicant", re.compile(
        r"\$\s?\d[\d,.]*[^.\n]{0,40}\bfees?\b|\bfees?\b[^.\n]{0,40}\$\s?\d"
        r"|\b(?:registration|application|processing|onboarding|certification|enrol(?:l)?ment|placement|"
        r"background[- ]check|equipment|software|training)\s+fees?\b", re.I)),
    ("a training or starter kit", re.compile(r"\b(?:training|starter|equipment|work[- ]from[- ]home|onboarding)\s+kits?\b",
                                             re.I)),
    ("paying for training", re.compile(r"\bpay\s+(?:for\s+)?(?:your\s+|the\s+)?(?:own\s+)?training\b"
                                       r"|\btraining\b[^.\n]{0,30}\b(?:at your (?:own )?cost|you pay)\b", re.I)),
    ("a check to deposit", re.compile(r"\bcheck\s+deposit|\bdeposit\s+(?:the|a|your)?\s*checks?\b|\bcashier'?s\s+checks?\b"
                                      r"|\bmobile\s+deposit\b", re.I)),
    ("a social security number", re.compile(r"\bSSN\b|\bsocial\s+security\s+(?:number|no\.?|#)", re.I)),
    ("bank details", re.compile(r"\bbank\s+(?:account|details|info(?:rmation)?|login)\b|\brouting\s+(?:number|no\.?|#)",
                                re.I)),
    ("payment by wire, gift card or app", re.compile(r"\bwire\s+transfer\b|\bwestern\s+union\b|\bgift\s+cards?\b"
                                                     r"|\bzelle\b|\bcash\s?app\b|\bmoneygram\b", re.I)),
    ("an interview by chat app", re.compile(r"\b(?:telegram|whatsapp|signal\s+app|google\s+hangouts?)\b", re.I)),
]

_CODES = sorted({c[0] for c in CREDENTIALS} | {a for c in CREDENTIALS for a in c[6]}, key=len, reverse=True)
CODING_TERMS = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(c) for c in _CODES) + r")(?![\w-])"
    r"|\b(?:cod(?:er|ers|ing)|icd[- ]?10(?:[- ](?:cm|pcs))?|icd|cpt|hcpcs|drgs?|hcc|e/m|abstract(?:ing|or)s?|"
    r"medical\s+records?|health\s+information|him|cdi|clinical\s+documentation|revenue\s+cycle|charge\s?master|"
    r"chart\s+review|medical\s+billing)\b",
    re.I,
)
LINK = re.compile(r"\bhttps?://[^\s<>()\[\]\"']+|\bwww\.[^\s<>()\[\]\"']+"
                  r"|\b(?:bit\.ly|tinyurl\.com|t\.me|wa\.me|goo\.gl|forms\.gle)/[^\s<>()\[\]\"']*", re.I)
_WORD = re.compile(r"[a-z0-9$]+")
_MD_NOISE = re.compile(r"[*_#>`~|\[\]()!-]+")


@dataclass(frozen=True)
class Signal:
    code: str
    label: str
    detail: str = ""


@dataclass
class Corpus:
    """Listings of the recent past, shingled once per queue page and compared with each listing under review."""

    entries: list[tuple[int, int, str, frozenset[int]]] = field(default_factory=list)  # id, employer, title, shingles



# ---- pure text checks -------------------------------------------------------------------------


def scam_phrases(text: str) -> list[str]:
    """What each scam pattern matched, quoted as it stands in the text."""
    found = []
    for label, pattern in SCAM_PATTERNS:
        match = pattern.search(text or "")
        if match:
            found.append(f"{label} (“{match.group(0).strip()}”)")
    return found


def external_links(text: str, website: str) -> list[str]:
    """Links in the text that point anywhere but the employer's own website."""
    own = registrable_domain(urlparse(website).hostname or "") if website else ""
    links = []
    for match in LINK.finditer(text or ""):
        url = match.group(0).rstrip(".,;:")
        host = urlparse(url if "://" in url else "https://" + url).hostname or ""
        if own and registrable_domain(host) == own:
            continue
        if url not in links:
            links.append(url)
    return links


def has_coding_terms(*texts: str) -> bool:
    return any(CODING_TERMS.search(t or "") for t in texts)


def shingles(text: str, size: int = SHINGLE_WORDS) -> frozenset[int]:
    words = _WORD.findall(_MD_NOISE.sub(" ", (text or "").lower()))
    if len(words) < size:
        return frozenset({hash(" ".join(words))}) if words else frozenset()
    return frozenset(hash(" ".join(words[i:i + size])) for i in range(len(words) - size + 1))


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def annual_midpoint(pay_min, pay_max, unit: str, annual_min: int | None = None, annual_max: int | None = None) -> float | None:
    low = annual_min if annual_min is not None else annualise(float(pay_min) if pay_min is not None else None, unit)
    high = annual_max if annual_max is not None else annualise(float(pay_max) if pay_max is not None else None, unit)
    if low is None and high is None:
        return None
    if low is None or high is None:
        return float(low if low is not None else high)
    return (low + high) / 2


# ---- signals that need the database ---------------------------------------------------------------


async def build_corpus(limit: int = DUPLICATE_CANDIDATES) -> Corpus:
    """The most recent listings that ever left draft, as shingle sets."""
    rows = await Listing.select(Listing.id, Listing.employer, Listing.title, Listing.description_md).where(
        Listing.status.not_in([ListingState.DRAFT.value, ListingState.AWAITING_PAYMENT.value])
    ).order_by(Listing.id, ascending=False).limit(limit)
    return Corpus([(r["id"], r["employer"], r["title"], shingles(r["description_md"])) for r in rows])


def near_duplicates(listing: Listing, corpus: Corpus) -> list[tuple[int, str, float]]:
    """(id, title, similarity) of other employers' listings whose description nearly matches this one."""
    own = shingles(listing.description_md)
    found = []
    for other_id, employer_id, title, other in corpus.entries:
        if other_id == listing.id or employer_id == listing.employer:
            continue
        score = jaccard(own, other)
        if score >= DUPLICATE_JACCARD:
            found.append((other_id, title, score))
    found.sort(key=lambda f: -f[2])
    return found[:5]


async def contact_email(listing: Listing) -> str:
    """Who posted the listing (its creator, else the employer's owner)."""
    if listing.created_by:
        user = await User.select(User.email).where(User.id == listing.created_by).first()
        if user:
            return user["email"]
    owner = await EmployerMember.select(EmployerMember.user.email.as_alias("email")).where(
        EmployerMember.employer == listing.employer
    ).order_by(EmployerMember.id).first()
    return owner["email"] if owner else ""


async def pay_comparison(listing: Listing) -> tuple[float, float, int] | None:
    """(this listing's annual midpoint, the comparables' median, how many) or None without enough comparables.

    Comparables are published listings with the same work mode sharing a credential with this one; with
    fewer than PAY_MIN_COMPARABLES of those, the same work mode alone.
    """
    mine = annual_midpoint(listing.pay_min, listing.pay_max, listing.pay_unit, listing.pay_annual_min,
                           listing.pay_annual_max)
    if mine is None:
        return None
    base = (Listing.status == ListingState.PUBLISHED.value) & (Listing.work_mode == listing.work_mode) & (
        Listing.id != listing.id) & Listing.pay_annual_min.is_not_null()
    codes = [r["credential"] for r in await ListingCredential.select(ListingCredential.credential).where(
        (ListingCredential.listing == listing.id) & (ListingCredential.kind != "preferred"))]
    attempts = []
    if codes:
        attempts.append(base & Listing.id.is_in(
            ListingCredential.select(ListingCredential.listing).where(ListingCredential.credential.is_in(codes))))
    attempts.append(base)
    for where in attempts:
        rows = await Listing.select(Listing.pay_annual_min, Listing.pay_annual_max).where(where).order_by(
            Listing.id, ascending=False).limit(PAY_MAX_COMPARABLES)
        values = [annual_midpoint(None, None, "year", r["pay_annual_min"], r["pay_annual_max"]) for r in rows]
        values = [v for v in values if v]
        if len(values) >= PAY_MIN_COMPARABLES:
            return mine, statistics.median(values), len(values)
    return None


async def assess(listing: Listing, *, corpus: Corpus | None = None, now: dt.datetime | None = None) -> list[Signal]:
    """Every risk signal that applies to `listing`, most serious first."""
    now = now or clock.now()
    employer = await Employer.objects().get(Employer.id == listing.employer)
    text = f"{listing.title}\n{listing.description_md}\n{listing.benefits}"
    signals: list[Signal] = []

    phrases = scam_phrases(text)
    if phrases:
        signals.append(Signal("scam_phrases", "Scam phrases", "Mentions " + "; ".join(phrases) + "."))

    if employer.created_at and employer.created_at > now - dt.timedelta(days=NEW_EMPLOYER_DAYS):
        age = now - employer.created_at
        days = age.days
        signals.append(Signal("new_employer", "New employer",
                              f"The employer's account is {days} day{'s' if days != 1 else ''} old "
                              f"(under {NEW_EMPLOYER_DAYS})." if days else "The employer's account was created today."))

    email = await contact_email(listing)
    domain = email.rsplit("@", 1)[-1].lower() if email else ""
    if employer.freemail_flag or domain in FREE_MAIL_DOMAINS:
        signals.append(Signal("freemail", "Free-mail contact address",
                              f"The contact address {email or '(none)'} is a free-mail address."))
    elif email and employer.website and not domain_matches(email, employer.website):
        signals.append(Signal("domain_mismatch", "Contact domain does not match the website",
                              f"{email} is not at the domain of {employer.website}."))

    corpus = corpus if corpus is not None else await build_corpus()
    dupes = near_duplicates(listing, corpus)
    if dupes:
        signals.append(Signal("duplicate_text", "Duplicate text of another employer's listing",
                              "; ".join(f"#{i} “{t}” ({round(s * 100)}% alike)" for i, t, s in dupes)))

    has_credentials = await ListingCredential.exists().where(ListingCredential.listing == listing.id)
    has_code_sets = await ListingCodeSet.exists().where(ListingCodeSet.listing == listing.id)
    if not has_credentials and not has_code_sets and not has_coding_terms(text):
        signals.append(Signal("no_coding_terms", "No coding credential or coding term",
                              "Neither a credential, a code set nor a coding term appears anywhere."))

    comparison = await pay_comparison(listing)
    if comparison:
        mine, median, count = comparison
        if mine < PAY_LOW * median or mine > PAY_HIGH * median:
            signals.append(Signal("pay_outlier", "Pay far outside similar listings",
                                  f"About ${mine:,.0f} a year against a median of ${median:,.0f} "
                                  f"for {count} similar published listings."))

    links = external_links(listing.description_md, employer.website)
    if links:
        signals.append(Signal("external_links", "External links in the description", ", ".join(links[:10])))
    return signals
