"""Job alerts: a saved /jobs query mailed as a daily or weekly digest of new listings.

Rules: a digest holds only listings published since the previous digest (or the
alert's creation) that match, never one already sent to that alert (the
`alert_sent_listings` table), at most one mail per alert per period and nothing
when nothing matched. Guests confirm by mail first (double opt-in). Alerts never
expire on their own. Every mail carries a manage link and a one-click
unsubscribe (RFC 8058) authenticated by an HMAC token signed with the secret key.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import html
import secrets
from typing import Any
from urllib.parse import parse_qsl, urlencode

from careers.accounts import mail_prefs
from careers.accounts import service as accounts
from careers.coders.tables import AlertSentListing, JobAlert
from careers.core import clock, db, mail
from careers.core.config import Settings
from careers.core.errors import DomainError
from search import service as search_service

FREQUENCIES = {"daily": dt.timedelta(days=1), "weekly": dt.timedelta(days=7)}
FREQUENCY_LABELS = {"daily": "Daily", "weekly": "Weekly"}
MAX_ALERTS_PER_EMAIL = 25
DIGEST_MAX_LISTINGS = 25
# Listings reach the index a moment after they are published; look back this far behind the previous
# digest so none is missed (the sent-listings table keeps any from being sent twice).
INDEX_LAG = dt.timedelta(minutes=30)
IGNORED_PARAMS = frozenset({"page", "_csrf_token", "per_page", "sort", "frequency", "email"})


class AlertError(DomainError):
    """An alert rule was broken; `field` names the form field it belongs to."""



# ---- tokens ------------------------------------------------------------------------------------------


def make_token(alert_id: int, nonce: str, secret: str, purpose: str = "manage") -> str:
    """`<id>.<hmac>`: authenticates manage/unsubscribe (purpose "manage") or a guest's confirmation ("confirm")."""
    message = f"job-alert:{purpose}:{alert_id}:{nonce}".encode()
    return f"{alert_id}.{hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:40]}"


async def alert_for_token(token: str, secret: str, purpose: str = "manage") -> JobAlert | None:
    """The alert a token was made for, or None when the token is malformed, forged or its alert is gone."""
    token = (token or "").strip()
    alert_id, _, sig = token.partition(".")
    if not alert_id.isdigit() or not sig or len(token) > 100:
        return None
    alert = await JobAlert.objects().where(JobAlert.id == int(alert_id)).first()
    if alert is None:
        return None
    expected = make_token(alert.id, alert.token_nonce, secret, purpose)
    return alert if hmac.compare_digest(expected, token) else None


def links(alert: JobAlert, settings: Settings) -> dict[str, str]:
    token = make_token(alert.id, alert.token_nonce, settings.secret_key)
    return {
        "manage": f"{settings.base_url}/alerts/manage?token={token}",
        "unsubscribe": f"{settings.base_url}/alerts/unsubscribe?token={token}",
        "token": token,
    }


# ---- queries -------------------------------------------------------------------------------------------


def normalise_query(query_string: str) -> str:
    """The /jobs query without paging or form noise, keys sorted, so equal searches compare equal."""
    pairs = [(k, v.strip()) for k, v in parse_qsl((query_string or "").lstrip("?"), keep_blank_values=False)
             if k not in IGNORED_PARAMS and v.strip()]
    return urlencode(sorted(set(pairs)))[:2000]


def describe_query(query_string: str) -> str:
    """A short plain description of a saved search, for pages and mail subjects."""
    parts = []
    for key, value in parse_qsl(query_string or ""):
        if key == "q":
            parts.append(f"“{value}”")
        elif key in ("qualified", "qualified_for", "qualify"):
            parts.append("jobs I qualify for")
        else:
            parts.append(f"{key.replace('_', ' ')}: {value}")
    return ", ".join(parts) if parts else "all new jobs"


# ---- creating, confirming, unsubscribing -------------------------------------------------------------------


async def create_alert(query_string: str, frequency: str, settings: Settings, *, user: Any = None,
                       email: str = "") -> tuple[JobAlert, bool]:
    """Save a search as an alert; returns (alert, needs_confirmation).

    A signed-in person with a confirmed email gets a live alert at once; a guest (or an
    unconfirmed account) gets a confirmation mail first. Saving the same search again only
    updates its frequency.
    """
    if frequency not in FREQUENCIES:
        raise AlertError("Pick daily or weekly.", "frequency")
    if user is not None:
        email = user.email
        confirmed = bool(user.email_confirmed)
    else:
        try:
            email = accounts.normalise_email(email)
        except accounts.AccountError as exc:
            raise AlertError(exc.message, "email") from None
        confirmed = False
    query = normalise_query(query_string)
    if user is None:  # "jobs I qualify for" needs a profile; a guest's alert drops it
        query = urlencode([(k, v) for k, v in parse_qsl(query) if k != "qualified"])
    check_query(query)
    async with db.transaction():
        owner = JobAlert.user == user.id if user is not None else JobAlert.user.is_null()
        same = await JobAlert.objects().where(
            (JobAlert.email == email) & (JobAlert.query == query) & (JobAlert.active == True) & owner  # noqa: E712
        ).first()
        if same is not None:
            await JobAlert.update({JobAlert.frequency: frequency}).where(JobAlert.id == same.id)
            same.frequency = frequency
            if same.confirmed_at is None:
                await _send_confirmation(same, settings)
            return same, same.confirmed_at is None
        count = await JobAlert.count().where((JobAlert.email == email) & (JobAlert.active == True))  # noqa: E712
        if count >= MAX_ALERTS_PER_EMAIL:
            raise AlertError(f"You already have {MAX_ALERTS_PER_EMAIL} alerts; delete one before adding another.")
        alert = JobAlert(user=user.id if user is not None else None, email=email, query=query, frequency=frequency,
                         token_nonce=secrets.token_hex(16), confirmed_at=clock.now() if confirmed else None)
        await alert.save()
        if not confirmed:
            await _send_confirmation(alert, settings)
    return alert, not confirmed


CONFIRM_SUBJECT = "Confirm your CareerCenter job alert"


async def _send_confirmation(alert: JobAlert, settings: Settings) -> None:
    """Queue the double opt-in mail; its link is made when the worker sends it."""
    await mail.queue_link_mail("alert_confirm", alert.email, CONFIRM_SUBJECT, alert.id)


async def _compose_confirmation(payload: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    alert = await JobAlert.objects().where(JobAlert.id == payload["id"]).first()
    if alert is None or not alert.active or alert.confirmed_at is not None:
        return None
    token = make_token(alert.id, alert.token_nonce, settings.secret_key, "confirm")
    link = f"{settings.base_url}/alerts/confirm?token={token}"
    return {"to": alert.email, "subject": CONFIRM_SUBJECT,
            "text": f"Someone (we hope you) asked CareerCenter to mail new jobs matching {describe_query(alert.query)} "
                    f"{alert.frequency} to this address.\n\nConfirm the alert here:\n{link}\n\n"
                    "If it was not you, ignore this mail: nothing will be sent."}


async def _compose_digest(payload: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """The digest as queued by `send_digest`, with its manage and unsubscribe links written now."""
    alert = await JobAlert.objects().where(JobAlert.id == payload["id"]).first()
    if alert is None or not alert.active:
        return None
    text, html_body = digest_bodies(alert, [tuple(line) for line in payload["listings"]], settings)
    link = links(alert, settings)
    return {"to": alert.email, "subject": payload["subject"], "text": text, "html": html_body,
            "headers": {"List-Unsubscribe": f"<{link['unsubscribe']}>",
                        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}}


def handlers() -> dict:
    """Alert mails' outbox handlers: their confirm, manage and unsubscribe links are written when they are sent."""
    return {mail.LINK_MAIL_PREFIX + "alert_confirm": mail.link_mail_handler(_compose_confirmation),
            mail.LINK_MAIL_PREFIX + "alert_digest": mail.link_mail_handler(_compose_digest)}


async def confirm(token: str, settings: Settings) -> JobAlert | None:
    """A guest confirms their alert from the mailed link (double opt-in)."""
    alert = await alert_for_token(token, settings.secret_key, "confirm")
    if alert is None or not alert.active:
        return None
    if alert.confirmed_at is None:
        await JobAlert.update({JobAlert.confirmed_at: clock.now()}).where(JobAlert.id == alert.id)
        alert.confirmed_at = clock.now()
    return alert


async def unsubscribe(token: str, settings: Settings) -> JobAlert | None:
    """Stop an alert from a signed token (the one-click POST); repeating it changes nothing."""
    alert = await alert_for_token(token, settings.secret_key)
    if alert is None:
        return None
    if alert.active:
        await JobAlert.update({JobAlert.active: False, JobAlert.unsubscribed_at: clock.now()}).where(JobAlert.id == alert.id)
        alert.active = False
    return alert


async def set_frequency(alert_id: int, frequency: str) -> None:
    if frequency not in FREQUENCIES:
        raise AlertError("Pick daily or weekly.", "frequency")
    await JobAlert.update({JobAlert.frequency: frequency}).where(JobAlert.id == alert_id)


async def user_alerts(user_id: int) -> list[dict[str, Any]]:
    rows = await JobAlert.select().where((JobAlert.user == user_id) & (JobAlert.active == True)).order_by(  # noqa: E712
        JobAlert.created_at, ascending=False)
    return [alert_view(r) for r in rows]


def alert_view(row: dict[str, Any] | JobAlert) -> dict[str, Any]:
    data = row if isinstance(row, dict) else row.to_dict()
    return {**data, "description": describe_query(data["query"]), "jobs_url": "/jobs" + ("?" + data["query"] if data["query"] else ""),
            "frequency_label": FREQUENCY_LABELS.get(data["frequency"], data["frequency"])}


async def delete_alert(alert_id: int, user_id: int) -> bool:
    """Delete one of the account's alerts; False when it is not theirs."""
    rows = await JobAlert.delete().where((JobAlert.id == alert_id) & (JobAlert.user == user_id)).returning(JobAlert.id)
    return bool(rows)


# ---- digests --------------------------------------------------------------------------------------------


async def due_alerts(now: dt.datetime) -> list[JobAlert]:
    """Active confirmed alerts whose period has passed since their last digest run (or their creation); none of an
    account an admin suspended (guests' alerts have no account)."""
    alerts = await JobAlert.objects().where(
        (JobAlert.active == True) & JobAlert.confirmed_at.is_not_null()  # noqa: E712
        & (JobAlert.user.is_null() | (JobAlert.user.login_disabled == False)))  # noqa: E712
    due = []
    for alert in alerts:
        last = alert.last_checked_at or alert.last_sent_at or alert.created_at
        if last <= now - FREQUENCIES.get(alert.frequency, FREQUENCIES["daily"]):
            due.append(alert)
    return due


async def matching_listings(alert: JobAlert, since: dt.datetime, settings: Settings) -> list[dict[str, Any]]:
    """Listings matching the alert's search that were published after `since`, newest first.

    Uses search.service (which falls back to a database query when Meilisearch is down).
    """
    query = search_service.parse_query(_params(alert.query))
    changes: dict[str, Any] = {"published_after": since, "page": 1, "per_page": search_service.MAX_PER_PAGE,
                               "sort": "newest"}
    if alert.user is not None and query.qualified:
        from careers.coders.service import qualification_profile

        held, home_state = await qualification_profile(alert.user)
        changes["qualified_for"] = (frozenset(held), home_state)
    result = await search_service.search_listings(query.replace(**changes), settings)
    return [_hit_dict(hit) for hit in result.hits]


def _params(query_string: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query_string or ""):
        params.setdefault(key, []).append(value)
    return params


def check_query(query_string: str) -> None:
    """Refuse to save a search the search page itself would refuse (AlertError naming the problem)."""
    try:
        search_service.parse_query(_params(query_string))
    except search_service.SearchParamError as exc:
        raise AlertError(f"This search cannot be saved: {exc.message}") from None


def _hit_dict(hit: Any) -> dict[str, Any]:
    if isinstance(hit, dict):
        return hit
    if dataclasses.is_dataclass(hit):
        return dataclasses.asdict(hit)
    return dict(vars(hit))


async def send_digest(alert: JobAlert, settings: Settings, now: dt.datetime | None = None) -> int:
    """Mail one digest for a due alert; returns how many listings it carried (0: no mail).

    The sent-listing rows, the alert's `last_sent_at` and the queued mail are one transaction; the
    alert's timestamps are compared-and-set so two workers never send the same period twice.
    """
    now = now or clock.now()
    if alert.user is not None and not await mail_prefs.wants(alert.user, "alert_digests"):
        return 0  # the coder turned digests off at /account/mail (a guest alert has its own unsubscribe link)
    since = alert.created_at if alert.last_sent_at is None else alert.last_sent_at - INDEX_LAG
    hits = await matching_listings(alert, since, settings)
    ids = [int(h["id"]) for h in hits]
    already = set()
    if ids:
        already = {r["listing"] for r in await AlertSentListing.select(AlertSentListing.listing).where(
            (AlertSentListing.alert == alert.id) & AlertSentListing.listing.is_in(ids))}
    fresh = [h for h in hits if int(h["id"]) not in already][:DIGEST_MAX_LISTINGS]
    async with db.transaction():
        previous = JobAlert.last_checked_at.is_null() if alert.last_checked_at is None else (
            JobAlert.last_checked_at == alert.last_checked_at)
        changes = {JobAlert.last_checked_at: now}
        if fresh:
            changes[JobAlert.last_sent_at] = now
        claimed = await JobAlert.update(changes).where((JobAlert.id == alert.id) & previous
                                                       & (JobAlert.active == True)).returning(JobAlert.id)  # noqa: E712
        if not claimed or not fresh:
            return 0
        await AlertSentListing.insert(*[
            AlertSentListing(alert=alert.id, listing=int(h["id"]), alert_listing=f"{alert.id}:{int(h['id'])}", sent_at=now)
            for h in fresh
        ]).on_conflict(target=AlertSentListing.alert_listing, action="DO NOTHING")
        subject = f"{len(fresh)} new job{'s' if len(fresh) != 1 else ''} for your alert: {describe_query(alert.query)}"
        await mail.queue_link_mail("alert_digest", alert.email, subject[:200], alert.id,
                                   listings=[list(_listing_line(h)) for h in fresh])
    return len(fresh)


def _listing_line(hit: dict[str, Any]) -> tuple[str, str, str]:
    """(title, details, path) for one listing in a digest."""
    title = str(hit.get("title") or "A new job")
    details = [str(v) for v in (hit.get("employer_name") or hit.get("employer"),) if v]
    place = ", ".join(str(v) for v in (hit.get("city"), hit.get("state")) if v)
    mode = hit.get("work_mode")
    if mode == "remote":
        details.append("Remote")
    elif place:
        details.append(place)
    creds = hit.get("credentials_required") or []
    if creds:
        details.append("requires " + ", ".join(str(c) for c in creds))
    path = hit.get("path") or f"/jobs/{hit['id']}/{hit.get('slug') or 'job'}"
    return title, " · ".join(details), path


def digest_bodies(alert: JobAlert, listings: list[tuple[str, str, str]], settings: Settings) -> tuple[str, str]:
    """The plain-text and HTML parts of a digest of (title, details, path) lines; listing values are escaped in HTML."""
    link = links(alert, settings)
    description = describe_query(alert.query)
    lines = [f"New jobs matching your {alert.frequency} alert ({description}):", ""]
    items = []
    for n, (title, details, path) in enumerate(listings, 1):
        url = f"{settings.base_url}{path}?utm_source=alert"  # the listing's traffic-source report counts alert mail
        lines += [f"{n}. {title}", *([f"   {details}"] if details else []), f"   {url}", ""]
        items.append(f'<li><a href="{html.escape(url)}">{html.escape(title)}</a>'
                     + (f"<br>{html.escape(details)}" if details else "") + "</li>")
    lines += [
        f"See every match: {settings.base_url}/jobs{'?' + alert.query if alert.query else ''}",
        "",
        f"Manage this alert: {link['manage']}",
        f"Unsubscribe: {link['unsubscribe']}",
        "",
        "You get this mail because you saved this search on CareerCenter.",
    ]
    html_body = (
        "<!doctype html><html><body>"
        f"<p>New jobs matching your {html.escape(alert.frequency)} alert ({html.escape(description)}):</p>"
        f"<ol>{''.join(items)}</ol>"
        f'<p><a href="{html.escape(settings.base_url + "/jobs" + ("?" + alert.query if alert.query else ""))}">See every match</a></p>'
        f'<p><a href="{html.escape(link["manage"])}">Manage this alert</a> · '
        f'<a href="{html.escape(link["unsubscribe"])}">Unsubscribe</a></p>'
        "<p>You get this mail because you saved this search on CareerCenter.</p>"
        "</body></html>"
    )
    return "\n".join(lines), html_body


async def send_due_digests(settings: Settings, now: dt.datetime | None = None) -> int:
    """Send every due alert's digest; returns how many mails were queued. Errors stay per alert."""
    import logging

    now = now or clock.now()
    sent = 0
    for alert in await due_alerts(now):
        try:
            if await send_digest(alert, settings, now):
                sent += 1
        except Exception:
            logging.getLogger("careers.coders.alerts").exception("job alert %s digest failed", alert.id)
    return sent
