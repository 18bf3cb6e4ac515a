"""Demo coders for `careers seed-demo`: profiles, resumes, applications at various stages and job alerts.

Called by listings.commands.seed_demo through `careers.coders.service.seed_demo_profiles(user_ids)`.
Deterministic (seeded random) and idempotent: a coder who already has a profile with credentials is skipped.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import secrets
from decimal import Decimal

from careers.coders import profiles, service
from careers.coders import screening as coder_screening
from careers.coders.tables import (
    Application,
    ApplicationEvent,
    ApplicationStage,
    CoderCodeSet,
    CoderCredential,
    CoderProfile,
    CoderSetting,
    CoderSpecialty,
    JobAlert,
)
from careers.core import clock, db
from careers.core.config import Settings, load_settings
from careers.core.storage import new_key, storage_for
from listings import screening as questions_rules
from listings import service as listings_service
from listings.tables import Listing

DEMO_ZIPS = ["43215", "80202", "60614", "98101", "68102", "40202", "85004", "55401", "30303", "78701", "33602",
             "02116", "48226", "15222", "37203", "27601", "53703", "23219", "10001", "94103"]
HEADLINES = ["Certified coder with {y} years in {s}", "{c} coder focused on {s}", "Detail-minded {c} with {s} experience",
             "Entry-level {c} eager to learn {s} coding"]
SUMMARIES = ["I have coded **{s}** charts for {y} years and keep my accuracy above 95%.",
             "Former medical assistant turned coder.\n\n- {c}\n- Comfortable with {t}",
             "I enjoy audits, query writing and clean documentation. Tools: {t}."]
TOOLS = ["Epic, 3M 360 Encompass", "Cerner, Optum EncoderPro", "Athena, TruCode", "Meditech, 3M CodeFinder", "Epic"]
CREDENTIAL_SETS = [["CPC"], ["CPC", "CRC"], ["CPC-A"], ["CCS"], ["CCS", "RHIT"], ["CCS-P"], ["COC", "CPC"], ["CRC"],
                   ["CDIP", "CCS"], ["CPB", "CPC"], ["CCA"], ["CIC", "CCS"], ["CPMA", "CPC"]]
SETTING_CHOICES = ["profee", "outpatient", "inpatient", "risk_adjustment", "audit", "ed", "asc", "billing", "cdi"]
SPECIALTY_CHOICES = ["cardiology", "evaluation_management", "family_practice", "orthopedics", "emergency",
                     "internal_medicine", "radiology", "general_surgery"]
ALERT_QUERIES = ["credential=CPC&work_mode=remote", "q=risk+adjustment", "credential=CCS", "entry_level=true",
                 "qualified=true"]
_S = ApplicationStage
STAGE_PATHS = [[_S.SUBMITTED], [_S.SUBMITTED, _S.REVIEWED], [_S.SUBMITTED, _S.REVIEWED, _S.INTERVIEWING],
               [_S.SUBMITTED, _S.REVIEWED, _S.NOT_SELECTED], [_S.SUBMITTED, _S.REVIEWED, _S.INTERVIEWING, _S.OFFER],
               [_S.SUBMITTED, _S.WITHDRAWN]]
BY_CODER = (_S.SUBMITTED, _S.WITHDRAWN)
SCREENED_NOTE = "Screened out by a must-meet screener question"  # the coder's own steps; the rest are the employer's


def demo_pdf(name: str) -> bytes:
    """A tiny valid PDF naming the coder."""
    text = f"{name} - resume (demo)".replace("(", "[").replace(")", "]")
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer << /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def demo_answers(n: int, years: int, tools: str) -> dict:
    """The n-th demo coder's screener answers, drawn without the random stream (every fourth coder has none, so the
    listing page shows "not answered yet")."""
    if n % 4 == 3:
        return {}
    encoders = [c for c in questions_rules.TEMPLATES["encoders"][2] if c.lower() in tools.lower()]
    return {"inpatient_pcs_years": float(years // 2), "em_profee_years": float(years // 3),
            "charts_per_hour": float(2 + n % 4), "accuracy_95": "yes" if n % 5 else "no",
            "shift": ["Day", "Evening", "Night", "Weekend"][n % 4], **({"encoders": encoders} if encoders else {})}


async def seed_demo_profiles(user_ids: list[int], settings: Settings | None = None, *, seed: int = 6) -> int:
    """Give each demo coder a profile (most with a resume), a few applications and some alerts; returns how many."""
    settings = settings or load_settings()
    storage = storage_for(settings)
    rng = random.Random(seed)
    listings = await Listing.select(Listing.id, Listing.employer, Listing.screening_questions).where(
        listings_service.public_where()).order_by(Listing.id)
    now = clock.now()
    made = 0
    for n, user_id in enumerate(user_ids):
        profile = await service.get_or_create_profile(user_id)
        if await CoderCredential.exists().where(CoderCredential.profile == profile.id):
            continue
        creds = CREDENTIAL_SETS[n % len(CREDENTIAL_SETS)]
        zip5, city, state = profiles.resolve_zip(DEMO_ZIPS[n % len(DEMO_ZIPS)])
        years = 0 if creds in (["CPC-A"], ["CCA"]) else rng.randint(1, 15)
        settings_ = rng.sample(SETTING_CHOICES, k=rng.randint(1, 3))
        tools = rng.choice(TOOLS)
        summary = rng.choice(SUMMARIES).format(s=settings_[0].replace("_", " "), y=years, c=creds[0], t=tools)
        resume_key = None
        if n % 4 != 3:
            resume_key = new_key("resumes", ".pdf")
            await storage.put(resume_key, demo_pdf(profile.name or f"Coder {n}"))
        async with db.transaction():
            await CoderProfile.update({
                CoderProfile.visible: n % 2 == 0,
                CoderProfile.headline: rng.choice(HEADLINES).format(y=years, s=settings_[0].replace("_", " "), c=creds[0]),
                CoderProfile.years_experience: years,
                CoderProfile.tools: tools,
                CoderProfile.zip: zip5, CoderProfile.city: city, CoderProfile.state: state,
                CoderProfile.desired_work_mode: rng.choice(["remote", "remote", "hybrid", ""]),
                CoderProfile.desired_pay_min: Decimal(rng.randrange(20, 36)),
                CoderProfile.desired_pay_unit: "hour",
                CoderProfile.summary_md: summary,
                CoderProfile.summary_html: profiles.render_markdown(summary),
                CoderProfile.resume_key: resume_key,
                CoderProfile.resume_filename: "resume.pdf" if resume_key else "",
                CoderProfile.resume_content_type: profiles.PDF_TYPE if resume_key else "",
                CoderProfile.resume_size: len(demo_pdf(profile.name)) if resume_key else 0,
                CoderProfile.resume_uploaded_at: now if resume_key else None,
                CoderProfile.screening_answers: json.dumps(demo_answers(n, years, tools)),
            }).where(CoderProfile.id == profile.id)
            await CoderCredential.insert(*[CoderCredential(profile=profile.id, credential=c,
                                                           year_earned=now.year - rng.randint(0, max(years, 1)))
                                           for c in creds])
            await CoderSetting.insert(*[CoderSetting(profile=profile.id, value=v) for v in settings_])
            await CoderSpecialty.insert(*[CoderSpecialty(profile=profile.id, value=v)
                                          for v in rng.sample(SPECIALTY_CHOICES, k=2)])
            await CoderCodeSet.insert(*[CoderCodeSet(profile=profile.id, value=v) for v in ("icd10cm", "cpt")])
            if n % 3 == 0:
                from careers.accounts.tables import User

                email = (await User.select(User.email).where(User.id == user_id).first())["email"]
                await JobAlert.insert(JobAlert(user=user_id, email=email, query=ALERT_QUERIES[n % len(ALERT_QUERIES)],
                                               frequency="daily" if n % 2 == 0 else "weekly",
                                               token_nonce=secrets.token_hex(16), confirmed_at=now))
        details = await profiles.profile_details(await service.get_or_create_profile(user_id))
        answers = coder_screening.saved_answers(demo_answers(n, years, tools), state)
        for listing in rng.sample(listings, k=min(len(listings), rng.randint(0, 3))):
            screened = _demo_screening(listing["screening_questions"], answers)
            await _demo_application(listing["id"], user_id, details, resume_key, rng.choice(STAGE_PATHS), now, storage,
                                    screened)
        made += 1
    await _demo_untouched(user_ids, now)
    return made


async def _demo_untouched(user_ids: list[int], now: dt.datetime) -> None:
    """One demo application the employer never answered was sent 11 days ago: its coder sees "No response yet"."""
    app = await Application.select(Application.id).where(
        Application.coder.is_in(user_ids or [0]) & (Application.stage == _S.SUBMITTED)
        & Application.first_employer_action_at.is_null()).order_by(Application.id).first()
    if app is not None:
        await Application.update({Application.created_at: now - dt.timedelta(days=11)}).where(
            (Application.id == app["id"]) & (Application.created_at > now - dt.timedelta(days=10)))
def _demo_screening(questions, answers: dict) -> tuple[list[dict], bool]:
    """(the application's screener record, screened out?) for a demo application."""
    asked = questions_rules.normalise(questions)
    return coder_screening.record(asked, answers), questions_rules.verdict(asked, answers)["screened_out"]


async def _demo_application(listing_id: int, user_id: int, details: dict, resume_key: str | None, stages: list[str],
                            now: dt.datetime, storage, screened: tuple[list[dict], bool] = ([], False)) -> None:
    if screened[1]:  # screened out at apply time, as a real apply would be
        stages = [_S.SUBMITTED, _S.NOT_SELECTED]
    copy_key = None
    if resume_key:
        copy_key = new_key("application-resumes", ".pdf")
        await storage.copy(resume_key, copy_key)
    async with db.transaction():
        rows = await Application.insert(Application(
            listing=listing_id, coder=user_id, listing_coder=f"{listing_id}:{user_id}", stage=stages[-1],
            cover_note="I would be glad to bring my coding experience to your team.",
            profile_snapshot=json.dumps(details, default=str), resume_key=copy_key,
            resume_filename="resume.pdf" if copy_key else "", resume_content_type=profiles.PDF_TYPE if copy_key else "",
            viewed_at=now if len(stages) > 1 and not screened[1] else None, created_at=now, updated_at=now,
            first_employer_action_at=(now if len(stages) > 1 and stages[1] not in BY_CODER and not screened[1]
                                      else None),
            screening=json.dumps(screened[0]), screened_out=screened[1],
        )).on_conflict(target=Application.listing_coder, action="DO NOTHING").returning(Application.id)
        if not rows:
            if copy_key:
                await storage.delete(copy_key)
            return
        previous = ""
        for stage in stages:
            await ApplicationEvent.insert(ApplicationEvent(
                application=rows[0]["id"], actor=user_id if stage in BY_CODER else None,
                actor_kind="coder" if stage in BY_CODER else "system" if screened[1] else "employer",
                from_stage=previous, to_stage=stage,
                note=SCREENED_NOTE if screened[1] and stage == _S.NOT_SELECTED else ""))
            previous = stage
