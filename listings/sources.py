"""Where a listing's visitors came from: one source name per view, apply click or application, never who.

The source is `utm_source` when a link we publish carries it (feeds: indeed, linkedin; alert mails: alert), else the
`Referer` host (a search engine, an aggregator, another site), else "direct". A visitor who moves on inside the board
keeps the source they arrived with: it rides in a cookie that holds only that name (`cc_source`, this browser
session), so the apply that follows a Google visit counts for Google.
"""

from __future__ import annotations

from urllib.parse import urlparse

from litestar import Request
from litestar.datastructures import Cookie

from listings import stats

GOOGLE, BING, INDEED, LINKEDIN, ALERT, DIRECT, OTHER = "google", "bing", "indeed", "linkedin", "alert", "direct", "other"
LABELS = {GOOGLE: "Google", BING: "Bing", INDEED: "Indeed", LINKEDIN: "LinkedIn", ALERT: "Job alert mail",
          DIRECT: "Direct", OTHER: "Other"}
SOURCES = tuple(LABELS)  # the order reports list them in
COOKIE = "cc_source"
UTM_ALIASES = {"alerts": ALERT, "alert_mail": ALERT, "email": ALERT}
# Registrable-domain words of each source's hosts (www.google.co.uk, jobs.indeed.com, lnkd.in, cn.bing.com).
REFERER_WORDS = {GOOGLE: ("google",), BING: ("bing",), INDEED: ("indeed",), LINKEDIN: ("linkedin", "lnkd")}


def from_utm(value: str | None) -> str | None:
    """A known source for a `utm_source` value, OTHER for an unknown one, None when there is none."""
    value = (value or "").strip().lower()
    if not value:
        return None
    value = UTM_ALIASES.get(value, value)
    return value if value in LABELS and value != DIRECT else OTHER


def from_referer(referer: str | None, own_hosts: set[str]) -> str | None:
    """The source a Referer names; None for no Referer or a page of the board itself."""
    host = (urlparse(referer or "").hostname or "").lower().rstrip(".")
    if not host or host in own_hosts:
        return None
    labels = host.split(".")
    for source, words in REFERER_WORDS.items():
        if any(word in labels for word in words):
            return source
    return OTHER


def visit_source(request: Request, base_url: str) -> str:
    """This request's source: its utm_source, its Referer, the source the visitor arrived with, or direct."""
    own_hosts = {(request.url.hostname or "").lower(), (urlparse(base_url).hostname or "").lower()}
    return (from_utm(request.query_params.get("utm_source"))
            or from_referer(request.headers.get("referer"), own_hosts)
            or arrival_source(request))


def arrival_source(request: Request) -> str:
    """The source remembered for this browser session (apply clicks and applications), else direct."""
    value = request.cookies.get(COOKIE, "")
    return value if value in LABELS else DIRECT


def remember(source: str, request: Request, secure: bool) -> list[Cookie]:
    """The cookie that carries a new arrival source to the next pages (none when nothing changed)."""
    if source == DIRECT or request.cookies.get(COOKIE) == source:
        return []
    return [Cookie(key=COOKIE, value=source, path="/", httponly=True, samesite="lax", secure=secure)]


def report_context(listings: list[tuple[int, str, list[dict]]]) -> dict:
    """The `listings/_sources.html` partial's context for (id, title, `stats.by_source` rows) listings: those
    with counts, in the given order."""
    reports = [{"id": listing_id, "title": title, "sources": rows} for listing_id, title, rows in listings if rows]
    return {"source_reports": reports, "source_labels": LABELS}


async def listing_report_context(listing_id: int, title: str) -> dict:
    """The partial's context for one listing (its manage page)."""
    return report_context([(listing_id, title, (await stats.by_source([listing_id]))[listing_id])])
