"""Applicant tracking: who applied to an employer's listing, moving them through the stages, private
notes, the CSV export and the dashboard's applicant figures.

Access is decided here on every call from the person's CURRENT membership (an `employer_members`
row), never from anything cached: a removed teammate loses access with their next request.
Anything a person may not see raises `NotAllowed`, which pages answer with 404.

Applications themselves belong to the coders domain: stage moves and first views go through
`careers.coders.applications.move_application` / `mark_viewed`, which write the history row and the
coder's mail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from piccolo.query import SelectRaw

from careers.coders import applications as coder_applications
from careers.coders import service as coders
from careers.coders.tables import Application, ApplicationEvent, ApplicationStage
from careers.coders.verified import verified_pairs_sql, verified_today
from careers.core import clock, db
from careers.core.config import Settings
from careers.core.errors import DomainError, NotFound
from careers.core.text import sanitise_html
from employers import applicant_screening as screening
from employers import response as employer_response
from employers.tables import EmployerMember
from employers.tracking.tables import ApplicationNote
from listings import stats
from listings.liveness import service as liveness
from listings.page_data import listing_with_employer
from listings.tables import Listing
from listings.vocabulary import WORK_MODES, ListingState

STAGE_LABELS = coder_applications.STAGE_LABELS  # the coder's words: one stage vocabulary for both sides
# Only the coder withdraws.
MOVABLE_STAGES = tuple(stage for stage in ApplicationStage if stage != ApplicationStage.WITHDRAWN)
MAILED_STAGES = frozenset(coder_applications.STAGE_MAILS)  # the coder is mailed when moved to one of these
STAGE_ORDER = {stage: n for n, stage in enumerate(coder_applications.STAGES)}
SORTS = {"newest": "Newest first", "oldest": "Oldest first", "stage": "Stage", "match": "Best match first"}
MATCH_FILTERS = {"": "Everyone", "meets": "Meets the requirements", "missing": "Misses a requirement",
                 "verified": "Verified credentials only"}
NOTE_MAX = 5000
LINE_MAX = 1000  # the employer's optional line in the coder's mail
VISIT_GAP = dt.timedelta(minutes=30)  # dashboard views closer together than this are one visit
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def mailed_labels() -> str:
    """The stages whose move mails the candidate, in words ("Interviewing, Offer, Hired and Not selected")."""
    labels = [STAGE_LABELS[s] for s in MOVABLE_STAGES if s in MAILED_STAGES]
    return ", ".join(labels[:-1]) + " and " + labels[-1] if len(labels) > 1 else "".join(labels)


class NotAllowed(NotFound):
    """The object does not exist for this person; pages answer 404."""


class ApplicantError(DomainError):
    """A rule was broken; pages show `message` (and `field`'s form control)."""



# ---- access -------------------------------------------------------------------------------------


async def current_membership(user_id: int) -> EmployerMember | None:
    """The person's membership as it is now (one organisation per account)."""
    return await EmployerMember.objects().where(EmployerMember.user == user_id).first()


async def listing_for_member(listing_id: int, user_id: int) -> Listing:
    """The listing if it belongs to the person's current organisation; NotAllowed otherwise."""
    member = await current_membership(user_id)
    if member is None:
        raise NotAllowed()
    listing = await Listing.objects().where((Listing.id == listing_id) & (Listing.employer == member.employer)).first()
    if listing is None:
        raise NotAllowed()
    return listing


async def application_for_member(application_id: int, user_id: int) -> tuple[Application, Listing]:
    """The application and its listing if the listing belongs to the person's current organisation."""
    app = await Application.objects().where(Application.id == application_id).first()
    if app is None:
        raise NotAllowed()
    return app, await listing_for_member(app.listing, user_id)


# ---- what the tracker shows about an applicant ----------------------------------------------------


def _snapshot(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value or "{}")
        except ValueError:
            value = {}
    return value if isinstance(value, dict) else {}


def match_summary(snapshot: dict[str, Any], facts: dict[str, Any]) -> dict[str, Any] | None:
    """The snapshot's credentials against the listing's requirements as they are now (None if anonymised)."""
    if not snapshot.get("name"):
        return None
    held = {c.get("code") for c in snapshot.get("credentials") or [] if isinstance(c, dict)}
    match = coders.qualification_match({c for c in held if c}, snapshot.get("state") or None, facts)
    met = [r["code"] for r in match["required"] + match["any_of"] + match["preferred"] if r["held"]]
    missing = list(match["missing"])
    if match["any_of_missing"]:
        missing.append("one of " + " / ".join(match["any_of_missing"]))
    return {
        "meets": match["credentials_met"],
        "met": list(dict.fromkeys(met)),
        "missing": missing,
        "preferred_met": match["preferred_met"],
        "remote": match["remote"],
        "state_eligible": match["state_eligible"],
        "text": "Meets the requirements" if match["credentials_met"] else "Missing " + ", ".join(missing),
    }


def _clean_html(html: str) -> str:
    """The coder's summary was sanitised when saved; clean it again here because the page marks it safe."""
    return sanitise_html(html) if html else ""


def display_name(row: dict[str, Any]) -> str:
    snapshot = _snapshot(row.get("profile_snapshot"))
    return "Anonymised applicant" if row.get("anonymised_at") or not snapshot.get("name") else snapshot["name"]


def _location(snapshot: dict[str, Any]) -> str:
    place = ", ".join(p for p in (snapshot.get("city"), snapshot.get("state")) if p)
    return place or (snapshot.get("zip") or "")


def applicant_view(row: dict[str, Any], facts: dict[str, Any], verified: set[str] = frozenset()) -> dict[str, Any]:
    """One application as the tracker shows it: snapshot facts, match, stage label and resume link; `verified` are
    the coder's credentials verified today (live, not from the snapshot: the badge goes at expiry)."""
    snapshot = _snapshot(row.get("profile_snapshot"))
    anonymised = bool(row.get("anonymised_at")) or not snapshot.get("name")
    credentials = [c for c in snapshot.get("credentials") or [] if isinstance(c, dict) and c.get("code")]
    match = match_summary(snapshot, facts)
    remote_line = ""
    if match and match["remote"]:
        if match["state_eligible"]:
            remote_line = "Eligible for this remote job"
        elif snapshot.get("state"):
            remote_line = f"Not eligible for this remote job (lives in {snapshot['state']})"
        else:
            remote_line = "State unknown (no ZIP in the profile)"
    return {
        "id": row["id"],
        "name": display_name(row),
        "anonymised": anonymised,
        "email": "" if anonymised else (snapshot.get("email") or ""),
        "headline": snapshot.get("headline") or "",
        "stage": row["stage"],
        "stage_label": STAGE_LABELS.get(row["stage"], row["stage"]),
        "withdrawn": row["stage"] == ApplicationStage.WITHDRAWN,
        "created_at": row["created_at"],
        "viewed_at": row.get("viewed_at"),
        "cover_note": row.get("cover_note") or "",
        "credentials": [{**c, "verified": c["code"] in verified} for c in credentials],
        "verified_codes": sorted(verified & {c["code"] for c in credentials}),
        "credentials_text": ", ".join(
            c["code"] + (f" ({c['year_earned']})" if c.get("year_earned") else "")
            + (" verified" if c["code"] in verified else "") for c in credentials),
        "member_number": snapshot.get("member_number") or "",
        "years_experience": snapshot.get("years_experience"),
        "location": _location(snapshot),
        "desired_work_mode": WORK_MODES.get(snapshot.get("desired_work_mode") or "", "Any"),
        "remote_states": snapshot.get("remote_states") or [],
        "tools": snapshot.get("tools") or "",
        "summary_html": _clean_html(snapshot.get("summary_html") or ""),
        "settings_labels": snapshot.get("settings_labels") or [],
        "specialties_labels": snapshot.get("specialties_labels") or [],
        "code_sets_labels": snapshot.get("code_sets_labels") or [],
        "match": match,
        "remote_line": remote_line,
        "has_resume": bool(row.get("resume_key")),
        "resume_url": f"/applications/{row['id']}/resume",
        "url": f"/employer/applications/{row['id']}",
        "screened_out": bool(row.get("screened_out")),
        "screening_record": screening.record(row.get("screening")),
        "screening": screening.answers_view(row.get("screening")),
    }


_APP_COLUMNS = (Application.id, Application.stage, Application.created_at, Application.viewed_at,
                Application.cover_note, Application.profile_snapshot, Application.resume_key,
                Application.anonymised_at, Application.screening, Application.screened_out, Application.coder,
                SelectRaw(verified_pairs_sql('"applications"."coder"') + " AS verified_pairs"))


def _verified(row: dict[str, Any]) -> set[str]:
    """The applicant's credentials verified today (live, read with the row; none once anonymised)."""
    return set() if row.get("anonymised_at") else verified_today(row.get("verified_pairs"))


@dataclass
class ApplicantQuery:
    """The list page's sort, filters and name search, as read from (and written back to) the URL."""

    sort: str = "newest"
    stage: str = ""
    match: str = ""
    q: str = ""
    screened: str = ""  # employers.applicant_screening: "out", "in" or everyone
    answer: str = ""  # "N:value"

    @classmethod
    def parse(cls, sort: str | None, stage: str | None, match: str | None, q: str | None,
              screened: str | None = None, answer: str | None = None) -> "ApplicantQuery":
        """Unknown values fall back to the defaults rather than erroring: the URL is hand-editable."""
        return cls(
            sort=sort if sort in SORTS or screening.valid_sort(sort) else "newest",
            stage=stage if stage in STAGE_LABELS else "",
            match=match if match in MATCH_FILTERS else "",
            q=(q or "").strip()[:100],
            screened=screened if screened in screening.SCREENED_FILTERS else "",
            answer=screening.valid_answer_filter(answer),
        )

    def params(self) -> dict[str, str]:
        return {k: v for k, v in (("sort", self.sort), ("stage", self.stage), ("match", self.match), ("q", self.q),
                                  ("screened", self.screened), ("answer", self.answer))
                if v and not (k == "sort" and v == "newest")}


def _sort_key(query: ApplicantQuery):
    def newest(a: dict[str, Any]):
        return (-a["created_at"].timestamp(), -a["id"])

    if query.sort == "oldest":
        return lambda a: (a["created_at"].timestamp(), a["id"])
    if query.sort == "stage":
        return lambda a: (STAGE_ORDER.get(a["stage"], 99), *newest(a))
    if screening.valid_sort(query.sort):
        return screening.sort_key(query.sort, newest)
    if query.sort == "match":
        def by_match(a: dict[str, Any]):
            m = a["match"]
            if m is None:
                return (2, 0, 0, *newest(a))
            return (0 if m["meets"] else 1, len(m["missing"]), -len(m["preferred_met"]), *newest(a))
        return by_match
    return newest


async def _listing_facts(listing_id: int) -> dict[str, Any]:
    """The listing's side of the qualification rule, in one statement."""
    found = await listing_with_employer(listing_id)
    return {"work_mode": found.listing.work_mode, **found.details,
            "screening_questions": found.listing.screening_questions} if found else {}


async def applicants(listing_id: int, query: ApplicantQuery | None = None) -> list[dict[str, Any]]:
    """The listing's applicants, filtered and sorted as `query` asks (the caller checked access)."""
    return (await applicant_list(listing_id, query))[0]


async def applicant_list(listing_id: int, query: ApplicantQuery | None = None
                         ) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """(the applicants `query` asks for, how many applications are at each stage): two statements, whatever the
    number of applicants (the listing's facts, then every application row)."""
    query = query or ApplicantQuery()
    facts = await _listing_facts(listing_id)
    rows = await Application.select(*_APP_COLUMNS).where(Application.listing == listing_id).order_by(Application.id)
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["stage"]] = counts.get(r["stage"], 0) + 1
    out = [applicant_view(r, facts, _verified(r)) for r in rows]
    if query.stage:
        out = [a for a in out if a["stage"] == query.stage]
    if query.match == "meets":
        out = [a for a in out if a["match"] and a["match"]["meets"]]
    elif query.match == "missing":
        out = [a for a in out if a["match"] and not a["match"]["meets"]]
    elif query.match == "verified":
        out = [a for a in out if a["verified_codes"]]
    out = screening.apply_filters(out, query.screened, query.answer)
    if query.q:
        needle = query.q.casefold()
        out = [a for a in out if needle in a["name"].casefold()]
    out.sort(key=_sort_key(query))
    return out, counts


async def history(application_id: int) -> list[dict[str, Any]]:
    """The application's stage moves, oldest first: who, when, from, to, and the line sent to the coder."""
    rows = await ApplicationEvent.select(
        ApplicationEvent.id, ApplicationEvent.actor_kind, ApplicationEvent.from_stage, ApplicationEvent.to_stage,
        ApplicationEvent.note, ApplicationEvent.created_at,
        ApplicationEvent.actor.display_name.as_alias("actor_name"),
        ApplicationEvent.actor.email.as_alias("actor_email"),
    ).where(ApplicationEvent.application == application_id).order_by(ApplicationEvent.created_at).order_by(
        ApplicationEvent.id)
    for r in rows:
        if r["actor_kind"] == "coder":
            r["who"] = "The candidate"
            r["note"] = ""  # a coder's own events carry no employer line
        elif r["actor_kind"] == "employer":
            r["who"] = r["actor_name"] or r["actor_email"] or "A former teammate"
        else:
            r["who"] = {"admin": "CareerCenter staff", "system": "CareerCenter"}.get(r["actor_kind"], r["actor_kind"])
        r["from_label"] = STAGE_LABELS.get(r["from_stage"], r["from_stage"]) if r["from_stage"] else ""
        r["to_label"] = STAGE_LABELS.get(r["to_stage"], r["to_stage"])
    return rows


async def notes(application_id: int, employer_id: int) -> list[dict[str, Any]]:
    """The organisation's private notes on the application, oldest first, with author and time."""
    rows = await ApplicationNote.select(
        ApplicationNote.id, ApplicationNote.body, ApplicationNote.created_at,
        ApplicationNote.author.display_name.as_alias("author_name"),
        ApplicationNote.author.email.as_alias("author_email"),
    ).where((ApplicationNote.application == application_id) & (ApplicationNote.employer == employer_id)).order_by(
        ApplicationNote.created_at).order_by(ApplicationNote.id)
    for r in rows:
        r["author"] = r["author_name"] or r["author_email"] or "A former teammate"
    return rows


@dataclass
class ApplicationPage:
    listing: Listing
    applicant: dict[str, Any]
    history: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    first_view: bool


async def open_application(application_id: int, user_id: int) -> ApplicationPage:
    """One application for a member of the listing's organisation; the first opening sets `viewed_at`."""
    app, listing = await application_for_member(application_id, user_id)
    first_view = app.viewed_at is None
    if first_view:
        await coder_applications.mark_viewed(application_id)
    row = await Application.select(*_APP_COLUMNS).where(Application.id == application_id).first()
    facts = await _listing_facts(listing.id)
    return ApplicationPage(listing=listing, applicant=applicant_view(row, facts, _verified(row)),
                           history=await history(application_id),
                           notes=await notes(application_id, listing.employer), first_view=first_view)


# ---- moving applicants ------------------------------------------------------------------------------


def _clean_stage(to_stage: str) -> str:
    if to_stage not in MOVABLE_STAGES:
        raise ApplicantError("Choose the stage to move to.", "to_stage")
    return to_stage


def _clean_line(line: str) -> str:
    line = (line or "").replace("\r\n", "\n").strip()
    if len(line) > LINE_MAX:
        raise ApplicantError(f"Keep the line for the candidate to {LINE_MAX} characters (it has {len(line)}).", "note")
    return line


async def move(application_id: int, user_id: int, to_stage: str, line: str, settings: Settings) -> Application:
    """Move one application (history row; a kind mail with `line` for interviewing, offer, hired, not_selected).

    A withdrawn application is frozen: ApplicantError. Moving to the current stage changes nothing.
    """
    to_stage = _clean_stage(to_stage)
    line = _clean_line(line)
    app, _ = await application_for_member(application_id, user_id)
    if app.stage == ApplicationStage.WITHDRAWN:
        raise ApplicantError("The candidate withdrew this application; it can no longer be moved.")
    try:
        await coder_applications.move_application(application_id, to_stage, user_id, line, settings=settings)
    except coders.NotAllowed:
        raise NotAllowed() from None
    except coders.CoderError as exc:
        raise ApplicantError(exc.message) from None
    return await Application.objects().get(Application.id == application_id)


@dataclass
class BulkResult:
    moved: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)  # already at that stage
    withdrawn: list[str] = field(default_factory=list)  # skipped: frozen by the candidate


async def bulk_move(listing_id: int, user_id: int, application_ids: list[int], to_stage: str, line: str,
                    settings: Settings) -> BulkResult:
    """Move several applications of one listing in one transaction; withdrawn ones are skipped and reported.

    Every id must be an application to this listing, or nothing moves (NotAllowed).
    """
    to_stage = _clean_stage(to_stage)
    line = _clean_line(line)
    ids = list(dict.fromkeys(application_ids))
    if not ids:
        raise ApplicantError("Select at least one applicant to move.")
    await listing_for_member(listing_id, user_id)
    result = BulkResult()
    async with db.transaction():
        rows = await Application.select(Application.id, Application.stage, Application.profile_snapshot,
                                        Application.anonymised_at, Application.coder,
                SelectRaw(verified_pairs_sql('"applications"."coder"') + " AS verified_pairs")).where(
            Application.id.is_in(ids) & (Application.listing == listing_id))
        if len(rows) != len(ids):
            raise NotAllowed()
        by_id = {r["id"]: r for r in rows}
        for app_id in ids:
            row = by_id[app_id]
            name = display_name(row)
            if row["stage"] == ApplicationStage.WITHDRAWN:
                result.withdrawn.append(name)
            elif row["stage"] == to_stage:
                result.unchanged.append(name)
            else:
                # the coders service joins this transaction (Piccolo nests transactions as no-ops)
                await coder_applications.move_application(app_id, to_stage, user_id, line, settings=settings)
                result.moved.append(name)
    return result


# ---- private notes ------------------------------------------------------------------------------------


async def add_note(application_id: int, user_id: int, body: str) -> int:
    """A private note by a member of the listing's organisation; returns its id."""
    body = (body or "").replace("\r\n", "\n").strip()
    _, listing = await application_for_member(application_id, user_id)
    if not body:
        raise ApplicantError("Write the note first.", "body")
    if len(body) > NOTE_MAX:
        raise ApplicantError(f"Keep a note to {NOTE_MAX} characters (it has {len(body)}).", "body")
    async with db.transaction():
        rows = await ApplicationNote.insert(ApplicationNote(application=application_id, employer=listing.employer,
                                                            author=user_id, body=body)).returning(ApplicationNote.id)
        await employer_response.employer_acted(application_id, listing.id)  # a note is a first action too
    return rows[0]["id"]


# ---- CSV export --------------------------------------------------------------------------------------------

CSV_HEADER = ["Name", "Email", "Stage", "Applied at (UTC)", "Viewed at (UTC)", "Credentials", "Match",
              "Years of experience", "Location", "Remote eligibility", "Cover note"]


def csv_safe(value: Any) -> str:
    """A cell a spreadsheet shows as text: one starting with = + - @ tab or CR gets a leading quote. Judged after
    NFKC normalisation and leading spaces, because spreadsheets read the fullwidth ＝ ＋ － ＠ as = + - @ too."""
    text = "" if value is None else str(value)
    probe = unicodedata.normalize("NFKC", text).lstrip(" ")
    return "'" + text if probe.startswith(FORMULA_PREFIXES) else text


def _when(value: dt.datetime | None) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M") if value else ""


async def export_csv(listing_id: int, user_id: int) -> tuple[bytes, str]:
    """(UTF-8 CSV with a byte-order mark, file name): one row per applicant, oldest first, formula-safe."""
    listing = await listing_for_member(listing_id, user_id)
    rows = await applicants(listing_id, ApplicantQuery(sort="oldest"))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    questions = listing.screening_questions
    writer.writerow(CSV_HEADER + screening.csv_header(questions))
    for a in rows:
        writer.writerow([csv_safe(v) for v in (
            a["name"], a["email"], a["stage_label"], _when(a["created_at"]), _when(a["viewed_at"]),
            a["credentials_text"], a["match"]["text"] if a["match"] else "", a["years_experience"]
            if not a["anonymised"] else "", a["location"], a["remote_line"], a["cover_note"],
            *screening.csv_cells(a, questions),
        )])
    name = f"applicants-{listing.id}-{(listing.slug or 'listing')[:60]}.csv"
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), name


# ---- the dashboard's figures ---------------------------------------------------------------------------------


@dataclass
class DashboardApplicants:
    new_since_last_visit: int
    since: dt.datetime | None
    listings: list[dict[str, Any]]
    figures: list[dict[str, Any]] = field(default_factory=list)  # every listing of the organisation, newest first


def _as_datetime(value: Any) -> dt.datetime | None:
    """A timestamp from raw SQL (SQLite may answer a RETURNING column as text)."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


async def record_visit(member: EmployerMember, now: dt.datetime | None = None) -> dt.datetime | None:
    """Note a dashboard view; returns where "since your last visit" starts for this visit.

    Views closer together than VISIT_GAP are one visit (a reload keeps the count); a first
    visit counts from when the person joined the organisation. One upsert: in SET, the row's
    columns are its values before this visit.
    """
    now = now or clock.now()
    rows = await db.fetch(
        "INSERT INTO employer_member_visits (member, last_seen_at, since) VALUES ({}, {}, {}) "
        "ON CONFLICT (member) DO UPDATE SET since = CASE WHEN employer_member_visits.last_seen_at > {} "
        "THEN employer_member_visits.since ELSE employer_member_visits.last_seen_at END, "
        "last_seen_at = excluded.last_seen_at RETURNING since",
        member.id, now, member.created_at, now - VISIT_GAP)
    return _as_datetime(rows[0]["since"])


def conversion(applications: int, views: int) -> str:
    """Applications per listing view, as a percentage; "—" before anyone has viewed it."""
    if not views:
        return "—"
    return f"{100 * applications / views:.1f}%"


async def listing_figures(employer_id: int, since: dt.datetime | None) -> list[dict[str, Any]]:
    """Every listing of the organisation, newest first, with its applications (all, and those after `since`),
    views and apply clicks (`listing_daily_stats`, also by source): one statement, whatever the number of listings."""
    fresh = "SUM(CASE WHEN created_at > {} THEN 1 ELSE 0 END)" if since is not None else "0"
    args: list[Any] = [since] if since is not None else []
    rows = await db.fetch(
        "SELECT l.id, l.title, l.status, l.hidden, l.paused, l.confirmed_at, l.published_at, l.expires_at, "
        "l.updated_at, "
        "COALESCE(a.n, 0) AS applications, COALESCE(a.fresh, 0) AS new, "
        "COALESCE(s.views, 0) AS views, COALESCE(s.apply_clicks, 0) AS apply_clicks, "
        + stats.by_source_column("l.id") + " FROM listings l "
        "LEFT JOIN (SELECT listing, COUNT(*) AS n, " + fresh + " AS fresh FROM applications "
        "WHERE listing IN (SELECT id FROM listings WHERE employer = {}) GROUP BY listing) a ON a.listing = l.id "
        "LEFT JOIN (SELECT listing, SUM(views) AS views, SUM(apply_clicks) AS apply_clicks FROM listing_daily_stats "
        "WHERE listing IN (SELECT id FROM listings WHERE employer = {}) GROUP BY listing) s ON s.listing = l.id "
        "WHERE l.employer = {} ORDER BY l.id DESC", *args, employer_id, employer_id, employer_id)
    for r in rows:
        for key in ("applications", "new", "views", "apply_clicks"):
            r[key] = int(r[key] or 0)
        r["hidden"], r["paused"] = bool(r["hidden"]), bool(r["paused"])
        for key in ("expires_at", "updated_at", "confirmed_at", "published_at"):
            r[key] = _as_datetime(r[key])
        r["reconfirm_due"] = liveness.needs_reconfirm(r)
        r["sources"] = stats.parse_by_source(r["sources"])  # views and applies by traffic source
    return rows


async def dashboard_applicants(user_id: int, now: dt.datetime | None = None, *,
                               member: EmployerMember | None = None) -> DashboardApplicants | None:
    """New applicants since the member's last visit and per-listing stats (views, apply clicks,
    applications, conversion); records this visit. None for an employer without an organisation."""
    member = member or await current_membership(user_id)
    if member is None:
        return None
    since = await record_visit(member, now)
    figures = await listing_figures(member.employer, since)
    rows = []
    for r in figures:
        if r["status"] in (ListingState.DRAFT, ListingState.AWAITING_PAYMENT) and not r["applications"]:
            continue  # never shown to coders: nothing to count yet
        rows.append({**r, "conversion": conversion(r["applications"], r["views"]),
                     "applicants_url": f"/employer/listings/{r['id']}/applicants"})
    return DashboardApplicants(new_since_last_visit=sum(r["new"] for r in figures), since=since, listings=rows,
                               figures=figures)
